// Round trips of every storable kind of value, through the tree, JSON and MessagePack.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decode, encode, marshal, unmarshal } from "../../src/marshal/index.js";
import { assertIsomorphic, assertRoundTrip } from "./helpers.js";

describe("JSON data", () => {
  test("primitives, arrays and objects round-trip", () => {
    for (const value of [0, 1, -1.5, 2 ** 53, -(2 ** 31), 1e-300, "", "héllo ✓ 𝄞", true, false, null]) {
      assertRoundTrip(value);
    }
    assertRoundTrip({ a: 1, b: [1, "two", { c: null }], d: { e: { f: [true, false] } }, "": "empty key" });
    assertRoundTrip([[], {}, [[]], [{}]]);
  });

  test("key order, integer-like keys and odd keys are kept", () => {
    const value = {
      b: 1,
      a: 2,
      10: "ten",
      2: "two",
      "a.b": 3,
      "with space": 4,
      constructor: 5,
      prototype: 6,
      toString: 7,
    };
    const copy = assertRoundTrip(value);
    assert.deepEqual(Object.keys(copy), Object.keys(value));
  });

  test("lone surrogates and control characters in strings survive JSON", () => {
    assertRoundTrip({ s: "\ud800x\udfff\u0000\n\t\u2028" });
  });
});

describe("undefined", () => {
  test("at the top level, in objects and in arrays", () => {
    assertRoundTrip(undefined);
    const copy = assertRoundTrip({ a: undefined, b: 1 }) as Record<string, unknown>;
    assert.ok(Object.hasOwn(copy, "a"), "the key with an undefined value is kept");
    const array = assertRoundTrip([undefined, 1, undefined]) as unknown[];
    assert.ok(0 in array && 2 in array, "undefined elements are not holes");
  });
});

describe("numbers JSON cannot hold", () => {
  test("NaN, ±Infinity and -0", () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]) {
      const copy = assertRoundTrip(value);
      assert.ok(Object.is(copy, value));
      assertRoundTrip({ v: value, list: [value] });
    }
    assert.ok(Object.is(decode(encode(0)), 0), "+0 stays +0");
  });
});

describe("BigInt", () => {
  test("small, huge and negative", () => {
    for (const value of [0n, 1n, -1n, 2n ** 64n, -(10n ** 100n), BigInt(Number.MAX_SAFE_INTEGER) + 2n]) {
      assert.equal(assertRoundTrip(value), value);
    }
  });
});

describe("Date", () => {
  test("valid, epoch, negative and invalid dates", () => {
    for (const time of [0, 1_700_000_000_123, -86_400_000, 8.64e15]) assertRoundTrip(new Date(time));
    const invalid = assertRoundTrip(new Date(Number.NaN));
    assert.ok(Number.isNaN(invalid.getTime()));
  });
});

describe("RegExp", () => {
  test("source, flags and lastIndex", () => {
    assertRoundTrip(/a+b/);
    assertRoundTrip(/^[\u0041-\u005a]+$/dgimsuy);
    const unicodeSets = "v"; // the ES2024 flag, built at run time for our ES2022 target
    assertRoundTrip(new RegExp("a/b\\n[\\p{L}--[a-z]]", unicodeSets));
    const re = /x/g;
    re.exec("axbx");
    assert.equal(re.lastIndex, 2);
    const copy = assertRoundTrip(re);
    assert.equal(copy.lastIndex, 2);
    assert.equal(copy.exec("axbx")?.index, 3, "the copy continues where the original was");
  });
});

describe("Map and Set", () => {
  test("keep insertion order and allow any keys", () => {
    const objectKey = { id: 1 };
    const map = new Map<unknown, unknown>([
      ["z", 1],
      ["a", 2],
      [objectKey, "object key"],
      [1n, "bigint key"],
      [undefined, Number.NaN],
      [Number.NaN, "nan key"],
      [new Date(3), new Set([1, 2])],
    ]);
    const copy = assertRoundTrip(map);
    assert.deepEqual([...copy.keys()].slice(0, 2), ["z", "a"]);
    assertRoundTrip(new Set(["b", "a", 3, { x: 1 }, [1], undefined]));
    assertRoundTrip(new Map());
    assertRoundTrip(new Set());
  });

  test("an object used as a key and as a value stays one object", () => {
    const key = { k: 1 };
    const copy = assertRoundTrip({ map: new Map([[key, key]]), set: new Set([key]), key });
    const [[k, v]] = [...copy.map];
    assert.equal(k, v);
    assert.equal(k, copy.key);
    assert.ok(copy.set.has(copy.key));
  });
});

describe("binary data", () => {
  test("every typed array kind", () => {
    assertRoundTrip(new Int8Array([-128, 0, 127]));
    assertRoundTrip(new Uint8Array([0, 1, 255]));
    assertRoundTrip(new Uint8ClampedArray([0, 128, 255]));
    assertRoundTrip(new Int16Array([-32768, 32767]));
    assertRoundTrip(new Uint16Array([0, 65535]));
    assertRoundTrip(new Int32Array([-(2 ** 31), 2 ** 31 - 1]));
    assertRoundTrip(new Uint32Array([0, 2 ** 32 - 1]));
    assertRoundTrip(new Float32Array([1.5, Number.NaN, Number.NEGATIVE_INFINITY, -0]));
    assertRoundTrip(new Float64Array([Math.PI, -0, Number.NaN, Number.MIN_VALUE]));
    assertRoundTrip(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]));
    assertRoundTrip(new BigUint64Array([0n, 2n ** 64n - 1n]));
    assertRoundTrip(new Uint8Array(0));
  });

  test("ArrayBuffer and DataView", () => {
    const buffer = new Uint8Array([1, 2, 3, 4, 5]).buffer;
    assertRoundTrip(buffer);
    const view = assertRoundTrip(new DataView(buffer));
    assert.equal(view.getUint8(4), 5);
    const part = assertRoundTrip(new DataView(buffer, 1, 2));
    assert.equal(part.byteLength, 2);
    assert.equal(part.getUint8(0), 2);
  });

  test("views of one whole buffer share it after decoding", () => {
    const buffer = new ArrayBuffer(8);
    const bytes = new Uint8Array(buffer);
    const words = new Uint32Array(buffer);
    words[0] = 0x01020304;
    const copy = assertRoundTrip({ buffer, bytes, words });
    assert.equal(copy.bytes.buffer, copy.buffer);
    assert.equal(copy.words.buffer, copy.buffer);
    copy.bytes[4] = 9;
    assert.equal(new Uint8Array(copy.buffer)[4], 9, "writes through one view show in the others");
  });

  test("a view over part of a larger buffer stores only its own bytes", () => {
    const big = new Uint8Array(1000).fill(7);
    const part = big.subarray(10, 13);
    part.set([1, 2, 3]);
    const tree = encode(part);
    assert.deepEqual(tree, { $: "Uint8Array", v: "AQID" });
    const copy = decode(tree) as Uint8Array;
    assert.deepEqual([...copy], [1, 2, 3]);
    assert.equal(copy.buffer.byteLength, 3);
  });

  test("Node Buffers stay Buffers, and a pooled Buffer does not leak its pool", () => {
    const pooled = Buffer.from("secret-free text");
    assert.ok(pooled.buffer.byteLength > pooled.length, "Node pools small Buffers");
    const copy = assertRoundTrip(pooled);
    assert.ok(Buffer.isBuffer(copy));
    assert.equal(copy.toString(), "secret-free text");
    const tree = JSON.stringify(encode(pooled));
    assert.ok(tree.length < 80, "only the Buffer's bytes are stored");
    assertRoundTrip(Buffer.alloc(4, 1));
  });
});

describe("sparse arrays", () => {
  test("holes are kept, runs of holes are stored compactly", () => {
    // biome-ignore lint/suspicious/noSparseArray: the point of the test
    assertRoundTrip([1, , 3]);
    // biome-ignore lint/suspicious/noSparseArray: the point of the test
    assertRoundTrip([, , ,]);
    const huge: unknown[] = [];
    huge[1_000_000] = "last";
    huge[5] = "fifth";
    const copy = assertRoundTrip(huge);
    assert.equal(copy.length, 1_000_001);
    assert.equal(copy[1_000_000], "last");
    assert.ok(!(6 in copy));
    assert.ok(JSON.stringify(encode(huge)).length < 100, "a run of holes is one marker");
  });

  test("holes are skipped, not walked: an array of length 2^32-1 with two items", () => {
    const longest: unknown[] = [];
    longest[2 ** 32 - 2] = "end";
    longest[1] = "one";
    const started = performance.now();
    const tree = encode(longest);
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual(tree, [{ $: "hole", n: 1 }, "one", { $: "hole", n: 2 ** 32 - 4 }, "end"]);
    const copy = unmarshal(marshal(longest, { format: "msgpack" })) as unknown[];
    assert.equal(copy.length, 2 ** 32 - 1);
    assert.equal(copy[1], "one");
    assert.equal(copy[2 ** 32 - 2], "end");
    assert.ok(!(0 in copy) && !(2 in copy));
    const trailing = [1, 2];
    trailing.length = 5;
    assert.equal(assertRoundTrip(trailing).length, 5);
  });
});

describe("objects without a prototype", () => {
  test("keep their null prototype and their keys, __proto__ included", () => {
    const dict = Object.create(null) as Record<string, unknown>;
    dict.a = 1;
    const protoKey = "__proto__"; // on a null-prototype object, just a key
    dict[protoKey] = "a plain key here";
    dict.nested = Object.create(null);
    const copy = assertRoundTrip(dict);
    assert.equal(Object.getPrototypeOf(copy), null);
    assert.equal(copy[protoKey], "a plain key here");
  });
});

describe("URL", () => {
  test("round-trips by href", () => {
    const copy = assertRoundTrip(new URL("https://user@example.com:8080/a/b?q=1#frag"));
    assert.ok(copy instanceof URL);
    assert.equal(copy.searchParams.get("q"), "1");
  });
});

describe("accessors", () => {
  test("enumerable getters are stored as their current value", () => {
    let reads = 0;
    const value = {
      get now() {
        reads++;
        return 42;
      },
    };
    const copy = decode(encode(value)) as { now: number };
    assert.equal(reads, 1);
    assert.deepEqual(Object.getOwnPropertyDescriptor(copy, "now"), {
      value: 42,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  });

  test("non-enumerable and symbol-keyed properties are not stored", () => {
    const value: Record<string | symbol, unknown> = { kept: 1 };
    Object.defineProperty(value, "hidden", { value: 2, enumerable: false });
    value[Symbol("s")] = 3;
    const copy = unmarshal(marshal(value)) as Record<string | symbol, unknown>;
    assert.deepEqual(Reflect.ownKeys(copy), ["kept"]);
  });
});

describe("a typical frame", () => {
  test("a mix of everything round-trips through both formats", () => {
    const customer = { id: "c-1", since: new Date(0) };
    const frame = {
      fn: "src/orders#checkout",
      v: "a1b2",
      s: 3,
      l: {
        order: { id: 17n, customer, lines: [{ sku: "x", qty: 2, price: 9.99 }], notes: undefined },
        seen: new Set(["a", "b"]),
        totals: new Map([["EUR", -0]]),
        last: customer,
        error: new RangeError("too many", { cause: { retry: Number.POSITIVE_INFINITY } }),
        pattern: /^order-\d+$/u,
        raw: new Uint8Array([1, 2, 3]),
      },
    };
    assertIsomorphic(frame, unmarshal(marshal(frame)));
    assertIsomorphic(frame, unmarshal(marshal(frame, { format: "msgpack" })));
  });
});
