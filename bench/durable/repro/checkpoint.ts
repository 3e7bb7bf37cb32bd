/**
 * Where a checkpoint (`await DTask.yield()` run by a worker) spends its time, on one engine:
 *
 * 1. the store's `commit` alone, called with exactly the input the host sends for a yield
 *    (captured from a real run), in a loop: the store's share;
 * 2. the engine's raw write + read of the same bytes (the bench's baseline);
 * 3. a whole yield on `memoryStore()`: the host's and the runtime's share (run, encode, decode,
 *    bookkeeping), no I/O;
 * 4. a whole yield on the engine, optionally under the CPU profiler (`--profile`), whose summary
 *    names the functions.
 *
 *   node --conditions=source --import ./test/setup/register.mjs bench/durable/repro/checkpoint.ts \
 *     sqlite-normal [--yields 3000] [--rounds 3] [--profile]
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, memoryStore, type Store } from "dtasks";
import { benchConfig, ENGINE_IDS, type EngineId, engines, openStore } from "../engines.js";
import { profileSection, summarize } from "../profile.js";
import { checkpointFlow, checkpointPayload } from "../workloads.js";

type CommitInput = Parameters<Store["commit"]>[0];

const args = process.argv.slice(2);
const engineId = (args.find((a) => !a.startsWith("--")) ?? "sqlite-normal") as EngineId;
if (!ENGINE_IDS.includes(engineId)) throw new Error(`engine: one of ${ENGINE_IDS.join(", ")}`);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const yields = opt("yields", 3000);
const rounds = opt("rounds", 3);
const dir = mkdtempSync(join(tmpdir(), "dtasks-repro-"));
const engine = engines(benchConfig(dir))[engineId];

/** The CommitInput of a yield, as the host sends it (captured from a memory store). */
async function yieldCommitInput(): Promise<CommitInput> {
  const inner = memoryStore();
  let captured: CommitInput | undefined;
  const store = new Proxy(inner, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      if (key !== "commit") return value.bind(target);
      return (input: CommitInput) => {
        if (input.keepLeaseMs != null) captured ??= structuredClone(input);
        return value.call(target, input);
      };
    },
  });
  const host = createHost({ store });
  const worker = host.startWorker({ concurrency: 1 });
  await (await host.start(checkpointFlow(3, checkpointPayload()))).result();
  await worker.stop();
  await host.close();
  return captured!;
}

async function storeCommitAlone(template: CommitInput, n: number): Promise<number> {
  const spec = engine.spec("repro_commit");
  const store = openStore(spec);
  try {
    const now = Date.now();
    const created = await store.createFlow({
      id: "repro-flow",
      rootFunctionId: "bench/durable/workloads#checkpointFlow",
      snapshot: template.snapshot ?? null,
      metadata: null,
      owner: "repro",
      leaseMs: 30_000,
      now,
    });
    let revision = created.revision;
    const base = String(template.snapshot);
    const run = async (i: number) => {
      const t = Date.now();
      const r = await store.commit({
        ...template,
        flowId: "repro-flow",
        revision,
        leaseToken: created.lease.token,
        now: t,
        runnableAt: t,
        snapshot: `${base.slice(0, -8)}${String(i).padStart(8, "0")}`,
      });
      revision = r.revision;
    };
    for (let i = 0; i < 100; i++) await run(i);
    const began = performance.now();
    for (let i = 0; i < n; i++) await run(i + 100);
    return ((performance.now() - began) * 1000) / n;
  } finally {
    await store.close();
    await engine.cleanup(spec);
  }
}

async function wholeYield(store: Store, n: number, profile: boolean): Promise<number> {
  const host = createHost({ store });
  const worker = host.startWorker({ concurrency: 8 });
  try {
    await (await host.start(checkpointFlow(100, checkpointPayload()))).result();
    let ms = 0;
    const body = async () => {
      const began = performance.now();
      await (await host.start(checkpointFlow(n, checkpointPayload()))).result();
      ms = performance.now() - began;
    };
    if (profile) {
      const file = join(process.cwd(), ".bench-out", `checkpoint-${engineId}.cpuprofile`);
      const p = await profileSection(body, file);
      console.log(summarize(p, 22).join("\n"));
      console.log(`(profile written to ${file}; open it in Chrome DevTools or VS Code)`);
    } else await body();
    return (ms * 1000) / n;
  } finally {
    await worker.stop();
    await host.close();
  }
}

const template = await yieldCommitInput();
const snapshot = template.snapshot!;
console.log(
  `${engine.label}; a yield's commit input: status=${template.status}, snapshot ${String(snapshot).length} B, keepLeaseMs=${template.keepLeaseMs}`,
);
for (let r = 0; r < rounds; r++) {
  const commit = await storeCommitAlone(template, yields);
  const raw = await engine.raw(snapshot, yields);
  const memory = await wholeYield(memoryStore(), yields, false);
  const spec = engine.spec("repro_yield");
  const whole = await wholeYield(openStore(spec), yields, false);
  await engine.cleanup(spec);
  console.log(
    `round ${r + 1}: store.commit ${commit.toFixed(0)} µs | raw ${raw.toFixed(0)} µs (commit/raw ${(commit / raw).toFixed(2)}×) | ` +
      `yield on memory ${memory.toFixed(0)} µs | yield on ${engineId} ${whole.toFixed(0)} µs (vs raw ${(whole / raw).toFixed(2)}×)`,
  );
}
if (args.includes("--profile")) {
  const spec = engine.spec("repro_profile");
  await wholeYield(openStore(spec), yields, true);
  await engine.cleanup(spec);
}
rmSync(dir, { recursive: true, force: true });
