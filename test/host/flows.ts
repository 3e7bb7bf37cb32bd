/**
 * D-async functions the host tests start. They record what they do in {@link trace} and announce
 * their callback ids in {@link callbacks} (by a key the test chooses), so a test can resume them.
 * Child processes (crash recovery, version mismatch) import this module too: same function ids.
 */
import { DCancellationTokenSource, DTask, dasync } from "dtasks";

/** Side effects, in order, by key. */
export const trace = new Map<string, string[]>();
/** Callback ids announced by `DTask.callback`, in order, by key. */
export const callbacks = new Map<string, string[]>();
/** Test hooks run inside callbacks (e.g. to read the store at that moment), by key. */
export const onCallback = new Map<string, (callbackId: string) => unknown>();

/** Where child processes send their trace (to their parent, on stdout). */
let sink: ((key: string, entry: string) => void) | undefined;
export function setSink(fn: (key: string, entry: string) => void): void {
  sink = fn;
}

export function log(key: string, entry: string): void {
  let list = trace.get(key);
  if (!list) trace.set(key, (list = []));
  list.push(entry);
  sink?.(key, entry);
}

export function announce(key: string, callbackId: string): unknown {
  let list = callbacks.get(key);
  if (!list) callbacks.set(key, (list = []));
  list.push(callbackId);
  return onCallback.get(key)?.(callbackId);
}

export function reset(): void {
  trace.clear();
  callbacks.clear();
  onCallback.clear();
}

// ---- already-finished roots (.NET §5.1 1–4, 13–15) ----

export const returns42 = dasync(async function returns42() {
  return 42;
});

export const awaitsCompleted = dasync(async function awaitsCompleted() {
  await DTask.completed;
  return await DTask.fromResult(42);
});

export const throwsRange = dasync(async function throwsRange(message: string) {
  throw new RangeError(message, { cause: new Error("the cause") });
});

export const awaitsFromError = dasync(async function awaitsFromError() {
  try {
    await DTask.fromError(new TypeError("inner"));
    return "not caught";
  } catch (error) {
    return `caught ${(error as Error).name}`;
  }
});

export const awaitsNativeTimer = dasync(async function awaitsNativeTimer() {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return 42;
});

const addOne = dasync(async function addOne(n: number) {
  return n + 1;
});

export const awaitsChild = dasync(async function awaitsChild() {
  const r = await addOne(42);
  return r;
});

// ---- durable leaves (5–12, 20–23) ----

export const yieldsOnce = dasync(async function yieldsOnce(key: string) {
  log(key, "before yield");
  await DTask.yield();
  log(key, "after yield");
  return 42;
});

export const yieldsTwice = dasync(async function yieldsTwice(key: string) {
  let n = 0;
  await DTask.yield();
  n++;
  await DTask.yield();
  n++;
  log(key, `yields ${n}`);
  return n;
});

export const delays = dasync(async function delays(key: string, duration: string) {
  log(key, "waiting");
  await DTask.delay(duration);
  log(key, "woke");
  return 42;
});

export const waitsForCallback = dasync(async function waitsForCallback(key: string) {
  const value = await DTask.callback<unknown>((id) => announce(key, id));
  log(key, "resumed");
  return value;
});

export const catchesCallbackFailure = dasync(async function catchesCallbackFailure(key: string) {
  try {
    await DTask.callback<unknown>((id) => announce(key, id));
    return "resumed";
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
});

export const callbackThrows = dasync(async function callbackThrows(key: string) {
  try {
    await DTask.callback<unknown>(() => {
      throw new Error(`the webhook for ${key} is down`);
    });
    return "resumed";
  } catch (error) {
    return `caught: ${(error as Error).message}`;
  }
});

/** A timer and a callback, in sequence: the order-approval shape. */
export const approval = dasync(async function approval(key: string, order: { id: string; total: number }) {
  const approved = await DTask.callback<boolean>((id) => announce(key, id));
  log(key, `decision ${approved}`);
  if (!approved) return { order: order.id, status: "refused" };
  await DTask.delay("1d");
  log(key, "shipped");
  return { order: order.id, status: "shipped" };
});

// ---- combinators (25–29, 48–53) ----

const branch = dasync(async function branch(key: string, r: number) {
  await DTask.yield();
  log(key, `branch ${r}`);
  return r;
});

export const allOfYields = dasync(async function allOfYields(key: string) {
  const t1 = branch(key, 1);
  const t2 = branch(key, 2);
  const results = await DTask.whenAll([t1, DTask.fromResult(3), t2]);
  return { results, same: results[0] === (await t1) && results[2] === t2.result };
});

export const allSynchronous = dasync(async function allSynchronous() {
  return await DTask.whenAll([addOne(1), addOne(2), DTask.fromResult(9)]);
});

export const anyOf = dasync(async function anyOf(key: string) {
  const approval = DTask.callback<string>((id) => announce(key, id));
  const timeout = DTask.delay("10m");
  const winner = await DTask.whenAny([approval, timeout]);
  return winner === timeout ? "timed out" : await approval;
});

export const anySynchronous = dasync(async function anySynchronous() {
  const winner = await DTask.whenAny([addOne(1), DTask.delay("1d")]);
  return winner.result;
});

/** The root returns while a background branch still waits: the branch is canceled, its finally runs. */
export const leavesBranch = dasync(async function leavesBranch(key: string) {
  await DTask.run(background(key));
  await DTask.yield();
  return "root done";
});

const background = dasync(async function background(key: string) {
  try {
    await DTask.delay("30d");
    log(key, "background woke");
  } finally {
    log(key, "background finally");
  }
});

/** Two callbacks at once: the second resume arrives while the run applying the first is in progress. */
export const twoCallbacks = dasync(async function twoCallbacks(key: string) {
  const first = DTask.callback<string>((id) => announce(`${key}:first`, id));
  const second = DTask.callback<string>((id) => announce(`${key}:second`, id));
  const [a, b] = await DTask.whenAll([first, second]);
  return `${a}+${b}`;
});

export const slowAfterCallback = dasync(async function slowAfterCallback(key: string) {
  const first = DTask.callback<string>((id) => announce(`${key}:first`, id));
  const second = DTask.callback<string>((id) => announce(`${key}:second`, id));
  await DTask.run(second); // started now (DTasks are cold), awaited later
  const a = await first;
  // In-process work while the run holds the lease: a resume of `second` arriving now is kept.
  await gate(key);
  const b = await second;
  return `${a}+${b}`;
});

/** Promises a test opens from outside, by key. */
export const gates = new Map<
  string,
  { opened: Promise<void>; open: () => void; reached: () => void; wasReached: Promise<void> }
>();

export function makeGate(key: string): { open: () => void; reached: Promise<void> } {
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const wasReached = new Promise<void>((resolve) => {
    reached = resolve;
  });
  gates.set(key, { opened, open, reached, wasReached });
  return { open, reached: wasReached };
}

function gate(key: string): Promise<void> {
  const g = gates.get(key);
  if (!g) return Promise.resolve();
  g.reached();
  return g.opened;
}

// ---- cancellation ----

export const cancelable = dasync(async function cancelable(key: string) {
  try {
    log(key, "waiting a week");
    await DTask.delay("7d");
    log(key, "woke");
    return "finished";
  } finally {
    log(key, "finally");
  }
});

export const cancelsItself = dasync(async function cancelsItself(key: string) {
  const source = await DCancellationTokenSource.create({ cancelAfter: "1h" });
  try {
    await DTask.delay("1d", source.token);
    return "not canceled";
  } catch (error) {
    log(key, (error as Error).name);
    return "canceled after an hour";
  }
});

// ---- state across suspensions ----

export const keepsLocals = dasync(async function keepsLocals(key: string) {
  const started = new Date(Date.UTC(2030, 0, 1));
  const seen = new Map<string, number>([["a", 1]]);
  const tags = new Set(["x"]);
  await DTask.callback((id) => announce(key, id));
  seen.set("b", 2);
  return { started: started.toISOString(), seen: [...seen], tags: [...tags] };
});

export class Mailer {
  readonly sent: string[] = [];
  constructor(readonly name: string) {}
  send(to: string): void {
    this.sent.push(to);
  }
}

export const usesService = dasync(async function usesService(mailer: Mailer, to: string) {
  await DTask.delay("1h");
  mailer.send(to);
  return mailer.name;
});

export const holdsFunction = dasync(async function holdsFunction(key: string) {
  const callback = () => key;
  await DTask.yield();
  return callback();
});

/** Loops over yields and counts them in a local: a double-applied segment would miscount. */
export const counts = dasync(async function counts(key: string, n: number, workMs: number) {
  let done = 0;
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, workMs));
    log(key, `step ${i}`);
    await DTask.yield();
    done++;
  }
  return done;
});

/** Yields, then waits in process on the gate `key` (a run in progress that the test controls). */
export const gated = dasync(async function gated(key: string) {
  await DTask.yield();
  log(key, "running");
  await gate(key);
  log(key, "through the gate");
  return key;
});

/** One long in-process segment: longer than a short lease, so only renewal keeps the flow. */
export const longSegment = dasync(async function longSegment(key: string, ms: number) {
  await DTask.yield();
  log(key, "segment start");
  await new Promise((resolve) => setTimeout(resolve, ms));
  log(key, "segment end");
  return "done";
});

const failsAfterYield = dasync(async function failsAfterYield(key: string) {
  await DTask.yield();
  log(key, "child throws");
  throw new TypeError(`child of ${key} failed`);
});

/** An exception escaping a non-root frame after it suspended reaches the root (uncaught here). */
export const childFails = dasync(async function childFails(key: string, catchIt: boolean) {
  try {
    await failsAfterYield(key);
    return "no error";
  } catch (error) {
    if (!catchIt) throw error;
    return `caught ${(error as Error).message}`;
  }
});

/** whenAny over branches that no local holds: the winner is still the task object given. */
export const anyUnheld = dasync(async function anyUnheld(key: string) {
  const winner = await DTask.whenAny([branch(key, 7), DTask.delay("1d")]);
  return winner.result;
});
