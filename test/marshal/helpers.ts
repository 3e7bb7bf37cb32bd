// Shared helpers of the marshal tests: a strict structural comparison that also checks the
// *shape of sharing* (two paths to one object before ⇔ two paths to one object after), and round
// trips through every layer and format.
import assert from "node:assert/strict";
import { decode, encode, type MarshalOptions, marshal, unmarshal } from "../../src/marshal/index.js";

const getPrototypeOf = Object.getPrototypeOf;

/**
 * Asserts that `actual` is a faithful copy of `expected`: same primitives (Object.is: NaN, -0),
 * same prototypes, same own enumerable keys in the same order, same holes, same special contents,
 * and the same sharing: an object reached twice in `expected` is one object in `actual`, and two
 * distinct objects in `expected` are two distinct objects in `actual`.
 */
export function assertIsomorphic(expected: unknown, actual: unknown, path = "value"): void {
  new Comparer().compare(expected, actual, path);
}

class Comparer {
  readonly forward = new Map<object, unknown>();
  readonly backward = new Map<unknown, object>();

  compare(a: unknown, b: unknown, path: string): void {
    if (typeof a !== "object" || a === null) {
      if (typeof a === "function") assert.fail(`${path}: functions are not comparable`);
      assert.ok(
        Object.is(a, b),
        `${path}: expected ${String(a)} (${typeof a}), got ${String(b)} (${typeof b})`,
      );
      return;
    }
    assert.ok(typeof b === "object" && b !== null, `${path}: expected an object, got ${typeof b}`);
    if (this.forward.has(a)) {
      assert.ok(this.forward.get(a) === b, `${path}: a shared reference was not kept (not the same object)`);
      return;
    }
    assert.ok(!this.backward.has(b), `${path}: two distinct objects were merged into one`);
    this.forward.set(a, b);
    this.backward.set(b, a);
    assert.equal(getPrototypeOf(b), getPrototypeOf(a), `${path}: different prototypes`);

    if (Array.isArray(a)) {
      const bb = b as unknown[];
      assert.equal(bb.length, a.length, `${path}: different lengths`);
      for (let i = 0; i < a.length; i++) {
        assert.equal(i in bb, i in a, `${path}[${i}]: hole mismatch`);
        if (i in a) this.compare(a[i], bb[i], `${path}[${i}]`);
      }
      return;
    }
    if (a instanceof Date) {
      assert.ok(Object.is((b as Date).getTime(), a.getTime()), `${path}: different dates`);
    } else if (a instanceof RegExp) {
      const r = b as RegExp;
      assert.equal(r.source, a.source, `${path}: source`);
      assert.equal(r.flags, a.flags, `${path}: flags`);
      assert.equal(r.lastIndex, a.lastIndex, `${path}: lastIndex`);
    } else if (a instanceof Map) {
      const bm = b as Map<unknown, unknown>;
      assert.equal(bm.size, a.size, `${path}: Map size`);
      const ea = [...a];
      const eb = [...bm];
      ea.forEach(([k, v], i) => {
        this.compare(k, eb[i][0], `${path}<Map key ${i}>`);
        this.compare(v, eb[i][1], `${path}<Map value ${i}>`);
      });
    } else if (a instanceof Set) {
      const bs = [...(b as Set<unknown>)];
      const as = [...a];
      assert.equal(bs.length, as.length, `${path}: Set size`);
      as.forEach((v, i) => {
        this.compare(v, bs[i], `${path}<Set item ${i}>`);
      });
    } else if (a instanceof ArrayBuffer) {
      assert.deepEqual(new Uint8Array(b as ArrayBuffer), new Uint8Array(a), `${path}: bytes`);
    } else if (ArrayBuffer.isView(a)) {
      const bv = b as ArrayBufferView;
      assert.deepEqual(bytesOf(bv), bytesOf(a), `${path}: bytes`);
      if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength)
        this.compare(a.buffer, bv.buffer, `${path}.buffer`);
      return; // own keys of a typed array are its indices, already compared as bytes
    } else if (a instanceof URL) {
      assert.equal((b as URL).href, a.href, `${path}: href`);
    } else if (a instanceof Error) {
      const e = b as Error;
      assert.ok(e instanceof Error, `${path}: not an Error`);
      assert.equal(
        Object.prototype.toString.call(e),
        Object.prototype.toString.call(a),
        `${path}: not a genuine error`,
      );
      for (const key of ["name", "message", "stack", "cause", "errors"] as const) {
        assert.equal(Object.hasOwn(e, key), Object.hasOwn(a, key), `${path}.${key}: own-ness differs`);
        this.compare((a as any)[key], (e as any)[key], `${path}.${key}`);
      }
    }
    const ka = Object.keys(a);
    assert.deepEqual(Object.keys(b), ka, `${path}: different own enumerable keys`);
    for (const key of ka) this.compare((a as any)[key], (b as any)[key], `${path}.${key}`);
  }
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** The value decoded after each route: tree through JSON text, JSON snapshot, MessagePack snapshot. */
export function allRoundTrips(value: unknown, options: MarshalOptions = {}): [string, unknown][] {
  const tree = encode(value, options);
  return [
    ["tree", decode(JSON.parse(JSON.stringify(tree)), options)],
    ["json", unmarshal(marshal(value, { ...options, format: "json" }), options)],
    ["msgpack", unmarshal(marshal(value, { ...options, format: "msgpack" }), options)],
  ];
}

/** Asserts that `value` survives every route unchanged; returns the copy made through JSON. */
export function assertRoundTrip<T>(value: T, options: MarshalOptions = {}): T {
  const routes = allRoundTrips(value, options);
  for (const [route, copy] of routes) assertIsomorphic(value, copy, `value (${route})`);
  return routes[1][1] as T;
}

export type CodedError = Error & {
  code: string;
  offenders?: { path: (string | number)[]; type: string; reason: string }[];
};

/** Runs `fn` and returns the DTaskError it throws, asserting its code. */
export function catchCode(code: string, fn: () => unknown): CodedError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof Error, `expected a ${code} error, but nothing was thrown`);
  assert.equal((thrown as { code?: string }).code, code, `expected ${code}, got: ${String(thrown)}`);
  return thrown as CodedError;
}

/** Own property names of the shared prototypes, to prove decoding never adds to them. */
export function prototypeKeys(): string {
  return [Object.prototype, Array.prototype, Function.prototype]
    .map((p) => Reflect.ownKeys(p).map(String).sort().join(","))
    .join("|");
}
