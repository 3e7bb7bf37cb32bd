/**
 * dtasks runs of the peer workloads on one engine: a host with a worker in this process (W1, W2,
 * W3, checkpoint), or a host without a worker driving worker processes (W3 scale-out).
 *
 * Each measurement opens a fresh namespace, warms up (connections, prepared statements, schema,
 * JIT) with a small run of the same workload, then times one run from `host.start` until
 * `flow.result()` resolves, as the peer harness does.
 *
 * @module
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createHost, memoryStore, type Store } from "dtasks";
import type { Engine, StoreSpec } from "./engines.js";
import { openStore } from "./engines.js";
import { checkpointFlow, checkpointPayload, seqFlow, sleepFlow, sleepMarks } from "./workloads.js";

export interface RunOptions {
  /** The worker's `concurrency`. */
  concurrency: number;
}

type Host = ReturnType<typeof createHost>;

/** Runs `body` with a host (and a worker in this process unless `worker` is false) on a fresh namespace. */
async function withHost<T>(
  engine: Engine,
  tag: string,
  options: RunOptions & { worker?: boolean },
  body: (host: Host, spec: StoreSpec) => Promise<T>,
): Promise<T> {
  const spec = engine.spec(tag);
  const host = createHost({ store: openStore(spec) });
  const worker =
    options.worker === false ? undefined : host.startWorker({ concurrency: options.concurrency });
  try {
    return await body(host, spec);
  } finally {
    await worker?.stop();
    await host.close();
    await engine.cleanup(spec);
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const began = performance.now();
  await fn();
  return performance.now() - began;
}

async function runOne(host: Host, call: Parameters<Host["start"]>[0]): Promise<unknown> {
  return await (await host.start(call)).result();
}

async function runMany(host: Host, count: number, steps: number): Promise<void> {
  const flows = await Promise.all(Array.from({ length: count }, () => host.start(seqFlow(steps))));
  const results = await Promise.all(flows.map((flow) => flow.result()));
  const expected = (steps * (steps + 1)) / 2;
  if (results.some((r) => r !== expected)) throw new Error(`W3: a flow returned a wrong result`);
}

/** W1: ms for one flow of `steps` sequential steps. */
export async function w1(engine: Engine, steps: number, options: RunOptions): Promise<number> {
  return await withHost(engine, "w1", options, async (host) => {
    await runOne(host, seqFlow(Math.min(50, steps)));
    let result: unknown;
    const ms = await timed(async () => {
      result = await runOne(host, seqFlow(steps));
    });
    if (result !== (steps * (steps + 1)) / 2) throw new Error(`W1: wrong result ${String(result)}`);
    return ms;
  });
}

/**
 * W2: ms for one flow of `n` durable sleeps of `sleepMs` (a fresh namespace), and within that run,
 * the mean time of the last tenth of its iterations ÷ that of the first tenth (`withinGrowth`):
 * whether an iteration costs more once the flow has a long history, free of the run's fixed costs
 * (start, first claim, result notification) and of the load drifting between two separate runs.
 */
export async function w2(
  engine: Engine,
  n: number,
  sleepMs: number,
  options: RunOptions,
): Promise<{ ms: number; withinGrowth: number | undefined }> {
  return await withHost(engine, `w2_${n}`, options, async (host) => {
    await runOne(host, sleepFlow(10, sleepMs));
    sleepMarks.length = 0;
    const ms = await timed(() => runOne(host, sleepFlow(n, sleepMs)));
    const marks = sleepMarks.splice(0);
    const window = Math.floor(n / 10);
    if (marks.length !== n || window < 10) return { ms, withinGrowth: undefined };
    const first = marks[window]! - marks[0]!;
    const last = marks[n - 1]! - marks[n - 1 - window]!;
    return { ms, withinGrowth: last / first };
  });
}

/** W3: ms for `count` concurrent flows of `steps` steps, with the worker in this process. */
export async function w3(engine: Engine, count: number, steps: number, options: RunOptions): Promise<number> {
  return await withHost(engine, "w3", options, async (host) => {
    await runMany(host, Math.min(50, count), steps);
    return await timed(() => runMany(host, count, steps));
  });
}

/**
 * W3 with `processes` worker processes and no worker here: this process only starts the flows
 * (`host.start` runs each flow until its first durable wait, as it always does) and waits for
 * their results; the worker processes claim and run the rest.
 */
export async function w3Processes(
  engine: Engine,
  processes: number,
  count: number,
  steps: number,
  options: RunOptions,
): Promise<number> {
  return await withHost(engine, `w3p${processes}`, { ...options, worker: false }, async (host, spec) => {
    const children = await Promise.all(
      Array.from({ length: processes }, () => spawnWorker(spec, options.concurrency)),
    );
    try {
      await runMany(host, Math.min(50, count), steps);
      return await timed(() => runMany(host, count, steps));
    } finally {
      await Promise.all(children.map(stopWorker));
    }
  });
}

/** Checkpoint: µs per `await DTask.yield()` of a flow with ~1 KB of live state, `n` yields. */
export async function checkpoint(engine: Engine, n: number, options: RunOptions): Promise<number> {
  return await withHost(engine, "ckpt", options, async (host) => {
    await runOne(host, checkpointFlow(Math.min(50, n), checkpointPayload()));
    const ms = await timed(() => runOne(host, checkpointFlow(n, checkpointPayload())));
    return (ms * 1000) / n;
  });
}

/**
 * The snapshot bytes a checkpoint of {@link checkpointFlow} commits (engine-independent: the host
 * encodes, the store stores bytes), captured from a memory store's commits.
 */
export async function checkpointSnapshot(): Promise<string | Uint8Array> {
  const inner = memoryStore();
  let captured: string | Uint8Array | undefined;
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== "commit" || typeof value !== "function")
        return typeof value === "function" ? value.bind(target) : value;
      return (input: Parameters<Store["commit"]>[0]) => {
        if (input.keepLeaseMs != null && input.snapshot != null) captured = input.snapshot;
        return value.call(target, input);
      };
    },
  });
  const host = createHost({ store });
  const worker = host.startWorker({ concurrency: 1 });
  try {
    await runOne(host, checkpointFlow(3, checkpointPayload()));
  } finally {
    await worker.stop();
    await host.close();
  }
  if (captured === undefined) throw new Error("checkpoint: no checkpoint commit was seen");
  return captured;
}

const WORKER_SCRIPT = fileURLToPath(new URL("./worker-process.ts", import.meta.url));

/** Starts a worker process on the store `spec` names; resolves once its worker is running. */
function spawnWorker(spec: StoreSpec, concurrency: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER_SCRIPT, [JSON.stringify({ spec, concurrency })], {
      execArgv: process.execArgv.filter((arg) => !arg.startsWith("--cpu-prof")),
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error("worker process did not start within 60 s"));
    }, 60_000);
    child.once("message", (message) => {
      clearTimeout(timer);
      if ((message as { ready?: boolean }).ready) resolve(child);
      else reject(new Error(`worker process: ${JSON.stringify(message)}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited before it was ready (code ${code}, signal ${signal})`));
    });
  });
}

function stopWorker(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.send("stop");
  });
}
