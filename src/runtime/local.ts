/**
 * The stack driver: runs a d-async call's frames in process until the root returns, throws, or
 * reaches a durable wait — where the whole stack becomes a storable snapshot. Ordinary awaited
 * values are awaited natively by the compiled steps themselves (V8's own await, no trip through
 * the driver), so interleaving with other async code is as in native async functions. This is the
 * engine's innermost loop; flows, branches and storage build on it.
 *
 * @module
 */
import { DCall, DTask } from "../core/dtask.js";
import { DTaskError } from "../core/errors.js";
import {
  type Frame,
  type FrameRecord,
  type LoopCursor,
  STEP_RETURN,
  STEP_THROW,
  type StepIO,
} from "../core/protocol.js";
import { forwarderFrame, isThenable } from "./forward.js";
import { frameRecord, liveSlots, newFrame, restoreFrame } from "./frames.js";
import { io } from "./io.js";

/** Deepest stack of d-async frames a task may have (native code would overflow far earlier). */
export const MAX_FRAMES = 10_000;

/** Turns snapshot values into text and back. */
export interface SnapshotCodec {
  encode(value: unknown): string;
  decode(text: string): unknown;
}

/** What the driver does when a frame awaits a DTask that it does not run inline. */
export type AwaitDecision = { v: unknown; t: boolean } | "park";

export interface DriveOptions {
  /**
   * Decides the await of a DTask that is not a pending d-async call (those run inline, on the
   * same stack): its outcome now, or "park" — the stack stops and the driver returns
   * `suspended` with the DTask as its wait. Default: completed tasks give their outcome, others park.
   */
  onAwait?: (task: DTask<unknown>) => AwaitDecision;
  /** Told of every d-async call pushed onto the stack (for task identity). */
  onCall?: (call: DCall<unknown>) => void;
  /**
   * Test mode: after every ordinary await, the awaiting frame is reduced to its live slots, which
   * are encoded and decoded again in place. A liveness or codec mistake then shows as a wrong result.
   */
  chaos?: SnapshotCodec;
}

export type Outcome =
  | { status: "succeeded"; value: unknown }
  | { status: "faulted"; error: unknown }
  | { status: "suspended"; stack: Frame[]; calls: (DCall<unknown> | null)[]; wait: DTask<unknown> };

/** A suspended stack as storable data: frames outer to inner, and the durable wait. */
export interface StackSnapshot {
  stack: FrameRecord[];
  wait: unknown;
}

/**
 * Runs `stack` (outermost first) from the outcome of its innermost frame's last await.
 * `calls[i]` is the DCall that frame `i` runs, when known, so its status can be kept current.
 */
export function drive(
  stack: Frame[],
  calls: (DCall<unknown> | null)[],
  value: unknown,
  isThrow: boolean,
  options: DriveOptions = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    new Driven(stack, calls, options, resolve, reject).run(value, isThrow);
  });
}

const RESOLVED = Promise.resolve();
/** `then` as it was when the runtime loaded (code that patches Promise.prototype.then later does not see the driver's ticks). */
const then = Promise.prototype.then;

/** No exit reported yet: the step is in one of its own native awaits. */
const PENDING = -1;

/**
 * One running stack: the driver loop, and the {@link StepIO} its steps talk to.
 *
 * A compiled (async) step awaits ordinary values itself, natively, and leaves its frame only by
 * `y(signal, value)`: at a DTask await, a return or an exception. When that happens during the
 * step call, `run` goes on from it; when it happens later, in the microtask after one of the step's
 * own awaits, `y` goes on from it there — the same tick at which the native code would go on.
 */
class Driven implements StepIO {
  v: unknown = undefined;
  t = false;
  /** The exit the current step reported, or PENDING. */
  private signal = PENDING;
  /** A step call is on the stack (its exit is read by `run` when the call returns). */
  private inStep = false;
  /** Chaos mode: every await goes through the driver. */
  readonly all: boolean;

  constructor(
    private readonly stack: Frame[],
    private readonly calls: (DCall<unknown> | null)[],
    private readonly options: DriveOptions,
    private readonly resolve: (outcome: Outcome) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.all = options.chaos !== undefined;
  }

  d(value: unknown): boolean {
    return this.all || DTask.isDTask(value);
  }

  y(signal: 0 | 1 | 2, value: unknown): void {
    this.v = value;
    this.signal = signal;
    if (this.inStep) return;
    // After one of the step's native awaits: the driver goes on here, in this microtask.
    try {
      if (this.exit(signal)) this.run(this.v, this.t);
    } catch (error) {
      this.reject(error);
    }
  }

  /**
   * Steps the top frame from (v, t), and on through every exit reached during the step calls;
   * returns when the stack waits (natively, a tick, or parked) or is done.
   */
  run(v: unknown, t: boolean): void {
    try {
      for (;;) {
        const stack = this.stack;
        const frame = stack[stack.length - 1]!;
        let signal: number;
        this.signal = PENDING;
        this.inStep = true;
        try {
          this.v = v;
          this.t = t;
          const returned = frame.d.step(frame, this);
          // A synchronous step (the runtime's own) returns its exit; an async one reported it.
          signal = typeof returned === "number" ? returned : this.signal;
        } catch (error) {
          this.v = error;
          signal = STEP_THROW;
        }
        this.inStep = false;
        if (signal === PENDING || !this.exit(signal)) return;
        v = this.v;
        t = this.t;
      }
    } catch (error) {
      this.inStep = false;
      this.reject(error);
    }
  }

  /**
   * Acts on the top frame's exit (its value in `v`). True: step the (new) top frame now from
   * (`v`, `t`). False: the stack goes on later (after a tick, a native await) or has ended.
   */
  private exit(signal: number): boolean {
    const stack = this.stack;
    if (signal === STEP_THROW) {
      const error = this.v;
      stack.pop();
      this.calls.pop()?._fail(error);
      if (stack.length === 0) {
        this.resolve({ status: "faulted", error });
        return false;
      }
      // The awaiting parent sees the rejection one tick later, as with a native async callee.
      this.later(error, true);
      return false;
    }
    if (signal === STEP_RETURN) {
      const result = this.v;
      if (isThenable(result)) {
        stack[stack.length - 1] = forwarderFrame(result);
        return this.go(undefined, false);
      }
      stack.pop();
      this.calls.pop()?._succeed(result);
      if (stack.length === 0) {
        this.resolve({ status: "succeeded", value: result });
        return false;
      }
      // The parent resumes one tick later, as when awaiting a native async callee's promise.
      this.later(result, false);
      return false;
    }
    const awaited = this.v;
    if (
      typeof awaited === "object" &&
      awaited !== null &&
      !(awaited instanceof Promise) &&
      DTask.isDTask(awaited)
    ) {
      if (awaited instanceof DCall && awaited.status === "pending") {
        if (stack.length >= MAX_FRAMES) {
          // Native code would overflow the call stack; a frame stack on the heap would grow until
          // the process runs out of memory. Fail the call at its await instead, catchably.
          this.later(new RangeError(`Maximum d-async call depth exceeded (${MAX_FRAMES} frames)`), true);
          return false;
        }
        awaited._status = "running";
        this.options.onCall?.(awaited);
        stack.push(newFrame(awaited));
        this.calls.push(awaited);
        return this.go(undefined, false);
      }
      const decision = this.options.onAwait ? this.options.onAwait(awaited) : defaultDecision(awaited);
      if (decision === "park") {
        this.resolve({ status: "suspended", stack, calls: this.calls, wait: awaited });
        return false;
      }
      // The outcome as it is: a DTask result (whenAny's winner, run's task) is a value, not
      // something to adopt. One tick, as for a settled promise.
      this.later(decision.v, decision.t);
      return false;
    }
    // An ordinary value through the driver (a synchronous step's await, or chaos mode).
    void this.native(awaited);
    return false;
  }

  private go(v: unknown, t: boolean): true {
    this.v = v;
    this.t = t;
    return true;
  }

  /**
   * Steps the top frame one tick from now: a reaction to a settled promise runs where the
   * continuation of an `await null` would (cheaper than an async function: child-call loops
   * measured 23 vs 27 ms per 100,000 calls; `queueMicrotask` was slower still, 40 ms).
   */
  private later(v: unknown, t: boolean): void {
    then.call(RESOLVED, () => this.run(v, t));
  }

  /** Awaits `awaited` natively (the ticks of `await`), then steps the top frame with its outcome. */
  private async native(awaited: unknown): Promise<void> {
    let v: unknown;
    let t: boolean;
    try {
      v = await awaited;
      t = false;
    } catch (error) {
      v = error;
      t = true;
    }
    if (this.options.chaos) {
      try {
        roundTrip(this.stack[this.stack.length - 1]!, this.options.chaos);
      } catch (error) {
        this.reject(error);
        return;
      }
    }
    this.run(v, t);
  }

  // The rest of the step IO: exception dispatch and loop cursors (io.ts).
  h(frame: Frame, error: unknown): number {
    return io.h(frame, error);
  }
  iter(iterable: unknown): LoopCursor {
    return io.iter(iterable);
  }
  aiter(iterable: unknown): LoopCursor {
    return io.aiter(iterable);
  }
  keys(object: unknown): LoopCursor {
    return io.keys(object);
  }
  next(cursor: LoopCursor): IteratorResult<unknown> | Promise<IteratorResult<unknown>> {
    return io.next(cursor);
  }
  took(cursor: LoopCursor, result: unknown): IteratorResult<unknown> {
    return io.took(cursor, result);
  }
  close(cursor: LoopCursor | undefined, suppress?: boolean): unknown {
    return io.close(cursor, suppress);
  }
}

function defaultDecision(task: DTask<unknown>): AwaitDecision {
  if (!task.isCompleted) return "park";
  return task.isSucceeded ? { v: task.result, t: false } : { v: task.error, t: true };
}

const hoistedSlots = new WeakMap<Frame["d"], Set<string>>();

/** Slots of nested function declarations: re-created, never stored, so chaos mode leaves them. */
function hoisted(frame: Frame): Set<string> {
  let slots = hoistedSlots.get(frame.d);
  if (!slots) {
    const probe: Record<string, unknown> = {};
    frame.d.hoist?.(probe, frame);
    slots = new Set(Object.keys(probe));
    hoistedSlots.set(frame.d, slots);
  }
  return slots;
}

/** Chaos mode: keep only the live slots, and those only as they come back from the codec. */
function roundTrip(frame: Frame, codec: SnapshotCodec): void {
  const live = liveSlots(frame);
  const stored = codec.decode(codec.encode({ l: live.map((slot) => frame.l[slot]), c: frame.c })) as {
    l: unknown[];
    c: Frame["c"];
  };
  const fresh = frame.d.init();
  const keep = hoisted(frame);
  for (const slot in frame.l) if (!keep.has(slot)) frame.l[slot] = fresh[slot];
  live.forEach((slot, i) => {
    frame.l[slot] = stored.l[i];
  });
  frame.c = stored.c ?? null;
}

/** Starts a d-async call and runs it until it finishes or suspends durably. */
export function start(call: DCall<unknown>, options?: DriveOptions): Promise<Outcome> {
  if (call.status !== "pending") {
    throw new DTaskError("DT206", `the DTask of '${call.descriptor.id}' was already started`);
  }
  call._status = "running";
  return drive([newFrame(call)], [call], undefined, false, options);
}

/** The storable form of a suspended outcome. */
export function snapshotOf(outcome: Extract<Outcome, { status: "suspended" }>): StackSnapshot {
  return { stack: outcome.stack.map(frameRecord), wait: outcome.wait };
}

/** Resumes a stored stack with the outcome of its durable wait. */
export function resume(
  snapshot: StackSnapshot,
  outcome: { value: unknown } | { error: unknown },
  options?: DriveOptions,
): Promise<Outcome> {
  const stack = snapshot.stack.map(restoreFrame);
  const isThrow = "error" in outcome;
  return drive(
    stack,
    stack.map(() => null),
    isThrow ? outcome.error : outcome.value,
    isThrow,
    options,
  );
}
