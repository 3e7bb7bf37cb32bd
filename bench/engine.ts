/**
 * The engine on the embedded store (issue 3's benchmarks), all measured side by side in one run:
 *
 * 1. checkpoint: a flow looping `await DTask.yield()` through a worker on SQLite, per yield, vs a
 *    raw better-sqlite3 UPDATE + SELECT of the same snapshot bytes in the same process, same file
 *    settings (WAL, synchronous FULL and NORMAL).
 * 2. long history: the per-iteration cost of that loop at N = 10,000 vs N = 100 (a snapshot's size
 *    and the resume cost must not grow with history), 10,000 yields at every N (100 flows of 100,
 *    10 of 1,000, one of 10,000) so that each pays the same automatic WAL checkpoints.
 * 3. many suspended flows: start F flows that suspend on a callback; the worker's memory before
 *    and after (it must stay flat: nothing of a suspended flow is in memory) and the bytes stored
 *    per suspended flow.
 *
 *   npm run bench -- --only engine [--flows 100000] [--rounds 5]
 *
 * @module
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createHost, DTask, dasync } from "dtasks";
import { sqliteStore } from "../src/store/sqlite/index.js";
import type { BenchContext } from "./run.js";

const yielding = dasync(async function yielding(n: number, payload: { items: unknown[] }) {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    await DTask.yield();
    sum += i;
  }
  return sum + payload.items.length;
});

const waiting = dasync(async function waiting(order: { id: number; lines: unknown[] }) {
  const approved = await DTask.callback<boolean>(() => {});
  return approved ? order.id : -1;
});

/** A payload of about 1 KB, like the peers' checkpoint baseline. */
function payload(): { items: unknown[] } {
  return {
    items: Array.from({ length: 12 }, (_, i) => ({
      sku: `SKU-${1000 + i}`,
      qty: i + 1,
      price: 9.99 + i,
      note: "x".repeat(24),
    })),
  };
}

type Sync = "full" | "normal";

/**
 * µs per yield of `count` flows of `n` yields each, run one after the other by a worker on a fresh
 * SQLite file (after a warm-up flow).
 */
async function checkpointRun(
  dir: string,
  n: number,
  synchronous: Sync,
  count = 1,
): Promise<{ usPerYield: number; snapshot: string }> {
  const path = join(dir, `flow-${synchronous}-${n}-${Math.random().toString(36).slice(2)}.db`);
  const store = sqliteStore({ path, synchronous });
  const host = createHost({ store });
  try {
    const worker = host.startWorker();
    // Open the file, create the schema, prepare the statements and load the code first: one-time
    // costs that would otherwise be charged to the checkpoints of the measured flow.
    await (await host.start(yielding(50, payload()))).result();
    const began = performance.now();
    for (let i = 0; i < count; i++) await (await host.start(yielding(n, payload()))).result();
    const elapsed = performance.now() - began;
    await worker.stop();
    // The bytes a checkpoint of this loop stores: a finished flow keeps no snapshot, so start one
    // more (no worker now) and read the snapshot its first yield committed.
    const suspended = await host.start(yielding(n, payload()));
    const db = new Database(path, { readonly: true });
    const row = db.prepare("SELECT snapshot FROM flows WHERE id = ?").get(suspended.id) as
      | { snapshot: unknown }
      | undefined;
    db.close();
    return {
      usPerYield: (elapsed * 1000) / (n * count),
      snapshot: row?.snapshot ? String(row.snapshot) : "",
    };
  } finally {
    await host.close();
  }
}

/** µs per raw UPDATE + SELECT of `bytes`, on a fresh file with the same settings. */
function rawRoundTrip(dir: string, bytes: string, synchronous: Sync, ops: number): number {
  const path = join(dir, `raw-${synchronous}-${Math.random().toString(36).slice(2)}.db`);
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  db.exec("CREATE TABLE t (id TEXT PRIMARY KEY, snapshot TEXT, revision INTEGER)");
  db.prepare("INSERT INTO t VALUES ('f', ?, 0)").run(bytes);
  const update = db.prepare("UPDATE t SET snapshot = ?, revision = revision + 1 WHERE id = 'f'");
  const select = db.prepare("SELECT snapshot, revision FROM t WHERE id = 'f'");
  const began = performance.now();
  for (let i = 0; i < ops; i++) {
    // Different bytes every time (as a real checkpoint would write), same length.
    update.run(`${bytes.slice(0, -8)}${String(i).padStart(8, "0")}`);
    select.get();
  }
  const elapsed = performance.now() - began;
  db.close();
  return (elapsed * 1000) / ops;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export async function run({ args, log }: BenchContext): Promise<void> {
  const rounds = option(args, "rounds", 5);
  const flows = option(args, "flows", 100_000);
  const dir = mkdtempSync(join(tmpdir(), "dtasks-bench-"));
  try {
    log("### 1. durable checkpoint (`await DTask.yield()`) vs raw SQLite UPDATE+SELECT of the same bytes");
    log("");
    log("| synchronous | dtasks µs/yield | raw µs/op | ratio | snapshot bytes |");
    log("|---|---|---|---|---|");
    for (const synchronous of ["full", "normal"] as const) {
      const ours: number[] = [];
      const raw: number[] = [];
      let bytes = "";
      for (let r = 0; r < rounds; r++) {
        // Interleaved, so both see the same machine load.
        const measured = await checkpointRun(dir, 1000, synchronous);
        ours.push(measured.usPerYield);
        bytes ||= measured.snapshot;
        raw.push(rawRoundTrip(dir, bytes, synchronous, 1000));
      }
      log(
        `| ${synchronous} | ${median(ours).toFixed(0)} | ${median(raw).toFixed(0)} | **${(median(ours) / median(raw)).toFixed(2)}×** | ${bytes.length} |`,
      );
    }

    log("");
    log("### 2. long history: µs per iteration of a loop of N yields (synchronous NORMAL)");
    log("");
    // 10,000 yields at every N (10,000 / N flows one after the other), so that every N writes the
    // same WAL volume and pays the same automatic WAL checkpoints: what differs is the history.
    log("| N | flows of N yields | µs/iteration | vs N=100 |");
    log("|---|---|---|---|");
    const sizes = [100, 1_000, 10_000];
    const samples = new Map<number, number[]>(sizes.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      // Rotated from round to round, so that no N always runs on the warmest machine.
      for (let k = 0; k < sizes.length; k++) {
        const n = sizes[(k + r) % sizes.length]!;
        samples.get(n)!.push((await checkpointRun(dir, n, "normal", 10_000 / n)).usPerYield);
      }
    }
    const base = median(samples.get(100)!);
    for (const n of sizes) {
      const us = median(samples.get(n)!);
      log(`| ${n} | ${10_000 / n} | ${us.toFixed(0)} | **${(us / base).toFixed(2)}×** |`);
    }

    log("");
    log(`### 3. ${flows.toLocaleString("en")} suspended flows (synchronous NORMAL)`);
    log("");
    const path = join(dir, "many.db");
    const host = createHost({ store: sqliteStore({ path, synchronous: "normal" }) });
    const worker = host.startWorker({ concurrency: 8 });
    global.gc?.();
    const before = process.memoryUsage();
    const marks: string[] = [];
    const began = performance.now();
    for (let i = 1; i <= flows; i++) {
      await host.start(
        waiting({
          id: i,
          lines: [
            { sku: "A-1", qty: 2 },
            { sku: "B-7", qty: 1 },
          ],
        }),
      );
      if (i === flows / 100 || i === flows / 10 || i === flows) {
        global.gc?.();
        const heap = process.memoryUsage().heapUsed;
        marks.push(`${i.toLocaleString("en")} flows: heap ${(heap / 2 ** 20).toFixed(1)} MiB`);
      }
    }
    const startedIn = performance.now() - began;
    await new Promise((resolve) => setTimeout(resolve, 500)); // the worker polls the store meanwhile
    global.gc?.();
    const after = process.memoryUsage();
    await worker.stop();
    await host.close();
    const fileBytes = statSync(path).size + (safeSize(`${path}-wal`) ?? 0);
    log(
      `- started ${flows.toLocaleString("en")} flows in ${(startedIn / 1000).toFixed(1)} s (${((startedIn * 1000) / flows).toFixed(0)} µs per start: create + run + commit)`,
    );
    log(
      `- process heap: ${(before.heapUsed / 2 ** 20).toFixed(1)} MiB before, ${marks.join(", ")}; ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB after${global.gc ? "" : " (run node with --expose-gc for exact heap figures)"}`,
    );
    log(`- RSS ${(before.rss / 2 ** 20).toFixed(0)} → ${(after.rss / 2 ** 20).toFixed(0)} MiB`);
    log(
      `- stored: ${(fileBytes / flows).toFixed(0)} bytes per suspended flow (database + WAL, with indexes)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function safeSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
