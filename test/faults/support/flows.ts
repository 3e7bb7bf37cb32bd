/**
 * The d-async functions of the fault suite and the multi-worker tests. Worker PROCESSES import this
 * module (same function ids as in the test process). What the flows do outside the store (their
 * side effects, the callback ids they announce, the time a timer woke them) goes to {@link effect},
 * which each process points at a log file of its own: an append-only record, read by the test, of
 * everything that ran, in which process, when.
 */
import { DTask, dasync } from "dtasks";

export interface Effect {
  /** The flow's key (its id). */
  k: string;
  /** What happened. */
  e: string;
  /** A number that goes with it (a lateness, a time). */
  n?: number;
}

let sink: ((effect: Effect) => void) | undefined;

/** Where this process's effects go. */
export function setEffects(fn: (effect: Effect) => void): void {
  sink = fn;
}

export function effect(k: string, e: string, n?: number): void {
  sink?.(n === undefined ? { k, e } : { k, e, n });
}

// ---- the fault suite's flow ----

/** How a job ends: a callback the driver resumes, one it lets time out, or a race of children. */
export type JobMode = "resume" | "timeout" | "race";

export function jobMode(i: number): JobMode {
  return (["resume", "resume", "race", "timeout"] as const)[i % 4]!;
}

/** The value the driver resumes job `i`'s callback with. */
export function resumeValue(i: number): number {
  return 3 * i + 1;
}

/** What job `i` must return. */
export function expectedJob(i: number, mode: JobMode = jobMode(i)): number {
  const x = 2 * i + i * i; // pair: leaf(i) + square(i)
  const y = 2 * (i + 1); // leaf(i + 1)
  const v = mode === "resume" ? resumeValue(i) : mode === "race" ? 6 : -1;
  return x + y + v;
}

const square = dasync(async function square(n: number) {
  return n * n;
});

/** A child that suspends on a timer. */
const leaf = dasync(async function leaf(n: number, ms: number) {
  await DTask.delay(ms);
  return n * 2;
});

/** A child that calls a suspending child, yields, then calls one that does not suspend. */
const pair = dasync(async function pair(n: number, ms: number) {
  const a = await leaf(n, ms);
  await DTask.yield();
  const b = await square(n);
  return a + b;
});

/**
 * Delays, child d-async calls, a yield, `whenAll` of two branches, then `whenAny`: a callback raced
 * against a timeout (resumed by the driver, or left to time out), or a child raced against a long
 * delay. Records `done <result>` as its last side effect.
 */
export const job = dasync(async function job(key: string, i: number, mode: JobMode) {
  const ms = 50 + (i % 7) * 120;
  const [x, y] = await DTask.whenAll([pair(i, ms), leaf(i + 1, 2 * ms)]);
  let v: number;
  if (mode === "race") {
    const fast = leaf(3, 100);
    const slow = DTask.delay("10m");
    const winner = await DTask.whenAny([fast, slow]);
    v = winner === fast ? fast.result : -100;
  } else {
    const reply = DTask.callback<number>((id) => effect(key, `callback ${id}`));
    const timeout = DTask.delay(mode === "resume" ? "10m" : "300ms");
    const winner = await DTask.whenAny([reply, timeout]);
    v = winner === reply ? await reply : -1;
  }
  const result = x + y + v;
  effect(key, `done ${result}`);
  return result;
});

// ---- the multi-worker tests' flows ----

/**
 * `steps` segments of `workMs` in-process work each, each after a short durable delay (so that any
 * worker may run the next one). Each segment records when it started and ended (wall clock,
 * sub-millisecond): two runs of one flow must never overlap, whichever processes run them.
 */
export const segments = dasync(async function segments(key: string, steps: number, workMs: number) {
  let done = 0;
  for (let i = 0; i < steps; i++) {
    await DTask.delay(5);
    effect(key, `enter ${i}`, wallClock());
    await new Promise((resolve) => setTimeout(resolve, workMs));
    effect(key, `exit ${i}`, wallClock());
    done++;
  }
  return done;
});

/** Sleeps `ms` (durable), then reports how late the timer woke it, in ms. */
export const timed = dasync(async function timed(key: string, ms: number) {
  const due = Date.now() + ms;
  await DTask.delay(ms);
  const late = Date.now() - due;
  effect(key, "woke", late);
  return late;
});

/** Yields `n` times in a row: it always has work, and would starve others if claiming were unfair. */
export const hog = dasync(async function hog(key: string, n: number) {
  for (let i = 0; i < n; i++) await DTask.yield();
  effect(key, "hog done");
  return n;
});

/** One short delay: a flow that must get its turn among hogs. */
export const victim = dasync(async function victim(key: string) {
  const since = Date.now();
  await DTask.delay(1);
  const waited = Date.now() - since;
  effect(key, "victim ran", waited);
  return waited;
});

/** Flows running in this process right now (for bounded concurrency). */
let inFlight = 0;
let maxInFlight = 0;
export function concurrencySeen(): { now: number; max: number } {
  return { now: inFlight, max: maxInFlight };
}
export function resetConcurrency(): void {
  maxInFlight = inFlight;
}

/** One long in-process segment of `ms`, counted in {@link concurrencySeen} while it runs. */
export const busy = dasync(async function busy(key: string, ms: number) {
  await DTask.yield();
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  effect(key, "busy", inFlight);
  try {
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    inFlight--;
  }
  return ms;
});

/** A segment of `ms` in process (longer than a lease: only renewal keeps the flow), then the pid. */
export const slowStep = dasync(async function slowStep(key: string, ms: number) {
  await DTask.yield();
  effect(key, "slow start", process.pid);
  await new Promise((resolve) => setTimeout(resolve, ms));
  effect(key, "slow end", process.pid);
  return process.pid;
});

/** A callback, then a delay: resumed once, the rest of the flow runs on any worker. */
export const approve = dasync(async function approve(key: string) {
  const decision = await DTask.callback<string>((id) => effect(key, `callback ${id}`));
  await DTask.delay(20);
  return `approved by ${decision}`;
});

/** Retention's worst case: a callback and a timer raced, a background branch, a failure. */
export const leftovers = dasync(async function leftovers(key: string, fail: boolean) {
  await DTask.run(background());
  const reply = DTask.callback<string>((id) => effect(key, `callback ${id}`));
  const winner = await DTask.whenAny([reply, DTask.delay("30s")]);
  if (fail) throw new Error(`${key} failed on purpose`);
  return winner === reply ? await reply : "timed out";
});

const background = dasync(async function background() {
  await DTask.delay("1h");
  return "never";
});

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
function wallClock(): number {
  return performance.timeOrigin + performance.now();
}
