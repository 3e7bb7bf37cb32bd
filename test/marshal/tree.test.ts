// The stored tree format, node by node: these trees are what snapshots hold, so they are pinned
// exactly (docs/marshal.md documents the same shapes).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DTaskError } from "../../src/core/errors.js";
import { decode, encode } from "../../src/marshal/index.js";

describe("plain JSON stays as itself", () => {
  test("the tree of JSON data is equal to the data", () => {
    const data = { a: 1, b: "x", c: [true, null, { d: [1.5, -2] }], e: {} };
    assert.deepEqual(encode(data), data);
    assert.equal(encode("s"), "s");
    assert.equal(encode(3), 3);
    assert.equal(encode(null), null);
  });

  test("an object with a '$' key is escaped, and its '$' is data", () => {
    assert.deepEqual(encode({ $: "Date", v: 1 }), { $: "obj", v: { $: "Date", v: 1 } });
    assert.deepEqual(decode({ $: "obj", v: { $: "Date", v: 1 } }), { $: "Date", v: 1 });
    const nested = { list: [{ $: 5 }] };
    assert.deepEqual(decode(encode(nested)), nested);
  });

  test("an own __proto__ key is stored as a key list (MessagePack readers refuse it as a map key)", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const tree = encode(value);
    assert.deepEqual(tree, { $: "obj", v: ["__proto__", { polluted: true }, "a", 1] });
    const copy = decode(tree) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(copy, "__proto__")?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe("tagged nodes", () => {
  test("each special value has one documented shape", () => {
    const re = /a/g;
    re.lastIndex = 4;
    const cases: [unknown, unknown][] = [
      [undefined, { $: "undefined" }],
      [Number.NaN, { $: "number", v: "NaN" }],
      [Number.POSITIVE_INFINITY, { $: "number", v: "Infinity" }],
      [Number.NEGATIVE_INFINITY, { $: "number", v: "-Infinity" }],
      [-0, { $: "number", v: "-0" }],
      [-12n, { $: "bigint", v: "-12" }],
      [new Date(5), { $: "Date", v: 5 }],
      [new Date(Number.NaN), { $: "Date", v: null }],
      [/x/i, { $: "RegExp", source: "x", flags: "i" }],
      [re, { $: "RegExp", source: "a", flags: "g", lastIndex: 4 }],
      [new Map([["k", 1]]), { $: "Map", v: ["k", 1] }],
      [new Set([1, 2]), { $: "Set", v: [1, 2] }],
      [new Uint8Array([1, 2]).buffer, { $: "ArrayBuffer", v: "AQI=" }],
      [new Uint16Array([1]), { $: "Uint16Array", buffer: { $: "ArrayBuffer", v: "AQA=" } }],
      [new URL("http://x.test/"), { $: "URL", v: "http://x.test/" }],
      [Object.assign(Object.create(null), { a: 1 }), { $: "nullproto", v: { a: 1 } }],
      [
        // biome-ignore lint/suspicious/noSparseArray: holes are the point
        [1, , , 4, ,],
        [1, { $: "hole", n: 2 }, 4, { $: "hole", n: 1 }],
      ],
    ];
    cases.forEach(([value, tree], i) => {
      assert.deepEqual(encode(value), tree, `case ${i}`);
    });
  });

  test("errors store class, message, stack, cause and own fields", () => {
    const error = new TypeError("bad input", { cause: "why" });
    error.stack = "TypeError: bad input\n    at here";
    Object.assign(error, { code: "E_BAD" });
    assert.deepEqual(encode(error), {
      $: "Error",
      cls: "TypeError",
      message: "bad input",
      stack: "TypeError: bad input\n    at here",
      cause: "why",
      props: { code: "E_BAD" },
    });
  });

  test("DTaskError keeps its class and code", () => {
    const error = new DTaskError("DT205", "an invalid duration");
    error.stack = "s";
    assert.deepEqual(encode(error), {
      $: "Error",
      cls: "DTaskError",
      message: "an invalid duration",
      stack: "s",
      props: { code: "DT205" },
    });
  });
});

describe("shared references", () => {
  test("objects seen once carry no id", () => {
    const tree = JSON.stringify(encode({ a: { x: 1 }, b: [{ y: 2 }], c: new Map([[1, {}]]) }));
    assert.ok(!tree.includes('"#"') && !tree.includes('"ref"') && !tree.includes('"id"'), tree);
  });

  test("a shared plain object gets a numeric '$' where it first appears", () => {
    const shared = { n: 1 };
    assert.deepEqual(encode({ a: shared, b: shared, c: shared }), {
      a: { n: 1, $: 0 },
      b: { $: "ref", i: 0 },
      c: { $: "ref", i: 0 },
    });
  });

  test("a shared tagged node gets a '#', a shared array an 'id' first element", () => {
    const date = new Date(1);
    const list = [1];
    assert.deepEqual(encode([date, list, date, list]), [
      { $: "Date", v: 1, "#": 0 },
      [{ $: "id", i: 1 }, 1],
      { $: "ref", i: 0 },
      { $: "ref", i: 1 },
    ]);
  });

  test("a cycle refers back to an enclosing node", () => {
    const node: Record<string, unknown> = { name: "root" };
    node.self = node;
    assert.deepEqual(encode(node), { name: "root", self: { $: "ref", i: 0 }, $: 0 });
  });

  test("an escaped object that is shared gets a '#'", () => {
    const odd = { $: "x" };
    assert.deepEqual(encode([odd, odd]), [
      { $: "obj", v: { $: "x" }, "#": 0 },
      { $: "ref", i: 0 },
    ]);
  });
});

describe("the tree is JSON", () => {
  test("JSON.stringify then JSON.parse of any tree gives an equal tree", () => {
    const shared = { s: 1 };
    const value = [
      undefined,
      -0,
      Number.NaN,
      1n,
      new Date(0),
      new Map([[shared, shared]]),
      new Set([/r/]),
      shared,
    ];
    const tree = encode(value);
    assert.deepEqual(JSON.parse(JSON.stringify(tree)), tree);
  });
});
