// Corrupt and malicious trees: decoding fails with DT302 naming the path, never runs code, never
// calls a setter, never touches Object.prototype, and cannot exhaust the stack.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encode as msgpackEncode } from "@msgpack/msgpack";
import { DTaskError } from "../../src/core/errors.js";
import { createClassRegistry, decode, encode, type Tree, unmarshal } from "../../src/marshal/index.js";
import { catchCode, prototypeKeys } from "./helpers.js";

function decodeJson(text: string, options = {}): unknown {
  return unmarshal(`DT1 json\n${text}`, options);
}

describe("prototype pollution", () => {
  const before = prototypeKeys();

  const payloads = [
    '{"__proto__": {"polluted": "yes"}}',
    '{"a": {"__proto__": {"polluted": "yes"}}}',
    '[{"__proto__": {"polluted": "yes"}}]',
    '{"$": "obj", "v": {"__proto__": {"polluted": "yes"}}}',
    '{"$": "obj", "v": ["__proto__", {"polluted": "yes"}]}',
    '{"$": "nullproto", "v": {"__proto__": {"polluted": "yes"}}}',
    '{"$": 0, "__proto__": {"polluted": "yes"}}',
    '{"constructor": {"prototype": {"polluted": "yes"}}}',
    '{"$": "Error", "cls": "Error", "props": {"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}}',
    '{"$": "Map", "v": ["__proto__", {"polluted": "yes"}]}',
  ];
  for (const payload of payloads) {
    test(`stays data: ${payload}`, () => {
      const value = decodeJson(payload);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(prototypeKeys(), before);
      const proto = Object.getPrototypeOf(value);
      assert.ok([Object.prototype, Array.prototype, Map.prototype, Error.prototype, null].includes(proto));
    });
  }

  test("an own __proto__ key becomes an own data property; the prototype is unchanged", () => {
    const value = decodeJson('{"__proto__": {"polluted": "yes"}, "x": 1}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ["__proto__", "x"]);
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__")?.value, { polluted: "yes" });
    assert.equal(value.polluted, undefined);
  });

  test("class fields named __proto__, constructor or prototype are plain data", () => {
    const registry = createClassRegistry();
    class Target {}
    registry.register(Target);
    const value = decodeJson(
      '{"$": "class", "id": "Target", "v": ["__proto__", {"polluted": 1}, "constructor", 2, "prototype", 3]}',
      { registry },
    ) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Target.prototype);
    assert.equal(value.constructor, 2);
    assert.equal(Target.prototype.constructor, Target);
    assert.equal(prototypeKeys(), before);
  });

  test("names of built-in prototype members are not class, error or tag names", () => {
    for (const id of ["constructor", "__proto__", "toString", "hasOwnProperty", "Object", "Function"]) {
      catchCode("DT303", () => decodeJson(`{"$": "class", "id": "${id}", "v": {}}`));
      catchCode("DT302", () => decodeJson(`{"$": "Error", "cls": "${id}"}`));
      catchCode("DT302", () => decodeJson(`{"$": "${id}", "v": ""}`));
    }
  });

  test("a MessagePack map with a __proto__ key is refused", () => {
    // fixmap(1) { fixstr(9) "__proto__": fixmap(1) { "p": 1 } }
    const body = new Uint8Array([0x81, 0xa9, ...Buffer.from("__proto__"), 0x81, 0xa1, 0x70, 0x01]);
    const bytes = new Uint8Array([...Buffer.from("DT1 msgpack\n"), ...body]);
    catchCode("DT302", () => unmarshal(bytes));
    assert.equal(prototypeKeys(), before);
  });
});

describe("no user code runs on the way in", () => {
  test("setters of a registered class's prototype are not called for stored fields", () => {
    const registry = createClassRegistry();
    const calls: string[] = [];
    class Guarded {
      set secret(_v: unknown) {
        calls.push("secret");
      }
      set __proto__(_v: unknown) {
        calls.push("__proto__");
      }
    }
    registry.register(Guarded);
    const value = decodeJson('{"$": "class", "id": "Guarded", "v": {"secret": 1}}', { registry }) as {
      secret: number;
    };
    assert.deepEqual(calls, []);
    assert.equal(Object.getOwnPropertyDescriptor(value, "secret")?.value, 1);
  });

  test("error fields named like Error's accessors are defined, not assigned", () => {
    const value = decodeJson(
      '{"$": "Error", "cls": "Error", "props": {"stack": "x", "message": "m"}}',
    ) as Error;
    assert.equal(Object.getOwnPropertyDescriptor(value, "stack")?.value, "x");
    assert.equal(Object.getOwnPropertyDescriptor(value, "message")?.enumerable, true);
  });

  test("strings that look like code stay strings", () => {
    const value = decodeJson(
      '{"toString": "function () {}", "then": "() => 1", "valueOf": {"$": "obj", "v": {}}}',
    ) as Record<string, unknown>;
    assert.equal(typeof value.toString, "string");
    assert.equal(typeof value.then, "string");
    assert.equal(typeof value.valueOf, "object");
  });
});

describe("corrupt trees fail with DT302 at the right path", () => {
  const cases: [string, string, RegExp][] = [
    ["unknown tag", '{"l": {"x": {"$": "Nope"}}}', /at l\.x: an unknown tag 'Nope'/],
    [
      "tag that is not a string",
      '{"a": [{"$": true}]}',
      /at a\[0\]: a '\$' key that is neither a tag nor an id/,
    ],
    [
      "reference before definition",
      '[{"$": "ref", "i": 0}, {"$": 0}]',
      /at \[0\]: a reference to the id 0, which is not defined before it/,
    ],
    ["reference without id", '{"r": {"$": "ref"}}', /at r: a reference without a numeric id/],
    ["id defined twice", '[{"$": 1}, {"$": 1}]', /at \[1\]: the id 1 is defined twice/],
    ["negative id", '{"$": -1}', /an invalid id/],
    ["fractional id", '{"$": "Date", "v": 0, "#": 1.5}', /an invalid id/],
    ["hole outside an array", '{"h": {"$": "hole", "n": 1}}', /at h: a 'hole' marker outside of an array/],
    ["id marker not first", '[1, {"$": "id", "i": 0}]', /at \[1\]: a 'id' marker outside of an array/],
    ["negative hole run", '[{"$": "hole", "n": -1}]', /a run of array holes with an invalid length/],
    ["huge hole run", '[{"$": "hole", "n": 1e10}]', /a run of array holes with an invalid length/],
    ["bad number spelling", '{"$": "number", "v": "1e999"}', /a number node that is not NaN/],
    ["bad bigint", '{"$": "bigint", "v": "12a"}', /a bigint node without a decimal integer/],
    ["bigint as number", '{"$": "bigint", "v": 12}', /a bigint node without a decimal integer/],
    [
      "bad date",
      '{"d": {"$": "Date", "v": "yesterday"}}',
      /at d: a Date node whose time is neither a number nor null/,
    ],
    ["bad regexp", '{"$": "RegExp", "source": "(", "flags": ""}', /not a valid regular expression/],
    ["bad regexp flags", '{"$": "RegExp", "source": "a", "flags": "zz"}', /not a valid regular expression/],
    [
      "regexp lastIndex",
      '{"$": "RegExp", "source": "a", "flags": "", "lastIndex": "1"}',
      /lastIndex that is not a number/,
    ],
    ["odd map", '{"$": "Map", "v": [1]}', /a Map node without an even-length entry list/],
    ["map not a list", '{"$": "Map", "v": {}}', /a Map node without an even-length entry list/],
    ["set not a list", '{"$": "Set"}', /a Set node without an item list/],
    ["bad base64", '{"$": "ArrayBuffer", "v": "###"}', /without valid base64 bytes/],
    ["non-canonical base64", '{"$": "Uint8Array", "v": "AQI"}', /without valid base64 bytes/],
    ["misaligned typed array", '{"$": "Float64Array", "v": "AQID"}', /byte length is not a multiple of 8/],
    [
      "view over a non-buffer",
      '{"$": "Uint8Array", "buffer": {"a": 1}}',
      /whose buffer is not an ArrayBuffer/,
    ],
    [
      "view over itself",
      '{"$": "Uint8Array", "#": 0, "buffer": {"$": "ref", "i": 0}}',
      /still being rebuilt/,
    ],
    ["bad URL", '{"$": "URL", "v": "not a url"}', /a URL node with an invalid href/],
    ["error class", '{"$": "Error", "cls": 5}', /an error node with an unknown 'cls'/],
    ["error cid type", '{"$": "Error", "cls": "Error", "cid": 1}', /a 'cid' that is not a string/],
    ["error props", '{"$": "Error", "cls": "Error", "props": 3}', /missing or invalid fields/],
    ["odd field list", '{"$": "obj", "v": ["a"]}', /a field list of odd length/],
    ["field list key", '{"$": "obj", "v": [1, 2]}', /a field list with a key that is not a string/],
    ["escaped without fields", '{"$": "obj"}', /missing or invalid fields/],
    ["class without id", '{"$": "class", "v": {}}', /a class node without an id/],
    ["surrogate without tag", '{"$": "surrogate", "data": 1}', /a surrogate node without a tag/],
    ["special without tag", '{"$": "special", "data": 1}', /a special node without a tag/],
  ];
  for (const [name, json, message] of cases) {
    test(name, () => {
      const error = catchCode("DT302", () => decodeJson(json));
      assert.match(error.message, message);
      assert.ok(error instanceof DTaskError);
    });
  }

  test("values that are not JSON in a tree given to decode()", () => {
    const cases: [unknown, RegExp][] = [
      [{ a: () => 0 }, /at a: a function where only JSON values may appear/],
      [{ a: [Symbol("s")] }, /at a\[0\]: a symbol where only JSON values may appear/],
      [{ a: undefined }, /an undefined where only JSON values may appear/],
      [{ a: 1n }, /a bigint where only JSON values may appear/],
      [{ a: new Uint8Array(1) }, /at a: an object that is not plain JSON data/],
      [{ a: new Date() }, /at a: an object that is not plain JSON data/],
    ];
    for (const [tree, message] of cases)
      assert.match(catchCode("DT302", () => decode(tree as Tree)).message, message);
  });

  test("MessagePack extension types and timestamps are not JSON", () => {
    const bytes = new Uint8Array([...Buffer.from("DT1 msgpack\n"), ...msgpackEncode({ when: new Date(0) })]);
    assert.match(
      catchCode("DT302", () => unmarshal(bytes)).message,
      /at when: an object that is not plain JSON data/,
    );
  });

  test("a class whose stored shape does not fit its registration", () => {
    const registry = createClassRegistry();
    class NotAnError {}
    registry.register(NotAnError);
    const error = catchCode("DT302", () =>
      decodeJson('{"$": "Error", "cls": "Error", "cid": "NotAnError"}', { registry }),
    );
    assert.match(error.message, /registered as a non-error class/);
  });
});

describe("bounded", () => {
  test("nesting deeper than maxDepth is refused without recursion to the end", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const error = catchCode("DT302", () => decodeJson(deep));
    assert.match(error.message, /nesting deeper than maxDepth \(1000\)/);
    assert.match(catchCode("DT302", () => decodeJson(deep, { maxDepth: 10 })).message, /maxDepth \(10\)/);
  });

  test("with a huge maxDepth, the stack overflow is still a DT302", () => {
    const deep = `${'{"a":'.repeat(200_000)}1${"}".repeat(200_000)}`;
    const error = catchCode("DT302", () => decodeJson(deep, { maxDepth: 10_000_000 }));
    assert.match(error.message, /nested too deeply for the JavaScript stack/);
  });

  test("deep but legal values decode (the encoder and decoder agree on depth)", () => {
    let value: unknown = "leaf";
    for (let i = 0; i < 1000; i++)
      value = i % 3 === 0 ? [value] : i % 3 === 1 ? { v: value } : new Map([[1, value]]);
    const tree = JSON.parse(JSON.stringify(encode(value)));
    assert.doesNotThrow(() => decode(tree));
  });
});
