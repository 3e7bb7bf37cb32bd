// Property-based tests (fast-check):
// 1. any value built from every storable kind — with shared references and cycles added at random —
//    round-trips exactly (same sharing) through the tree, JSON, MessagePack and a byte codec;
// 2. random bytes, random JSON trees, random tagged trees and mutated valid snapshots either decode
//    or fail with a DTaskError (DT302, or DT303/DT308 for a class/surrogate that is not configured),
//    never add a key to Object.prototype, and never yield a function.
//
// Values are generated as *recipes* (plain data) and built inside the property, so the objects a
// run mutates (to add links) are never shared with fast-check's shrinking.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { DTaskCanceledError, DTaskError } from "../../src/core/errors.js";
import {
  type ByteCodec,
  createClassRegistry,
  decode,
  encode,
  type MarshalOptions,
  marshal,
  type SpecialHooks,
  type Surrogate,
  type Tree,
  unmarshal,
} from "../../src/marshal/index.js";
import { propertySeed } from "../setup/seed.js";
import { assertIsomorphic, prototypeKeys } from "./helpers.js";

// ── the classes, surrogate and hooks the generated values use ───────────────────────────────────

class Point {
  constructor(
    public x: unknown,
    public y: unknown,
  ) {}
}
class Temperature {
  constructor(readonly c: number) {}
}
class Decimal {
  constructor(readonly digits: string) {}
}
class FakeTask {
  constructor(
    readonly id: string,
    readonly result: unknown,
  ) {}
}

const registry = createClassRegistry();
registry.register(Point);
registry.register(Temperature, {
  serialize: (t) => t.c,
  deserialize: (c) => {
    if (typeof c !== "number") throw new TypeError("a temperature is a number");
    return new Temperature(c);
  },
});
const decimal: Surrogate<Decimal, string> = {
  tag: "decimal",
  test: (v) => v instanceof Decimal,
  encode: (d) => d.digits,
  decode: (digits) => {
    if (typeof digits !== "string") throw new TypeError("digits must be a string");
    return new Decimal(digits);
  },
};
const special: SpecialHooks = {
  encode: (v) => (v instanceof FakeTask ? { tag: "task", data: { id: v.id, result: v.result } } : undefined),
  decode: (tag, data) => {
    if (tag !== "task" || typeof data !== "object" || data === null)
      throw new DTaskError("DT302", "not a task reference");
    const { id, result } = data as { id: unknown; result: unknown };
    if (typeof id !== "string") throw new DTaskError("DT302", "a task reference without an id");
    return new FakeTask(id, result);
  },
};
const gzip: ByteCodec = { name: "gzip", encode: (b) => gzipSync(b), decode: (b) => gunzipSync(b) };
const options: MarshalOptions = { registry, surrogates: [decimal], special };

// ── recipes ─────────────────────────────────────────────────────────────────────────────────────

type Prim = string | number | bigint | boolean | null | undefined;
type Recipe =
  | { t: "prim"; v: Prim }
  | { t: "date"; v: number }
  | { t: "re"; source: string; flags: string; last: number }
  | { t: "typed"; kind: TypedKind; bytes: number[]; partial: boolean }
  | { t: "buf"; bytes: number[] }
  | { t: "url"; href: string }
  | { t: "dec"; digits: string }
  | { t: "task"; id: string; result: Prim }
  | { t: "temp"; c: number }
  | { t: "arr"; items: (Recipe | null)[] }
  | { t: "obj"; entries: [string, Recipe][]; nullProto: boolean }
  | { t: "map"; entries: [Recipe, Recipe][] }
  | { t: "set"; items: Recipe[] }
  | {
      t: "err";
      cls: ErrorKind;
      message: string | null;
      cause: Recipe | null;
      stack: string | null;
      props: [string, Recipe][];
    }
  | { t: "point"; x: Recipe; y: Recipe };

const TYPED = {
  Uint8Array,
  Int16Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  Uint8ClampedArray,
  DataView,
  Buffer,
} as const;
type TypedKind = keyof typeof TYPED;
const ERRORS = [
  "Error",
  "TypeError",
  "RangeError",
  "SyntaxError",
  "ReferenceError",
  "EvalError",
  "URIError",
  "AggregateError",
  "DTaskError",
  "DTaskCanceledError",
] as const;
type ErrorKind = (typeof ERRORS)[number];

const key = fc.oneof(
  fc.string({ maxLength: 5 }),
  fc.constantFrom(
    "$",
    "#",
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "0",
    "7",
    "message",
    "v",
    "i",
  ),
);
const prim: fc.Arbitrary<Prim> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.double(),
  fc.integer(),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const leaf: fc.Arbitrary<Recipe> = fc.oneof(
  { weight: 6, arbitrary: prim.map((v) => ({ t: "prim", v }) as Recipe) },
  fc
    .oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.constant(Number.NaN))
    .map((v) => ({ t: "date", v }) as Recipe),
  fc
    .record({
      source: fc.constantFrom("a+", "^x$", "(?<n>\\d)", "[\\u0000-\\uffff]", "/", "\\n"),
      flags: fc.constantFrom("", "g", "gi", "y", "su", "dgm"),
      last: fc.nat(5),
    })
    .map((r) => ({ t: "re", ...r }) as Recipe),
  fc
    .record({
      kind: fc.constantFrom(...(Object.keys(TYPED) as TypedKind[])),
      bytes: fc.array(fc.nat(255), { maxLength: 24 }),
      partial: fc.boolean(),
    })
    .map((r) => ({ t: "typed", ...r }) as Recipe),
  fc.array(fc.nat(255), { maxLength: 8 }).map((bytes) => ({ t: "buf", bytes }) as Recipe),
  fc.webUrl().map((href) => ({ t: "url", href }) as Recipe),
  fc.string({ maxLength: 6 }).map((digits) => ({ t: "dec", digits }) as Recipe),
  fc.record({ id: fc.string({ maxLength: 4 }), result: prim }).map((r) => ({ t: "task", ...r }) as Recipe),
  fc.double().map((c) => ({ t: "temp", c }) as Recipe),
);

const { recipe } = fc.letrec<{ recipe: Recipe }>((tie) => ({
  recipe: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc
      .array(fc.option(tie("recipe"), { nil: null, freq: 6 }), { maxLength: 5 })
      .map((items) => ({ t: "arr", items })),
    fc
      .record({ entries: fc.array(fc.tuple(key, tie("recipe")), { maxLength: 5 }), nullProto: fc.boolean() })
      .map((r) => ({ t: "obj", ...r })),
    fc
      .array(fc.tuple(tie("recipe"), tie("recipe")), { maxLength: 4 })
      .map((entries) => ({ t: "map", entries })),
    fc.array(tie("recipe"), { maxLength: 4 }).map((items) => ({ t: "set", items })),
    fc
      .record({
        cls: fc.constantFrom(...ERRORS),
        message: fc.option(fc.string({ maxLength: 10 })),
        cause: fc.option(tie("recipe")),
        stack: fc.option(fc.string({ maxLength: 10 })),
        props: fc.array(fc.tuple(key, tie("recipe")), { maxLength: 2 }),
      })
      .map((r) => ({ t: "err", ...r })),
    fc.record({ x: tie("recipe"), y: tie("recipe") }).map((r) => ({ t: "point", ...r })),
  ) as fc.Arbitrary<Recipe>,
}));

/** Extra edges: from the `from`-th container to the `to`-th object, making shared references and cycles. */
type Link = [from: number, to: number, key: string, flag: boolean];
const links = fc.array(fc.tuple(fc.nat(), fc.nat(), key, fc.boolean()), { maxLength: 8 });

function define(target: object, k: string, value: unknown, enumerable = true): void {
  Object.defineProperty(target, k, { value, enumerable, writable: true, configurable: true });
}

function build(root: Recipe, edges: Link[]): unknown {
  const containers: object[] = [];
  const objects: object[] = [];
  const make = (r: Recipe): unknown => {
    const value = makeOne(r);
    if ((typeof value === "object" && value !== null) || typeof value === "function") objects.push(value);
    return value;
  };
  const makeOne = (r: Recipe): unknown => {
    switch (r.t) {
      case "prim":
        return r.v;
      case "date":
        return new Date(r.v);
      case "re": {
        const re = new RegExp(r.source, r.flags);
        re.lastIndex = r.last;
        return re;
      }
      case "buf":
        return new Uint8Array(r.bytes).buffer;
      case "typed": {
        const ctor = TYPED[r.kind];
        const size = "BYTES_PER_ELEMENT" in ctor ? ctor.BYTES_PER_ELEMENT : 1;
        const count = Math.floor(r.bytes.length / size);
        const offset = r.partial ? size : 0;
        const buffer = new ArrayBuffer(offset + count * size + (r.partial ? size : 0));
        new Uint8Array(buffer, offset).set(r.bytes.slice(0, count * size));
        if (ctor === DataView) return new DataView(buffer, offset, count * size);
        if (ctor === Buffer) return Buffer.from(buffer, offset, count);
        return new (ctor as Float64ArrayConstructor)(buffer, offset, count);
      }
      case "url":
        return new URL(r.href);
      case "dec":
        return new Decimal(r.digits);
      case "task":
        return new FakeTask(r.id, r.result);
      case "temp":
        return new Temperature(r.c);
      case "arr": {
        const array: unknown[] = [];
        containers.push(array);
        r.items.forEach((item, i) => {
          if (item !== null) array[i] = make(item);
        });
        array.length = r.items.length;
        return array;
      }
      case "obj": {
        const object = r.nullProto ? Object.create(null) : {};
        containers.push(object);
        for (const [k, v] of r.entries) define(object, k, make(v));
        return object;
      }
      case "map": {
        const map = new Map();
        containers.push(map);
        for (const [k, v] of r.entries) map.set(make(k), make(v));
        return map;
      }
      case "set": {
        const set = new Set();
        containers.push(set);
        for (const item of r.items) set.add(make(item));
        return set;
      }
      case "err": {
        const message = r.message ?? undefined;
        const cause = r.cause === null ? undefined : { cause: make(r.cause) };
        let error: Error;
        if (r.cls === "AggregateError") error = new AggregateError([], message, cause);
        else if (r.cls === "DTaskError") error = new DTaskError("DT302", message ?? "", cause);
        else if (r.cls === "DTaskCanceledError") error = new DTaskCanceledError(message, cause);
        else error = new globalThis[r.cls](message, cause);
        containers.push(error);
        if (r.stack === null) delete error.stack;
        else error.stack = r.stack;
        for (const [k, v] of r.props) define(error, k, make(v));
        return error;
      }
      case "point": {
        const point = new Point(undefined, undefined);
        containers.push(point);
        point.x = make(r.x);
        point.y = make(r.y);
        return point;
      }
    }
  };
  const value = make(root);
  if (containers.length === 0 || objects.length === 0) return value;
  for (const [from, to, k, flag] of edges) {
    const container = containers[from % containers.length];
    const target = objects[to % objects.length];
    if (Array.isArray(container)) container.push(target);
    else if (container instanceof Map) flag ? container.set(k, target) : container.set(target, k);
    else if (container instanceof Set) container.add(target);
    else if (container instanceof Error && flag) define(container, "cause", target, false);
    else define(container, k, target);
  }
  return value;
}

// ── 1. round trips ──────────────────────────────────────────────────────────────────────────────

/** `MARSHAL_PROPERTY_SCALE=10 node scripts/test.mjs marshal/property` runs every property 10× longer. */
const SCALE = Number(process.env.MARSHAL_PROPERTY_SCALE ?? 1);
const runs = (n: number): number => Math.max(1, Math.ceil(n * SCALE));
// The suite's fixed seed unless DTASKS_FC_SEED asks otherwise (test/setup/seed.ts); fast-check
// prints the seed of a failure.
fc.configureGlobal({ seed: propertySeed() });

describe("property: every storable value round-trips with its sharing", () => {
  test("through the tree (as JSON text), JSON, MessagePack and MessagePack+gzip", () => {
    fc.assert(
      fc.property(recipe, links, (r, edges) => {
        const value = build(r, edges);
        const tree = encode(value, options);
        assertIsomorphic(value, decode(JSON.parse(JSON.stringify(tree)), options), "tree");
        assertIsomorphic(value, unmarshal(marshal(value, options), options), "json");
        const msgpack = { ...options, format: "msgpack" as const, codecs: [gzip] };
        assertIsomorphic(value, unmarshal(marshal(value, msgpack), msgpack), "msgpack+gzip");
      }),
      { numRuns: runs(300) },
    );
  });

  test("encoding is deterministic, and stable after one round trip", () => {
    fc.assert(
      fc.property(recipe, links, (r, edges) => {
        const value = build(r, edges);
        const first = marshal(value, options);
        assert.equal(marshal(value, options), first);
        // A view over part of a buffer comes back over a buffer of its own, so the second snapshot
        // may differ from the first; from then on, snapshots are fixed points.
        const second = marshal(unmarshal(first, options), options);
        assert.equal(marshal(unmarshal(second, options), options), second);
      }),
      { numRuns: runs(100) },
    );
  });
});

describe("property: encoder and decoder agree on maxDepth", () => {
  test("whatever encode accepts at a depth limit, decode accepts at the same limit", () => {
    fc.assert(
      fc.property(recipe, links, fc.integer({ min: 1, max: 6 }), (r, edges, maxDepth) => {
        const value = build(r, edges);
        const limited = { ...options, maxDepth };
        let snapshot: string | Uint8Array;
        try {
          snapshot = marshal(value, limited);
        } catch (error) {
          assert.equal((error as DTaskError).code, "DT301");
          return;
        }
        assertIsomorphic(value, unmarshal(snapshot, limited));
      }),
      { numRuns: runs(300) },
    );
  });
});

// ── 2. fuzzing the decoder ──────────────────────────────────────────────────────────────────────

const before = prototypeKeys();
const ALLOWED = new Set(["DT302", "DT303", "DT308"]);

/** Decodes `input`; passes when it decodes or fails with an allowed DTaskError. */
function survives(read: () => unknown): void {
  let value: unknown;
  try {
    value = read();
  } catch (error) {
    if (!(error instanceof DTaskError) || !ALLOWED.has(error.code)) {
      throw new Error(`unexpected failure: ${String(error)}`, { cause: error });
    }
  }
  assertNoFunctions(value);
  assert.equal(prototypeKeys(), before, "a shared prototype gained a key");
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
}

function assertNoFunctions(value: unknown, seen = new Set<unknown>()): void {
  if (typeof value === "function") assert.fail("decoding produced a function");
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) {
      assertNoFunctions(k, seen);
      assertNoFunctions(v, seen);
    }
  } else if (value instanceof Set) for (const v of value) assertNoFunctions(v, seen);
  else if (!ArrayBuffer.isView(value))
    for (const k of Reflect.ownKeys(value)) assertNoFunctions(Reflect.get(value, k), seen);
}

const TAGS = [
  "undefined",
  "number",
  "bigint",
  "ref",
  "id",
  "hole",
  "obj",
  "nullproto",
  "Date",
  "RegExp",
  "Map",
  "Set",
  "ArrayBuffer",
  "DataView",
  "Buffer",
  "URL",
  "Error",
  "class",
  "surrogate",
  "special",
  "Uint8Array",
  "Float64Array",
  "BigInt64Array",
  "Point",
  "Temperature",
  "decimal",
  "task",
  "__proto__",
  "constructor",
];
const FIELDS = [
  "v",
  "i",
  "n",
  "t",
  "id",
  "data",
  "cls",
  "cid",
  "buffer",
  "source",
  "flags",
  "lastIndex",
  "#",
  "props",
  "message",
  "cause",
  "errors",
  "stack",
  "name",
  "__proto__",
  "constructor",
];

/** JSON trees that look like ours: objects often carry a known tag and known field names. */
const { tagged } = fc.letrec<{ tagged: Tree }>((tie) => ({
  tagged: fc.oneof(
    { depthSize: "small" },
    fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.integer({ min: -3, max: 12 }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
    ),
    fc.constantFrom(
      "AQID",
      "NaN",
      "-0",
      "Infinity",
      "12",
      "http://x.test/",
      "Point",
      "decimal",
      "task",
      "a+",
    ),
    fc.array(tie("tagged"), { maxLength: 4 }),
    fc
      .tuple(
        fc.option(fc.oneof(fc.constantFrom(...TAGS), fc.nat(5)), { freq: 4 }),
        fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 3 })), tie("tagged")), {
          maxLength: 4,
        }),
      )
      .map(([tag, entries]) => {
        const node: Record<string, Tree> = {};
        for (const [k, v] of entries) define(node, k, v);
        if (tag !== null) define(node, "$", tag);
        return node;
      }),
  ) as fc.Arbitrary<Tree>,
}));

const HEADERS = [
  "",
  "DT1 json\n",
  "DT1 msgpack\n",
  "DT1 msgpack gzip\n",
  "DT1 json gzip\n",
  "DT9 json\n",
  "DT1 msgpack xz\n",
];

describe("property: hostile input decodes or fails with a DTaskError, and pollutes nothing", () => {
  const read = { ...options, codecs: [gzip] };

  test("random bytes, with or without a plausible header", () => {
    fc.assert(
      fc.property(fc.constantFrom(...HEADERS), fc.uint8Array({ maxLength: 64 }), (header, body) => {
        const bytes = new Uint8Array([...Buffer.from(header), ...body]);
        survives(() => unmarshal(bytes, read));
        survives(() => unmarshal(header + Buffer.from(body).toString("latin1"), read));
      }),
      { numRuns: runs(1000) },
    );
  });

  test("random JSON trees", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (tree) => {
        survives(() => decode(tree as Tree, read));
        survives(() => unmarshal(`DT1 json\n${JSON.stringify(tree)}`, read));
      }),
      { numRuns: runs(500) },
    );
  });

  test("random trees made of our tags and field names", () => {
    fc.assert(
      fc.property(tagged, (tree) => {
        survives(() => decode(tree, read));
        survives(() => unmarshal(marshal(tree, { format: "msgpack" }).slice(0), read));
      }),
      { numRuns: runs(1500) },
    );
  });

  test("valid snapshots with a node of their tree replaced", () => {
    fc.assert(
      fc.property(recipe, links, fc.nat(), tagged, (r, edges, where, replacement) => {
        const tree = encode(build(r, edges), options);
        survives(() => decode(replaceNode(tree, where, replacement), read));
      }),
      { numRuns: runs(600) },
    );
  });

  test("valid JSON and MessagePack snapshots with bytes flipped, cut, inserted or duplicated", () => {
    const mutation = fc.tuple(
      fc.constantFrom("flip", "cut", "insert", "dup", "truncate"),
      fc.nat(),
      fc.nat(16),
      fc.nat(255),
    );
    fc.assert(
      fc.property(
        recipe,
        links,
        fc.boolean(),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (r, edges, binary, mutations) => {
          const snapshot = marshal(build(r, edges), { ...options, format: binary ? "msgpack" : "json" });
          let bytes: Uint8Array = typeof snapshot === "string" ? Buffer.from(snapshot) : snapshot;
          for (const [kind, at, length, byte] of mutations) bytes = mutate(bytes, kind, at, length, byte);
          survives(() => unmarshal(bytes, read));
          if (!binary) survives(() => unmarshal(Buffer.from(bytes).toString(), read));
        },
      ),
      { numRuns: runs(1000) },
    );
  });
});

function mutate(bytes: Uint8Array, kind: string, at: number, length: number, byte: number): Uint8Array {
  const copy = Buffer.from(bytes);
  // Mostly hit the body, sometimes the header.
  const i = bytes.length === 0 ? 0 : at % bytes.length;
  switch (kind) {
    case "flip":
      if (copy.length > 0) copy[i] ^= 1 << (byte % 8);
      return copy;
    case "cut":
      return Buffer.concat([copy.subarray(0, i), copy.subarray(i + length)]);
    case "insert":
      return Buffer.concat([copy.subarray(0, i), Buffer.alloc(length, byte), copy.subarray(i)]);
    case "dup":
      return Buffer.concat([copy.subarray(0, i + length), copy.subarray(i)]);
    default:
      return copy.subarray(0, i);
  }
}

/** Replaces the `where`-th node (pre-order, modulo the count) of a copy of `tree`. */
function replaceNode(tree: Tree, where: number, replacement: Tree): Tree {
  const copy = JSON.parse(JSON.stringify(tree)) as Tree;
  const slots: [Record<string, Tree> | Tree[], string | number][] = [];
  const walk = (node: Tree): void => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        slots.push([node, i]);
        walk(child);
      });
    } else if (typeof node === "object" && node !== null) {
      for (const k of Object.keys(node)) {
        slots.push([node, k]);
        walk(node[k]);
      }
    }
  };
  walk(copy);
  if (slots.length === 0) return replacement;
  const [parent, slot] = slots[where % slots.length];
  (parent as Record<string | number, Tree>)[slot] = replacement;
  return copy;
}
