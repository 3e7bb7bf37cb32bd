/**
 * dtasks beside its peers (issue 4's benchmark), in one run, printed as one table of ratios:
 *
 * - W1: one flow of 1,000 sequential durable steps (µs per step), on every engine;
 * - W2: a loop of N `await DTask.delay(1)` for N = 100, 1,000, 10,000 (µs per iteration; how it
 *   grows with N);
 * - W3: 1,000 concurrent flows of 3 steps (flows/s), with the worker in this process, and on Redis
 *   and PostgreSQL also with 1 and 2 worker processes;
 * - checkpoint: µs per `await DTask.yield()` of a flow with ~1 KB of state vs the engine's raw
 *   write + read of the same snapshot bytes at the same durability, back to back;
 * - DBOS Transact (on the same PostgreSQL) and Restate, run from the peer harness with the same
 *   sizes (`bench/durable/peers.ts`).
 *
 * The machine is shared and noisy: every measurement is repeated in `--rounds` rounds, the order
 * of the measurements rotates from round to round, and the table gives medians. See
 * docs/benchmarks.md for what each number means.
 *
 *   npm run bench -- --only peers                 # the default run (about 15 minutes)
 *   npm run bench -- --only peers --quick         # small sizes, one round (a couple of minutes)
 *   npm run bench -- --only peers --peers none --engines redis,postgres --rounds 5
 *
 * Options: --quick, --rounds N, --engines LIST, --w2-engines LIST, --peers LIST|none,
 * --skip LIST (w1,w2,w3,scale,checkpoint,peers), --w1 STEPS, --w2 N,N,…, --peer-w2 N,…|none,
 * --w3 FLOWS, --checkpoint YIELDS, --concurrency N.
 *
 * @module
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as dtasks from "./durable/dtasks.js";
import {
  benchConfig,
  cleanupAll,
  ENGINE_IDS,
  type Engine,
  type EngineId,
  engines as makeEngines,
} from "./durable/engines.js";
import { PEER_IDS, type PeerId, type PeerRun, preparePeers, runPeer } from "./durable/peers.js";
import type { BenchContext } from "./run.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface Options {
  quick: boolean;
  rounds: number;
  engines: EngineId[];
  w2Engines: EngineId[];
  peers: PeerId[];
  skip: Set<string>;
  w1Steps: number;
  w2Ns: number[];
  peerW2Ns: number[];
  w3Count: number;
  w3Steps: number;
  checkpointYields: number;
  concurrency: number;
  /** A W2 run at the largest N longer than this: later rounds skip that N on that engine. */
  w2MaxSeconds: number;
}

function parseOptions(args: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
    return v;
  };
  const list = (name: string): string[] | undefined =>
    value(name)
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const numbers = (name: string): number[] | undefined => {
    const l = list(name);
    if (l === undefined) return undefined;
    if (l.length === 1 && l[0] === "none") return [];
    const ns = l.map(Number);
    if (ns.some((n) => !Number.isInteger(n) || n <= 0))
      throw new Error(`--${name}: positive integers expected`);
    return ns;
  };
  const number = (name: string): number | undefined => numbers(name)?.[0];
  const known = new Set([
    "--quick",
    "--rounds",
    "--engines",
    "--w2-engines",
    "--peers",
    "--skip",
    "--w1",
    "--w2",
    "--peer-w2",
    "--w3",
    "--checkpoint",
    "--concurrency",
    "--w2-max-seconds",
  ]);
  for (const arg of args) {
    if (arg.startsWith("--") && !known.has(arg))
      throw new Error(`peers: unknown option ${arg} (known: ${[...known].join(" ")})`);
  }
  const quick = args.includes("--quick");
  const engineList = (name: string, fallback: EngineId[]): EngineId[] => {
    const l = list(name);
    if (l === undefined) return fallback;
    const bad = l.filter((e) => !ENGINE_IDS.includes(e as EngineId));
    if (bad.length > 0)
      throw new Error(`--${name}: unknown engine ${bad.join(", ")} (there are ${ENGINE_IDS.join(", ")})`);
    return l as EngineId[];
  };
  const peerList = list("peers");
  if (peerList?.some((p) => p !== "none" && !PEER_IDS.includes(p as PeerId)))
    throw new Error(`--peers: there are ${PEER_IDS.join(", ")} (or none)`);
  const opts: Options = {
    quick,
    rounds: number("rounds") ?? (quick ? 1 : 3),
    engines: engineList("engines", [...ENGINE_IDS]),
    // SQLite NORMAL differs from FULL only by the fsync: its W2 says nothing FULL does not.
    w2Engines: engineList("w2-engines", ["sqlite-full", "redis", "postgres"]),
    peers: peerList === undefined ? [...PEER_IDS] : (peerList.filter((p) => p !== "none") as PeerId[]),
    skip: new Set(list("skip") ?? []),
    w1Steps: number("w1") ?? (quick ? 200 : 1000),
    w2Ns: numbers("w2") ?? (quick ? [50, 500] : [100, 1000, 10_000]),
    peerW2Ns: numbers("peer-w2") ?? (quick ? [50] : [100, 1000]),
    w3Count: number("w3") ?? (quick ? 200 : 1000),
    w3Steps: 3,
    checkpointYields: number("checkpoint") ?? (quick ? 300 : 1000),
    concurrency: number("concurrency") ?? 64,
    w2MaxSeconds: number("w2-max-seconds") ?? 60,
  };
  if (opts.skip.has("peers")) opts.peers = [];
  return opts;
}

/** The comparisons with a bar (and one for context), measured as back-to-back pairs. */
const PAIRS: readonly (readonly ["W1" | "W3", EngineId, PeerId])[] = [
  ["W1", "postgres", "dbos"],
  ["W3", "postgres", "dbos"],
  ["W1", "sqlite-full", "restate"],
  ["W3", "sqlite-full", "restate"],
];

const peerName: Record<PeerId, string> = { dbos: "DBOS", restate: "Restate" };

/** Samples of one metric, one per round. */
type Samples = Map<string, number[]>;

interface Job {
  name: string;
  /** Measures once; `round` (0-based) lets a pair alternate which side runs first. */
  run(round: number): Promise<Record<string, number>>;
}

function median(values: number[] | undefined): number | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1]! + sorted[m]!) / 2;
}

const int = (n: number | undefined): string =>
  n === undefined ? "—" : Math.round(n).toLocaleString("en-US");
const x = (n: number | undefined): string => (n === undefined ? "—" : `${n.toFixed(2)}×`);

export async function run({ args, log }: BenchContext): Promise<void> {
  const opts = parseOptions(args);
  const progress = (line: string) =>
    process.stderr.write(`[peers ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const began = performance.now();
  const startedAt = new Date();
  const loadBefore = loadavg();
  const sqliteDir = mkdtempSync(join(tmpdir(), "dtasks-bench-peers-"));
  // Interrupted (Ctrl-C): leave no schema, keys or files behind.
  const interrupted = (signal: NodeJS.Signals) => {
    progress(`${signal}: removing this run's schemas, keys and files`);
    void cleanupAll().finally(() => {
      rmSync(sqliteDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  const config = benchConfig(sqliteDir);
  const all = makeEngines(config);
  const runOptions = { concurrency: opts.concurrency };

  const unavailable = new Map<string, string>();
  const engines: Engine[] = [];
  for (const id of opts.engines) {
    const why = await all[id].check();
    if (why === null) engines.push(all[id]);
    else unavailable.set(id, why);
  }

  const peerSource = process.env.DTASKS_BENCH_PEERS ?? resolve(ROOT, "../shared/bench/peers");
  const peerWork = join(ROOT, ".bench-out", "peers");
  const peerSetup =
    opts.peers.length > 0 ? await preparePeers(peerSource, peerWork, opts.peers, progress) : null;
  const peers = opts.peers.filter((p) => {
    const why = peerSetup?.unavailable[p];
    if (why !== undefined) unavailable.set(p, why);
    return why === undefined;
  });

  const snapshot = await dtasks.checkpointSnapshot();
  const snapshotBytes = typeof snapshot === "string" ? Buffer.byteLength(snapshot) : snapshot.byteLength;

  // ---- the jobs of one round
  const jobs: Job[] = [];
  const has = (w: string) => !opts.skip.has(w);
  /** Engines whose W2 at the largest N ran once only (too slow to repeat within the time budget). */
  const slowW2 = new Set<EngineId>();
  /** Which job measures a metric: a missing value is explained by that job's error. */
  const producer = new Map<string, string>();
  const job = (name: string, metrics: string[], run: Job["run"]) => {
    for (const metric of metrics) producer.set(metric, name);
    jobs.push({ name, run });
  };
  const paired = (workload: "W1" | "W3", engine: EngineId) =>
    has(workload.toLowerCase()) &&
    PAIRS.some(([w, e, p]) => w === workload && e === engine && peers.includes(p));
  const measureW1 = async (engine: Engine) => {
    const ms = await dtasks.w1(engine, opts.w1Steps, runOptions);
    return { [`w1.${engine.id}`]: (ms * 1000) / opts.w1Steps };
  };
  const measureW3 = async (engine: Engine) => {
    const ms = await dtasks.w3(engine, opts.w3Count, opts.w3Steps, runOptions);
    return { [`w3.${engine.id}.in`]: (opts.w3Count * 1000) / ms };
  };
  const peerRuns = new Map<PeerId, PeerRun[]>();
  const measurePeer = async (peer: PeerId, workloads: string[]) => {
    const r = await runPeer(
      peerSetup!.dir,
      peer,
      { w1Steps: opts.w1Steps, w2Ns: opts.peerW2Ns, w3Count: opts.w3Count, w3Steps: opts.w3Steps, workloads },
      config.pgUrl,
    );
    peerRuns.set(peer, [...(peerRuns.get(peer) ?? []), r]);
    const out: Record<string, number> = {};
    for (const result of r.results) {
      if (result.workload === "W1") out[`w1.${peer}`] = Number(result.median_us_per_step);
      if (result.workload === "W3") out[`w3.${peer}`] = Number(result.median_workflows_per_s);
      if (result.workload === "W2") out[`w2.${peer}.${result.n}`] = Number(result.median_us_per_iter);
    }
    if (r.error !== null) throw Object.assign(new Error(`${peerName[peer]}: ${r.error}`), { partial: out });
    return out;
  };
  if (has("w2") && opts.w2Ns.length > 0)
    jobs.push({
      name: "timer floor",
      async run() {
        const n = Math.min(1000, opts.w2Ns.at(-1)!);
        const began = performance.now();
        for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 1));
        return { "w2.floor": ((performance.now() - began) * 1000) / n };
      },
    });
  jobs.push({
    name: "disk",
    async run() {
      return { "disk.fdatasync": fdatasyncMicros(sqliteDir, 200) };
    },
  });
  for (const engine of engines) {
    const e = engine.id;
    if (has("checkpoint")) {
      producer.set(`ckpt.${e}.dtasks`, `checkpoint ${e}`);
      jobs.push({
        name: `checkpoint ${e}`,
        async run() {
          // Raw before and after, half each: the pair brackets the same stretch of machine load.
          const half = Math.max(1, Math.round(opts.checkpointYields / 2));
          const before = await engine.raw(snapshot, half);
          const ours = await dtasks.checkpoint(engine, opts.checkpointYields, runOptions);
          const raw = (before + (await engine.raw(snapshot, half))) / 2;
          const out: Record<string, number> = {
            [`ckpt.${e}.dtasks`]: ours,
            [`ckpt.${e}.raw`]: raw,
            [`ckpt.${e}.ratio`]: ours / raw,
          };
          if (engine.rawStrict !== undefined) {
            const strict = await engine.rawStrict(snapshot, half);
            out[`ckpt.${e}.strict`] = strict;
            out[`ckpt.${e}.strictRatio`] = ours / strict;
          }
          return out;
        },
      });
    }
    if (has("w1") && !paired("W1", e)) job(`W1 ${e}`, [`w1.${e}`], () => measureW1(engine));
    if (has("w2") && opts.w2Engines.includes(e) && opts.w2Ns.length > 0) {
      let skipLargest = false;
      producer.set(`w2.${e}.${opts.w2Ns[0]}`, `W2 ${e}`);
      jobs.push({
        name: `W2 ${e}`,
        async run() {
          const out: Record<string, number> = {};
          const ns = skipLargest ? opts.w2Ns.slice(0, -1) : opts.w2Ns;
          for (const n of ns) {
            const { ms, withinGrowth } = await dtasks.w2(engine, n, 1, runOptions);
            out[`w2.${e}.${n}`] = (ms * 1000) / n;
            if (withinGrowth !== undefined) out[`w2.${e}.${n}.within`] = withinGrowth;
            if (n === opts.w2Ns.at(-1) && ms > opts.w2MaxSeconds * 1000 && opts.w2Ns.length > 1) {
              skipLargest = true;
              slowW2.add(e);
            }
          }
          return out;
        },
      });
    }
    if (has("w3") && !paired("W3", e)) job(`W3 ${e}`, [`w3.${e}.in`], () => measureW3(engine));
    if (has("scale") && (e === "redis" || e === "postgres")) {
      producer.set(`w3.${e}.p1`, `W3 ${e} with 1 and 2 worker processes`);
      jobs.push({
        name: `W3 ${e} with 1 and 2 worker processes`,
        async run() {
          const one = await dtasks.w3Processes(engine, 1, opts.w3Count, opts.w3Steps, runOptions);
          const two = await dtasks.w3Processes(engine, 2, opts.w3Count, opts.w3Steps, runOptions);
          return {
            [`w3.${e}.p1`]: (opts.w3Count * 1000) / one,
            [`w3.${e}.p2`]: (opts.w3Count * 1000) / two,
            [`w3.${e}.scale`]: one / two,
          };
        },
      });
    }
  }
  // The bars against the peers: each is a pair measured back to back (which side goes first
  // alternates from round to round), so both see the same stretch of machine load.
  for (const [workload, engineId, peer] of PAIRS) {
    const engine = engines.find((x) => x.id === engineId);
    if (engine === undefined || !peers.includes(peer) || !has(workload.toLowerCase())) continue;
    const ours = workload === "W1" ? `w1.${engineId}` : `w3.${engineId}.in`;
    const theirs = workload === "W1" ? `w1.${peer}` : `w3.${peer}`;
    const sides = [
      () => (workload === "W1" ? measureW1(engine) : measureW3(engine)),
      () => measurePeer(peer, [workload]),
    ];
    job(`${workload} ${engineId} + ${peerName[peer]}`, [ours, theirs], async (round) => {
      const out: Record<string, number> = {};
      const failures: string[] = [];
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        try {
          Object.assign(out, await side());
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      if (out[ours] !== undefined && out[theirs] !== undefined)
        out[`pair.${workload}.${engineId}.${peer}`] =
          workload === "W1" ? out[theirs]! / out[ours]! : out[ours]! / out[theirs]!;
      if (failures.length > 0) throw Object.assign(new Error(failures.join("; ")), { partial: out });
      return out;
    });
  }
  // The peers' W2, for context.
  if (has("w2") && opts.peerW2Ns.length > 0)
    for (const peer of peers)
      job(
        `W2 ${peerName[peer]}`,
        opts.peerW2Ns.map((n) => `w2.${peer}.${n}`),
        () => measurePeer(peer, ["W2"]),
      );

  // ---- rounds, rotated
  const samples: Samples = new Map();
  const errors = new Map<string, string>();
  for (let round = 0; round < opts.rounds; round++) {
    const offset = Math.floor((round * jobs.length) / opts.rounds);
    const order = [...jobs.slice(offset), ...jobs.slice(0, offset)];
    for (const job of order) {
      progress(`round ${round + 1}/${opts.rounds}: ${job.name}`);
      const t = performance.now();
      const record = (out: Record<string, number>) => {
        for (const [k, v] of Object.entries(out)) samples.set(k, [...(samples.get(k) ?? []), v]);
      };
      try {
        record(await job.run(round));
      } catch (error) {
        record((error as { partial?: Record<string, number> }).partial ?? {});
        const message = `round ${round + 1}: ${(error as Error).message.replace(/\s+/g, " ").slice(0, 400)}`;
        if (!errors.has(job.name)) errors.set(job.name, message);
        progress(`  failed: ${message}`);
      }
      progress(`  ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  }
  rmSync(sqliteDir, { recursive: true, force: true });
  process.off("SIGINT", interrupted);
  process.off("SIGTERM", interrupted);

  // ---- the table
  const med = (key: string) => median(samples.get(key));
  const rows: string[][] = [];
  const notes: string[] = [];
  /** The number of a note, added if new. */
  const ref = (text: string) => {
    if (!notes.includes(text)) notes.push(text);
    return notes.indexOf(text) + 1;
  };
  /** `value`, or why it is missing: the unit (engine, peer) was unavailable or its job failed. */
  const cell = (value: string, unit: string, metric: string) => {
    if (!value.includes("—")) return value;
    const job = producer.get(metric) ?? "";
    const reason = unavailable.get(unit) ?? errors.get(job);
    return reason === undefined ? value : `${value} (did not run [${ref(`${job || unit}: ${reason}`)}])`;
  };
  const verdict = (ok: boolean | undefined) => (ok === undefined ? "n/a" : ok ? "met" : "**missed**");
  const engineName: Record<EngineId, string> = {
    "sqlite-full": "SQLite FULL",
    "sqlite-normal": "SQLite NORMAL",
    redis: "Redis",
    postgres: "PostgreSQL",
  };
  // Against the peers: the bars of the issue, then context.
  const versus = (workload: "W1" | "W3", engine: EngineId, peer: PeerId, bar: number | null) => {
    if (!opts.engines.includes(engine) || !opts.peers.includes(peer) || !has(workload.toLowerCase())) return;
    const w1 = workload === "W1";
    const ours = w1 ? `w1.${engine}` : `w3.${engine}.in`;
    const theirs = w1 ? `w1.${peer}` : `w3.${peer}`;
    const a = med(ours);
    const b = med(theirs);
    // Measured back to back: the median of the per-round ratios; else the ratio of the medians.
    const ratio =
      med(`pair.${workload}.${engine}.${peer}`) ??
      (a === undefined || b === undefined ? undefined : w1 ? b / a : a / b);
    const backToBack = samples.has(`pair.${workload}.${engine}.${peer}`);
    rows.push([
      `${workload} ${w1 ? "µs/step" : "flows/s"} — dtasks on ${engineName[engine]}${w1 ? "" : " (worker in process)"} vs ${peerName[peer]}${backToBack ? " (back to back)" : ""}`,
      cell(int(a), engine, ours),
      cell(int(b), peer, theirs),
      ratio === undefined ? "—" : `${ratio.toFixed(2)}× ${ratio >= 1 ? "faster" : "slower"}`,
      bar === null ? "(context)" : `≥ ${bar}× faster`,
      bar === null ? "" : verdict(ratio === undefined ? undefined : ratio >= bar),
    ]);
  };
  versus("W1", "postgres", "dbos", 2);
  versus("W3", "postgres", "dbos", 2);
  versus("W1", "sqlite-full", "restate", 3);
  versus("W1", "sqlite-normal", "restate", null);
  versus("W1", "redis", "restate", null);
  versus("W3", "sqlite-full", "restate", null);
  versus("W3", "redis", "restate", null);
  versus("W1", "redis", "dbos", null);
  versus("W3", "redis", "dbos", null);

  // Checkpoint vs raw, per engine.
  for (const id of opts.engines) {
    if (!has("checkpoint")) break;
    const ratio = med(`ckpt.${id}.ratio`);
    rows.push([
      `checkpoint µs — ${all[id].label}: a yield vs raw write+read of its ${snapshotBytes} B`,
      cell(int(med(`ckpt.${id}.dtasks`)), id, `ckpt.${id}.dtasks`),
      cell(int(med(`ckpt.${id}.raw`)), id, `ckpt.${id}.dtasks`),
      x(ratio),
      "≤ 1.5×",
      verdict(ratio === undefined ? undefined : ratio <= 1.5),
    ]);
    const strict = med(`ckpt.${id}.strictRatio`);
    if (strict !== undefined) {
      rows.push([
        `checkpoint µs — ${engineName[id]}: the same yields vs ${all[id].strictShape}`,
        cell(int(med(`ckpt.${id}.dtasks`)), id, `ckpt.${id}.dtasks`),
        cell(int(med(`ckpt.${id}.strict`)), id, `ckpt.${id}.dtasks`),
        x(strict),
        "(context)",
        "",
      ]);
    }
  }
  // W2 growth, per engine.
  const nFirst = opts.w2Ns[0];
  const nLast = opts.w2Ns.at(-1);
  for (const id of opts.w2Engines) {
    if (!has("w2") || !opts.engines.includes(id) || nFirst === undefined || nLast === undefined) continue;
    const first = med(`w2.${id}.${nFirst}`);
    const last = med(`w2.${id}.${nLast}`);
    const growth = first === undefined || last === undefined ? undefined : last / first;
    let label = `W2 µs/iteration at N = ${opts.w2Ns.map(int).join(" / ")} — ${engineName[id]}`;
    if (slowW2.has(id))
      label += ` [${ref(`W2 ${id}: N = ${int(nLast)} took over ${opts.w2MaxSeconds} s, so it ran in ${samples.get(`w2.${id}.${nLast}`)?.length ?? 0} round(s) only`)}]`;
    const within = med(`w2.${id}.${nLast}.within`);
    rows.push([
      label,
      cell(opts.w2Ns.map((n) => int(med(`w2.${id}.${n}`))).join(" / "), id, `w2.${id}.${nFirst}`),
      med("w2.floor") === undefined ? "" : `${int(med("w2.floor"))} (setTimeout(1) loop)`,
      `${x(growth)}${within === undefined ? "" : ` (within the N = ${int(nLast)} run: ${x(within)})`}`,
      `≤ 1.2× (N = ${int(nLast)} vs ${int(nFirst)})`,
      verdict(growth === undefined ? undefined : growth <= 1.2),
    ]);
  }
  for (const peer of opts.peers) {
    const ns = opts.peerW2Ns;
    if (!has("w2") || ns.length === 0) continue;
    const first = med(`w2.${peer}.${ns[0]}`);
    const last = med(`w2.${peer}.${ns.at(-1)}`);
    rows.push([
      `W2 µs/iteration at N = ${ns.map(int).join(" / ")} — ${peerName[peer]} (its 1 ms durable sleep)`,
      "",
      cell(ns.map((n) => int(med(`w2.${peer}.${n}`))).join(" / "), peer, `w2.${peer}.${ns[0]}`),
      ns.length > 1 && first !== undefined && last !== undefined ? x(last / first) : "",
      "(context)",
      "",
    ]);
  }
  // Throughput with 1 and 2 workers.
  for (const id of ["redis", "postgres"] as const) {
    if (!opts.engines.includes(id) || !has("w3")) continue;
    const inProcess = cell(int(med(`w3.${id}.in`)), id, `w3.${id}.in`);
    if (!has("scale")) {
      rows.push([`W3 flows/s — ${engineName[id]}: worker in process`, inProcess, "", "", "(reported)", ""]);
      continue;
    }
    const scaled = (["p1", "p2"] as const).map((k) => cell(int(med(`w3.${id}.${k}`)), id, `w3.${id}.p1`));
    rows.push([
      `W3 flows/s — ${engineName[id]}: worker in process / 1 worker process / 2 worker processes`,
      [inProcess, ...scaled].join(" / "),
      "",
      `${x(med(`w3.${id}.scale`))} (2 vs 1 process)`,
      "(reported)",
      "",
    ]);
  }
  for (const id of ["sqlite-full", "sqlite-normal"] as const) {
    if (!opts.engines.includes(id) || !has("w3")) continue;
    rows.push([
      `W3 flows/s — ${engineName[id]}: worker in process`,
      cell(int(med(`w3.${id}.in`)), id, `w3.${id}.in`),
      "",
      "",
      "(reported)",
      "",
    ]);
  }
  rows.push([
    "the machine during the run: fdatasync of 4 KB (µs), a sequential write as SQLite FULL and PostgreSQL commits pay it",
    "",
    int(med("disk.fdatasync")),
    "",
    "(reported)",
    "",
  ]);
  // Failures that left no hole in the table (a failed round among good ones) are listed too.
  for (const [job, message] of errors) ref(`${job}: ${message}`);
  for (const [unit, message] of unavailable) ref(`${unit}: ${message}`);

  const elapsed = (performance.now() - began) / 1000;
  const loadAfter = loadavg();
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; load average ${loadBefore[0]!.toFixed(1)} at start, ${loadAfter[0]!.toFixed(1)} at end`;
  const header = [
    `Run of ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, ${opts.rounds} round(s), ${(elapsed / 60).toFixed(1)} min. ${machine}.`,
    `Sizes: W1 ${int(opts.w1Steps)} steps; W2 N = ${opts.w2Ns.map(int).join(", ")} (peers ${opts.peerW2Ns.map(int).join(", ") || "—"}); W3 ${int(opts.w3Count)} flows × ${opts.w3Steps} steps; checkpoint ${int(opts.checkpointYields)} yields; worker concurrency ${opts.concurrency}. Medians of the rounds; the ratios of pairs measured back to back (marked so against the peers; checkpoint vs raw; 2 vs 1 worker process) are medians of the per-round ratios.`,
  ];
  const table = [
    "| measure | dtasks | reference | ratio | bar | |",
    "|---|--:|--:|--:|---|---|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
  const footer = notes.length > 0 ? ["", ...notes.map((n, i) => `[${i + 1}] ${n}`)] : [];
  for (const line of [...header, "", ...table, ...footer]) log(line);

  // Everything, for docs/benchmarks.md and later comparison.
  const outDir = join(ROOT, ".bench-out");
  mkdirSync(outDir, { recursive: true });
  const record = {
    startedAt: startedAt.toISOString(),
    elapsedSeconds: elapsed,
    machine,
    options: { ...opts, skip: [...opts.skip] },
    snapshotBytes,
    engines: Object.fromEntries(
      opts.engines.map((id) => [id, { label: all[id].label, raw: all[id].rawShape }]),
    ),
    unavailable: Object.fromEntries(unavailable),
    errors: Object.fromEntries(errors),
    samples: Object.fromEntries(samples),
    medians: Object.fromEntries([...samples].map(([k, v]) => [k, median(v)])),
    peers: Object.fromEntries(
      [...peerRuns].map(([p, runs]) => [p, runs.map((r) => ({ ...r, ms: Math.round(r.ms) }))]),
    ),
    table: [...header, "", ...table, ...footer].join("\n"),
  };
  const file = join(outDir, `peers-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(join(outDir, "peers-last.json"), readFileSync(file));
  log("");
  log(`(all samples: ${file.slice(ROOT.length + 1)})`);
}

/** µs per 4 KB write + fdatasync, overwriting a preallocated file: the disk's durable-write latency. */
function fdatasyncMicros(dir: string, ops: number): number {
  const path = join(dir, "fdatasync.probe");
  const block = Buffer.alloc(4096, 7);
  const fd = openSync(path, "w+");
  try {
    writeSync(fd, Buffer.alloc(4096 * ops));
    fsyncSync(fd);
    const began = performance.now();
    for (let i = 0; i < ops; i++) {
      writeSync(fd, block, 0, block.length, i * 4096);
      fdatasyncSync(fd);
    }
    return ((performance.now() - began) * 1000) / ops;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}
