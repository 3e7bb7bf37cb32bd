/**
 * The harness checks itself: its codecs keep what they must (and only that), `show` tells apart
 * what must not compare equal, and modules are evaluated with their imports and exports.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DelayTask, DTask } from "../../../src/core/dtask.js";
import { chaosCodec, marshalCodec, snapshotCodec, UnstorableError } from "./codec.js";
import { convertModule, runModule } from "./module.js";
import { show, showThrown } from "./show.js";

function tricky() {
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = { name: "c" };
  cyclic.self = cyclic;
  const bare = Object.create(null) as Record<string, unknown>;
  bare.k = "v";
  class NamedError extends Error {
    override name = "NamedError";
  }
  return {
    numbers: [-0, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5],
    nothing: [undefined, null],
    big: 12345678901234567890n,
    map: new Map<unknown, unknown>([
      [shared, "object key"],
      ["k", shared],
    ]),
    set: new Set([1, shared]),
    dates: [new Date(0), new Date(Number.NaN)],
    pattern: /x+/g,
    errors: [new TypeError("t", { cause: new Error("root") }), new NamedError("named")],
    // biome-ignore lint/suspicious/noSparseArray: holes read back as undefined.
    sparse: [1, , 3],
    shared: [shared, shared],
    cyclic,
    bare,
    wait: DTask.delay(5),
  };
}

for (const [name, make] of [
  ["harness snapshot codec", snapshotCodec],
  ["real marshal", marshalCodec],
] as const) {
  test(`${name}: values round-trip with types, sharing and cycles`, () => {
    const codec = make();
    const value = tricky();
    const back = codec.decode(codec.encode(value)) as ReturnType<typeof tricky>;
    const expected = show({ ...value, sparse: [1, undefined, 3] });
    assert.equal(show({ ...back, sparse: [...back.sparse] }), expected);
    assert.notEqual(back.shared[0], value.shared[0], "copied, not shared with the original");
    assert.equal(back.shared[0], back.shared[1], "sharing inside the document is kept");
    assert.ok(back.wait instanceof DelayTask && back.wait.ms === 5);
    assert.equal(back.errors[1]!.name, "NamedError");
  });
}

test("harness snapshot codec: an unstorable value is an error naming its path", () => {
  assert.throws(
    () => snapshotCodec().encode({ a: [1, { f() {} }] }),
    (e: unknown) => {
      assert.ok(e instanceof UnstorableError);
      assert.match(e.message, /function f at snapshot\.a\[1\]\.f/);
      return true;
    },
  );
  assert.throws(() => snapshotCodec().encode({ p: Promise.resolve() }), UnstorableError);
});

test("chaos codecs: identity keeps every object, copy keeps only unstorable ones", () => {
  const fn = () => 1;
  const data = { list: [1, 2], fn, nan: Number.NaN, minusZero: -0 };
  const identity = chaosCodec("identity");
  const same = identity.decode(identity.encode(data)) as typeof data;
  assert.equal(same, data);
  const copy = chaosCodec("copy");
  const copied = copy.decode(copy.encode(data)) as typeof data;
  assert.notEqual(copied, data);
  assert.notEqual(copied.list, data.list);
  assert.equal(copied.fn, fn);
  assert.ok(Number.isNaN(copied.nan) && Object.is(copied.minusZero, -0));
  const prims = identity.decode(identity.encode([undefined, -0, 5n])) as unknown[];
  assert.equal(show(prims), show([undefined, -0, 5n]));
});

test("show tells apart what must not compare equal", () => {
  const o = { a: 1 };
  assert.notEqual(show(-0), show(0));
  assert.notEqual(show([o, o]), show([{ a: 1 }, { a: 1 }]));
  assert.notEqual(
    show(
      new Map([
        [1, 2],
        [3, 4],
      ]),
    ),
    show(
      new Map([
        [3, 4],
        [1, 2],
      ]),
    ),
  );
  assert.notEqual(show(undefined), show(null));
  // biome-ignore lint/suspicious/noSparseArray: a hole differs from undefined, which is under test
  assert.notEqual(show([undefined]), show([,]));
  assert.notEqual(show(1n), show(1));
  assert.notEqual(show(new Date(Number.NaN)), show(new Date(0)));
  assert.equal(showThrown(new RangeError("r", { cause: 5 })), "RangeError: r (cause: non-error 5)");
});

test("modules: imports become lookups, exports the result", () => {
  const converted = convertModule(`import { a as b } from "x";
import * as ns from "y";
import d from "z";
export const c = b + ns.k + d;
export function f() { return g; }
const g = 7;
export { g as h };
export default 42;`);
  assert.deepEqual(converted.specifiers, ["x", "y", "z"]);
  const exports = runModule(converted, { x: { a: 1 }, y: { k: 10 }, z: { default: 100 } });
  assert.equal(exports.c, 111);
  assert.equal((exports.f as () => number)(), 7);
  assert.equal(exports.h, 7);
  assert.equal(exports.default, 42);
});
