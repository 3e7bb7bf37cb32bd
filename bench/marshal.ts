// Cost of the value codec at a durable checkpoint, as ratios to JSON.stringify / JSON.parse of the
// same data measured side by side in one run.
//
//   node --conditions=source --import ./test/setup/register.mjs bench/marshal.ts
//
// "pure JSON frame": locals that are plain JSON (the common case; the codec must stay close to
// JSON). "rich frame": the same plus a Date, a Map, a Set, a bigint, undefined, an Error and a
// shared reference (JSON.stringify loses these, so its time is only a yardstick).
import { decode, encode, marshal, unmarshal } from "../src/marshal/index.js";

function pureFrame(): Record<string, unknown> {
  return {
    fn: "src/orders#checkout",
    v: "3f9a1c",
    s: 7,
    l: {
      orderId: "ord_01HZX3",
      customer: { id: "cus_42", name: "Ada Lovelace", email: "ada@example.com", tier: "gold" },
      lines: Array.from({ length: 20 }, (_, i) => ({
        sku: `SKU-${i}`,
        qty: (i % 3) + 1,
        price: 9.99 + i,
        tags: ["a", "b"],
      })),
      total: 523.8,
      attempts: 2,
      approved: false,
      notes: null,
    },
  };
}

function richFrame(): Record<string, unknown> {
  const frame = pureFrame();
  const locals = frame.l as Record<string, unknown>;
  locals.placedAt = new Date(1_700_000_000_000);
  locals.byWarehouse = new Map([
    ["ams", [1, 2, 3]],
    ["fra", [4]],
  ]);
  locals.seen = new Set(["SKU-1", "SKU-2"]);
  locals.cents = 52380n;
  locals.pending = undefined;
  locals.lastError = new Error("payment declined", { cause: { code: "card_declined" } });
  locals.firstLine = (locals.lines as unknown[])[0];
  return frame;
}

function time(fn: () => unknown, minMs = 300): number {
  // Warm up, then take the best of 5 rounds (ns per call).
  for (let i = 0; i < 2000; i++) fn();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < minMs / 5) {
      for (let i = 0; i < 200; i++) fn();
      n += 200;
      elapsed = performance.now() - start;
    }
    best = Math.min(best, (elapsed * 1e6) / n);
  }
  return best;
}

function row(name: string, ns: number, baseline: number): string {
  return `${name.padEnd(40)} ${(ns / 1000).toFixed(2).padStart(8)} µs   ${(ns / baseline).toFixed(2).padStart(5)}×`;
}

for (const [label, make] of [
  ["pure JSON frame", pureFrame],
  ["rich frame", richFrame],
] as const) {
  const frame = make();
  // JSON.stringify throws on bigint: the yardstick stringifies it (and silently loses the rest).
  const stringifyFrame = () => JSON.stringify(frame, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  const json = stringifyFrame();
  const snapshotJson = marshal(frame);
  const snapshotMsgpack = marshal(frame, { format: "msgpack" });
  const tree = encode(frame);

  const stringify = time(stringifyFrame);
  const parse = time(() => JSON.parse(json));
  console.log(
    `\n${label}: JSON ${json.length} chars, snapshot ${snapshotJson.length} chars (json), ${snapshotMsgpack.length} bytes (msgpack)`,
  );
  console.log(row("JSON.stringify (baseline)", stringify, stringify));
  console.log(
    row(
      "encode (values → tree)",
      time(() => encode(frame)),
      stringify,
    ),
  );
  console.log(
    row(
      "marshal json (encode + stringify)",
      time(() => marshal(frame)),
      stringify,
    ),
  );
  console.log(
    row(
      "marshal msgpack",
      time(() => marshal(frame, { format: "msgpack" })),
      stringify,
    ),
  );
  console.log(row("JSON.parse (baseline)", parse, parse));
  console.log(
    row(
      "decode (tree → values)",
      time(() => decode(tree)),
      parse,
    ),
  );
  console.log(
    row(
      "unmarshal json",
      time(() => unmarshal(snapshotJson)),
      parse,
    ),
  );
  console.log(
    row(
      "unmarshal msgpack",
      time(() => unmarshal(snapshotMsgpack)),
      parse,
    ),
  );
}
