// Tree ↔ bytes: the header, both formats, byte codecs, and precise DT302 errors for bytes that are
// not a snapshot.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  type ByteCodec,
  deserialize,
  encode,
  marshal,
  serialize,
  unmarshal,
} from "../../src/marshal/index.js";
import { assertIsomorphic, catchCode } from "./helpers.js";

const gzip: ByteCodec = { name: "gzip", encode: (b) => gzipSync(b), decode: (b) => gunzipSync(b) };
/** A toy cipher whose output differs with the key, to check that codecs are undone in reverse. */
function xor(name: string, key: number): ByteCodec {
  const apply = (bytes: Uint8Array) => bytes.map((b) => b ^ key);
  return { name, encode: apply, decode: apply };
}
/** A codec that appends a marker, so a wrong undo order is detected. */
function tagging(name: string): ByteCodec {
  const mark = new TextEncoder().encode(`[${name}]`);
  return {
    name,
    encode: (b) => Buffer.concat([b, mark]),
    decode: (b) => {
      const tail = Buffer.from(b.subarray(b.length - mark.length)).toString();
      if (tail !== `[${name}]`) throw new Error(`${name}: expected my marker, found another`);
      return b.subarray(0, b.length - mark.length);
    },
  };
}

const sample = { n: 1, s: "x", d: new Date(3), m: new Map([[1, [2n]]]), u: undefined };

describe("the header", () => {
  test("JSON without codecs is a string: 'DT1 json' then the tree", () => {
    const snapshot = marshal({ a: [1, "b"] });
    assert.equal(snapshot, 'DT1 json\n{"a":[1,"b"]}');
    assert.deepEqual(deserialize(snapshot), { a: [1, "b"] });
  });

  test("MessagePack is bytes with the same header line", () => {
    const snapshot = marshal({ a: 1 }, { format: "msgpack" });
    assert.ok(snapshot instanceof Uint8Array);
    assert.equal(Buffer.from(snapshot.subarray(0, 12)).toString(), "DT1 msgpack\n");
    assert.deepEqual(deserialize(snapshot), { a: 1 });
  });

  test("codecs are named in the header in the order they were applied", () => {
    const snapshot = serialize(encode(sample), { format: "msgpack", codecs: [gzip, xor("k1", 0x5a)] });
    const text = Buffer.from(snapshot as Uint8Array).toString("latin1");
    assert.ok(text.startsWith("DT1 msgpack gzip,k1\n"), text.slice(0, 30));
  });

  test("a JSON snapshot read as bytes is read the same", () => {
    const snapshot = marshal(sample);
    assertIsomorphic(sample, unmarshal(new TextEncoder().encode(snapshot)));
  });
});

describe("formats and codecs", () => {
  for (const format of ["json", "msgpack"] as const) {
    test(`${format}: round-trips with no codec, one, and several`, () => {
      for (const codecs of [
        [],
        [gzip],
        [gzip, xor("a", 1), xor("b", 0x80)],
        [tagging("one"), tagging("two")],
      ]) {
        const snapshot = marshal(sample, { format, codecs });
        assertIsomorphic(sample, unmarshal(snapshot, { codecs }));
      }
    });
  }

  test("codecs are undone in reverse order", () => {
    const codecs = [tagging("first"), tagging("second")];
    const snapshot = marshal(sample, { codecs });
    assertIsomorphic(
      sample,
      unmarshal(snapshot, { codecs: [...codecs].reverse() }),
      "configuration order does not matter",
    );
  });

  test("gzip makes a repetitive snapshot smaller", () => {
    const value = {
      rows: Array.from({ length: 500 }, (_, i) => ({ id: i, status: "pending", owner: "ops" })),
    };
    const plain = marshal(value);
    const zipped = marshal(value, { codecs: [gzip] }) as Uint8Array;
    assert.ok(zipped.length * 5 < plain.length, `${zipped.length} vs ${plain.length}`);
  });

  test("MessagePack is smaller than JSON for a typical frame", () => {
    const value = { l: { items: Array.from({ length: 50 }, (_, i) => ({ i, price: i * 1.25, ok: true })) } };
    assert.ok((marshal(value, { format: "msgpack" }) as Uint8Array).length < marshal(value).length);
  });

  test("lone surrogates survive MessagePack (UTF-8 cannot hold them), in values and keys, short and long", () => {
    for (const text of ["\ud800", "a\udfffb", `${"\ud83d".repeat(60)}${"x".repeat(300)}`, "\udc00\ud800"]) {
      const value = { [text]: text, list: [text, "well-formed ✓"] };
      const copy = unmarshal(marshal(value, { format: "msgpack" })) as Record<string, unknown>;
      assert.deepEqual(Object.keys(copy), [text, "list"]);
      assert.equal(copy[text], text);
      assert.deepEqual(copy.list, [text, "well-formed ✓"]);
    }
  });

  test("a codec named in the header but not configured is DT308", () => {
    const snapshot = marshal(sample, { codecs: [gzip] });
    const error = catchCode("DT308", () => unmarshal(snapshot));
    assert.match(error.message, /written with byte codec 'gzip', which is not configured/);
  });

  test("a codec that fails to decode is DT302 with the cause", () => {
    const snapshot = marshal(sample, { codecs: [xor("gzip", 7)] });
    const error = catchCode("DT302", () => unmarshal(snapshot, { codecs: [gzip] }));
    assert.match(error.message, /byte codec 'gzip' failed to decode it/);
    assert.ok(error.cause instanceof Error);
  });

  test("a codec must return bytes (DT307)", () => {
    const bad = { name: "bad", encode: () => "text", decode: (b: Uint8Array) => b } as unknown as ByteCodec;
    assert.match(
      catchCode("DT307", () => marshal(1, { codecs: [bad] })).message,
      /returned a string from encode\(\)/,
    );
  });

  test("a decompression bomb stops at maxBytes", () => {
    const snapshot = marshal({ zeros: "0".repeat(200_000) }, { codecs: [gzip] }) as Uint8Array;
    assert.ok(snapshot.length < 2000);
    const error = catchCode("DT302", () => unmarshal(snapshot, { codecs: [gzip], maxBytes: 100_000 }));
    assert.match(error.message, /over the maxBytes limit \(100000\)/);
  });
});

describe("bytes that are not a snapshot (DT302)", () => {
  const cases: [string, string | Uint8Array, RegExp][] = [
    ["empty string", "", /not a dtasks snapshot/],
    ["plain JSON", '{"a":1}', /not a dtasks snapshot/],
    ["no newline in the first 512 bytes", `DT1 json ${"x".repeat(600)}`, /not a dtasks snapshot/],
    ["another program's file", "PK\u0003\u0004\nrest", /not a dtasks snapshot/],
    [
      "a future container version",
      "DT2 json\n{}",
      /container version is 2, but this version of dtasks reads version 1/,
    ],
    ["an unknown format", "DT1 xml\n<a/>", /format 'xml' is unknown \(this version reads json and msgpack\)/],
    ["a malformed header", "DT1\n{}", /header is malformed/],
    ["an invalid codec name", "DT1 json g zip\n{}", /header is malformed/],
    ["a codec name with bad characters", "DT1 json g!zip\n{}", /invalid byte codec/],
    ["msgpack given as a string", "DT1 msgpack\n\u0080", /msgpack snapshot was given as a string/],
    ["codecs given as a string", "DT1 json gzip\n{}", /byte codecs \(gzip\) was given as a string/],
    ["invalid JSON", 'DT1 json\n{"secret": "hunter2"', /the JSON body is not valid JSON/],
    ["invalid UTF-8", new Uint8Array([...Buffer.from("DT1 json\n"), 0xff, 0xfe]), /not valid UTF-8/],
    [
      "truncated MessagePack",
      new Uint8Array([...Buffer.from("DT1 msgpack\n"), 0x92, 0x01]),
      /MessagePack body cannot be decoded/,
    ],
    [
      "trailing MessagePack bytes",
      new Uint8Array([...Buffer.from("DT1 msgpack\n"), 0x01, 0x02]),
      /MessagePack body cannot be decoded/,
    ],
    [
      "a 4-billion-item MessagePack array",
      new Uint8Array([...Buffer.from("DT1 msgpack\n"), 0xdd, 0xff, 0xff, 0xff, 0xff]),
      /MessagePack body cannot be decoded/,
    ],
  ];
  for (const [name, input, message] of cases) {
    test(name, () => {
      const error = catchCode("DT302", () => deserialize(input));
      assert.match(error.message, message);
      assert.ok(!error.message.includes("hunter2"), "the message never quotes the snapshot");
    });
  }

  test("something that is neither a string nor bytes", () => {
    assert.match(
      catchCode("DT302", () => deserialize(42 as never)).message,
      /cannot read a snapshot from a number/,
    );
    assert.match(catchCode("DT302", () => deserialize({} as never)).message, /from an Object/);
  });

  test("a snapshot over maxBytes is refused before parsing", () => {
    const error = catchCode("DT302", () => deserialize(marshal("x".repeat(1000)), { maxBytes: 100 }));
    assert.match(error.message, /the snapshot is 1011 characters, over the maxBytes limit \(100\)/);
  });
});

describe("options (DT307)", () => {
  test("unknown options are refused with a suggestion", () => {
    assert.match(
      catchCode("DT307", () => marshal(1, { fromat: "json" } as never)).message,
      /unknown marshal option 'fromat' \(did you mean 'format'\?\)/,
    );
    assert.match(
      catchCode("DT307", () => marshal(1, { zzz: 1 } as never)).message,
      /^unknown marshal option 'zzz'$/,
    );
  });

  test("wrong types are refused, naming the option", () => {
    const cases: [unknown, RegExp][] = [
      [{ format: "xml" }, /option 'format' must be "json" or "msgpack"/],
      [{ maxDepth: 0 }, /option 'maxDepth' must be a positive integer/],
      [{ maxBytes: -1 }, /option 'maxBytes' must be a positive number/],
      [{ codecs: [{ name: "a b", encode() {}, decode() {} }] }, /codecs\[0\]\.name must be/],
      [{ codecs: [gzip, gzip] }, /the name 'gzip' is used twice/],
      [
        { surrogates: [{ tag: "", test() {}, encode() {}, decode() {} }] },
        /surrogates\[0\]\.tag must be a non-empty string/,
      ],
      [
        { surrogates: [{ tag: "t", test() {}, encode() {} }] },
        /surrogates\[0\] \('t'\): 'decode' must be a function/,
      ],
      [
        { special: { encode() {} } },
        /option 'special' must be an object with encode\(value\) and decode\(tag, data\)/,
      ],
      [{ registry: {} }, /option 'registry' must be a ClassRegistry/],
    ];
    for (const [options, message] of cases) {
      assert.match(catchCode("DT307", () => marshal(1, options as never)).message, message);
    }
  });
});
