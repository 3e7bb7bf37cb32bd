/**
 * The protocol between compiled code and the runtime. The compiler turns every d-async function
 * into a {@link FunctionDescriptor} passed to `dasync(...)`; the runtime drives its
 * {@link StepFunction} over a {@link Frame}. This file is the whole contract: the compiler emits
 * nothing else that the runtime must understand, and both sides import these names from here.
 *
 * Versioned by {@link PROTOCOL_VERSION}: a descriptor with another `$dtask` number is refused.
 *
 * @module
 */

/**
 * Bumped on any change to the descriptor, frame layout or step calling convention.
 * 2: step functions are async and await ordinary values natively (see {@link StepFunction}).
 */
export const PROTOCOL_VERSION = 2;

/** How a step leaves its frame: returned by a synchronous step, or reported by `io.y(signal, value)`. */
export const STEP_AWAIT = 1; // the frame awaits the value (a DTask); call `step` again with the outcome
export const STEP_RETURN = 0; // the frame returned the value
export const STEP_THROW = 2; // the frame threw the value (reported by `io.y` only)

/** Completion record kinds, kept in `frame.c[k]` while a `finally` block runs. */
export const COMPLETION_THROW = 1; // { t: 1, v: error }
export const COMPLETION_RETURN = 2; // { t: 2, v: value }
export const COMPLETION_JUMP = 3; // { t: 3, s: target state }

export type CompletionRecord =
  | { t: typeof COMPLETION_THROW; v: unknown }
  | { t: typeof COMPLETION_RETURN; v: unknown }
  | { t: typeof COMPLETION_JUMP; s: number };

/** The slots of a frame: one property per local of the d-async function (renamed on shadowing). */
export type Locals = Record<string, unknown>;

/**
 * One d-async call in progress. Everything in it but `d` is data, so a suspended frame is stored
 * as `{ fn: d.id, v: d.version, s, l: <live slots only>, c, self }`.
 */
export interface Frame {
  /** The function being run. */
  d: FunctionDescriptor;
  /** The state: which case of the step function runs next. */
  s: number;
  /** The slots. */
  l: Locals;
  /** The call's arguments until state 0 has bound them to parameters; then null. */
  a: unknown[] | null;
  /** `this` of a d-async method; undefined for functions. */
  self: unknown;
  /** Completion records of the `try...finally` statements being unwound, by try index; lazily made. */
  c: (CompletionRecord | undefined)[] | null;
}

/**
 * The services a step function needs from the runtime: one object per running stack (the driver's).
 */
export interface StepIO {
  /**
   * In: the outcome of the frame's last await (a value, or with `t` an exception), set by the
   * driver before it calls the step. Out, for a synchronous step: the value awaited (after
   * `return STEP_AWAIT`) or returned (after `return STEP_RETURN`).
   */
  v: unknown;
  /** In: `v` is an exception, to be thrown at the frame's state. */
  t: boolean;
  /**
   * Whether the awaited value goes to the driver (a DTask: it may suspend the stack durably) rather
   * than being awaited natively by the step. The frame is then left by `y(STEP_AWAIT, value)`.
   */
  d(value: unknown): boolean;
  /**
   * `d` of a native promise (which is never a DTask): false, but true in the driver's test mode
   * where every await goes through it. Read by the compiled fast path,
   * `_a instanceof Promise ? _io.all : _io.d(_a)`.
   */
  all: boolean;
  /**
   * An async step leaves its frame: STEP_AWAIT (a value `d` accepted), STEP_RETURN or STEP_THROW.
   * Called synchronously during the step call, or later, after the step's own native awaits: then
   * the driver carries on inside this call, in the same microtask, as the native code would.
   */
  y(signal: 0 | 1 | 2, value: unknown): void;
  /**
   * Exception dispatch: finds the handler of an exception thrown at state `frame.s` in the
   * function's static table, stores the exception (catch slot or completion record) and returns
   * the state to continue at; rethrows when no handler of this frame covers the state.
   */
  h(frame: Frame, error: unknown): number;
  /** Starts a `for-of` over an exploded body: an array cursor (storable) or a native iterator. */
  iter(iterable: unknown): LoopCursor;
  /** Starts a `for await` over an exploded body. */
  aiter(iterable: unknown): LoopCursor;
  /** Keys of a `for-in` over an exploded body, snapshotted as a storable cursor. */
  keys(object: unknown): LoopCursor;
  /** The next step of a cursor: `{ done, value }`, or a promise of it for async iterators. */
  next(cursor: LoopCursor): IteratorResult<unknown> | Promise<IteratorResult<unknown>>;
  /** Takes the awaited result of `next` in a `for await` (checks it, notes that the call returned). */
  took(cursor: LoopCursor, result: unknown): IteratorResult<unknown>;
  /**
   * Closes a cursor on early exit (calls the iterator's `return()` when it has one). With
   * `suppress` (the loop is left by an exception) an error from `return()` is ignored.
   */
  close(cursor: LoopCursor | undefined, suppress?: boolean): unknown;
}

/**
 * A loop cursor. Over arrays it is `{ $cur: "array", a, i }` and stores in a snapshot; over other
 * iterables it wraps a live iterator, which cannot be stored.
 */
export type LoopCursor =
  | { $cur: "array"; a: unknown[]; i: number; w?: true }
  | { $cur: "keys"; k: string[]; o: unknown; i: number }
  | {
      $cur: "iter";
      it: Iterator<unknown> | AsyncIterator<unknown>;
      async: boolean;
      done?: true;
      w?: true;
      p?: true;
    };

/**
 * One compiled state machine: `step(frame, io)` runs the frame from `frame.s`; `io.v`/`io.t` carry
 * the outcome of the previous await into the resume state.
 *
 * The compiler emits async steps (plain functions when the body has no await): an ordinary
 * awaited value (not a DTask, see `io.d`) is awaited natively inside the step, with `frame.s`
 * already at the resume state and the live slots in `frame.l`, so the frame is storable at every
 * await; the step leaves the frame only through `io.y` (a DTask awaited, a return, an exception),
 * and what it returns (its promise) means nothing.
 * A step that returns a number (the runtime's own forwarder) returns {@link STEP_AWAIT} or
 * {@link STEP_RETURN} with the value in `io.v`, and throws what escapes the frame.
 */
export type StepFunction = (frame: Frame, io: StepIO) => 0 | 1 | Promise<void> | void;

/**
 * A row of the static exception table: `[tryStart, catchStart, finallyStart, end, catchSlot, k]`.
 * States are numbered in source order, so the try block is `[tryStart, catchStart|finallyStart|end)`,
 * the catch block `[catchStart, finallyStart|end)` and the finally block `[finallyStart, end)`.
 * `-1` means "no such block"; `catchSlot` is the slot that receives the exception (or null);
 * `k` indexes `frame.c`. Rows are ordered innermost first.
 */
export type HandlerRow = [
  tryStart: number,
  catchStart: number,
  finallyStart: number,
  end: number,
  catchSlot: string | null,
  k: number,
];

/** What the compiler knows about an await: the state it resumes at and what is live there. */
export interface SuspensionPoint {
  /** Slots live after the await; only these are stored in a snapshot. */
  live: string[];
  /** `file:line:column` of the await in the original source. */
  loc: string;
  /** The awaited expression as written (shortened). */
  src: string;
}

/** A d-async function as compiled: identity, layout and step function. */
export interface FunctionDescriptor {
  /** Protocol version of the compiler that produced it. */
  $dtask: typeof PROTOCOL_VERSION;
  /** `<module path relative to the package root, without extension>#<name>`, or the pinned id. */
  id: string;
  /** Hash of the normalized function body and the compiler scheme. */
  version: string;
  /** The function's name as written (for stack traces and tools). */
  name: string;
  /** Module path relative to the package root, with extension, so a worker can import it. */
  file: string;
  /** `file:line:column` of the function. */
  loc: string;
  /** Fresh slots, every one `undefined`, always in the same order (one hidden class). */
  init(): Locals;
  /** Re-creates nested function declarations into their slots (on entry and after a resume). */
  hoist?: (l: Locals, f: Frame) => void;
  step: StepFunction;
  /** Suspension points by resume state. */
  sp: Record<number, SuspensionPoint>;
  /** Static exception table, innermost rows first. Empty when no try block contains an await. */
  handlers: HandlerRow[];
  /** Slot → [name as written, `file:line:column` of its declaration], for messages and tools. */
  slots: Record<string, [string, string]>;
  /** True for `@dasync` methods: `this` is part of the frame. */
  method?: boolean;
  /** The d-async function made from this descriptor (set by `dasync`): what the self-name refers to. */
  fn?: (...args: any[]) => unknown;
  /** The uncompiled function, kept only when the compiler runs with `keepNative` (tests). */
  native?: (...args: any[]) => Promise<unknown>;
}

/** The serialized form of a frame (before the value codec turns it into bytes). */
export interface FrameRecord {
  fn: string;
  v: string;
  s: number;
  l: Locals;
  c?: (CompletionRecord | undefined)[];
  self?: unknown;
}

export function isFunctionDescriptor(value: unknown): value is FunctionDescriptor {
  return typeof value === "object" && value !== null && "$dtask" in value && "step" in value;
}
