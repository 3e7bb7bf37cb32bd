/**
 * The DTask model: cold, durable tasks. A DTask is a description of work (a d-async call, a delay,
 * a callback, a combinator) plus its observed outcome. Nothing here performs I/O or runs code:
 * the runtime drives DTasks and records their outcome in them.
 *
 * @module
 */
import { type Duration, toMilliseconds } from "./duration.js";
import { DTaskCanceledError, DTaskError } from "./errors.js";
import type { FunctionDescriptor } from "./protocol.js";

export type DTaskStatus = "pending" | "running" | "suspended" | "succeeded" | "faulted" | "canceled";

/** The token type, declared here so `DTask.delay(duration, token)` can name it without a cycle. */
export interface DCancellationTokenLike {
  readonly isCancellationRequested: boolean;
}

const BRAND = Symbol.for("dtasks.DTask");

/**
 * How code outside a d-async function awaits a DTask. The runtime installs it; until then (core
 * alone, no runtime loaded) awaiting a DTask is an error that says what to do.
 */
export type OutsideAwaiter = (task: DTask<unknown>) => Promise<unknown>;
let outsideAwaiter: OutsideAwaiter = (task) =>
  Promise.reject(
    new DTaskError(
      "DT202",
      `a DTask (${task.kind}) was awaited outside d-async code; await it inside a dasync() function or start it with host.start()`,
    ),
  );

/** @internal Installed by the runtime. */
export function setOutsideAwaiter(awaiter: OutsideAwaiter): void {
  outsideAwaiter = awaiter;
}

/**
 * A durable task. Implements `PromiseLike`, so d-async code awaits it like a promise; ordinary code
 * awaiting one runs it in process (a d-async call) or gets a DT202/DT203 error (a durable wait).
 */
export abstract class DTask<T = unknown> implements PromiseLike<T> {
  /** What kind of work this is; part of the snapshot format. */
  abstract readonly kind: string;

  /** @internal Outcome, written by the runtime. */
  _status: DTaskStatus = "pending";
  /** @internal */
  _value: unknown = undefined;
  /** @internal */
  _error: unknown = undefined;

  static isDTask(value: unknown): value is DTask<unknown> {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  get status(): DTaskStatus {
    return this._status;
  }

  /** The result; throws DT204 unless the task succeeded. */
  get result(): T {
    if (this._status !== "succeeded") {
      throw new DTaskError(
        "DT204",
        `DTask.result read while the task is ${this._status}; await the task first`,
      );
    }
    return this._value as T;
  }

  /** The failure; throws DT204 unless the task faulted or was canceled. */
  get error(): unknown {
    if (this._status !== "faulted" && this._status !== "canceled") {
      throw new DTaskError("DT204", `DTask.error read while the task is ${this._status}; it has not failed`);
    }
    return this._error;
  }

  get isCompleted(): boolean {
    return this._status === "succeeded" || this._status === "faulted" || this._status === "canceled";
  }
  get isSucceeded(): boolean {
    return this._status === "succeeded";
  }
  get isFailed(): boolean {
    return this._status === "faulted" || this._status === "canceled";
  }
  get isCanceled(): boolean {
    return this._status === "canceled";
  }

  // biome-ignore lint/suspicious/noThenProperty: a DTask is awaitable by design.
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return (outsideAwaiter(this) as Promise<T>).then(onfulfilled, onrejected);
  }

  /** @internal Records a successful outcome. */
  _succeed(value: unknown): void {
    this._status = "succeeded";
    this._value = value;
  }

  /** @internal Records a failure; a DTaskCanceledError marks the task canceled. */
  _fail(error: unknown): void {
    this._status = error instanceof DTaskCanceledError ? "canceled" : "faulted";
    this._error = error;
  }

  // ---- factories (the public statics of API.md) ----

  /** Completes after `duration` (milliseconds or a string such as `"15s"`, `"7d"`). */
  static delay(duration: Duration, token?: DCancellationTokenLike): DTask<void> {
    return new DelayTask(toMilliseconds(duration, "DTask.delay() duration"), token);
  }

  /** Suspends and is resumed as soon as possible, possibly by another worker: a checkpoint. */
  static yield(): DTask<void> {
    return new YieldTask();
  }

  static fromResult<T>(value: T): DTask<T> {
    const task = new CompletedTask<T>();
    task._succeed(value);
    return task;
  }

  static get completed(): DTask<void> {
    return DTask.fromResult(undefined);
  }

  static fromError<T = never>(error: unknown): DTask<T> {
    const task = new CompletedTask<T>();
    task._status = "faulted";
    task._error = error;
    return task;
  }

  static fromCanceled<T = never>(error: unknown = new DTaskCanceledError()): DTask<T> {
    const task = new CompletedTask<T>();
    task._status = "canceled";
    task._error = error;
    return task;
  }

  /**
   * Waits until every task has finished. The result lists the results in input order. If any task
   * failed, it rejects — after all have finished — with the failure of the first failed task in
   * input order. Tasks run concurrently as branches of the same flow.
   */
  static whenAll<const Tasks extends readonly DTask<unknown>[]>(
    tasks: Tasks,
  ): DTask<{ -readonly [K in keyof Tasks]: Tasks[K] extends DTask<infer R> ? R : never }> {
    return new WhenAllTask(checkTasks(tasks, "DTask.whenAll"), false) as never;
  }

  /** Waits for all tasks; the result is `{ status, value?, reason? }` per task, like `Promise.allSettled`. */
  static whenAllSettled<const Tasks extends readonly DTask<unknown>[]>(
    tasks: Tasks,
  ): DTask<{
    -readonly [K in keyof Tasks]: PromiseSettledResult<Tasks[K] extends DTask<infer R> ? R : never>;
  }> {
    return new WhenAllTask(checkTasks(tasks, "DTask.whenAllSettled"), true) as never;
  }

  /**
   * Completes with the first task (the DTask object itself) that finishes, successfully or not.
   * The winner is typed as a {@link DTaskRef} so that `winner === timeout` and `winner.result`
   * type-check (TypeScript's `await` would otherwise unwrap a DTask inside a DTask).
   */
  static whenAny<const Tasks extends readonly DTask<unknown>[]>(
    tasks: Tasks,
  ): DTask<DTaskRef<Tasks[number]>> {
    const list = checkTasks(tasks, "DTask.whenAny");
    if (list.length === 0) throw new DTaskError("DT206", "DTask.whenAny() needs at least one task");
    return new WhenAnyTask(list) as never;
  }

  /** Starts `task` in the background; awaiting the result gives back `task`, running, to await later. */
  static run<T>(task: DTask<T>): DTask<DTask<T>> {
    if (!DTask.isDTask(task)) throw new DTaskError("DT206", "DTask.run() expects a DTask");
    return new RunTask(task) as never;
  }

  /**
   * Suspends; once the flow's state is safely stored, calls `callback(callbackId)`. Completes when
   * someone calls `host.resume(callbackId, value)`, rejects on `host.fail(callbackId, error)`.
   */
  static callback<T = unknown>(callback: (callbackId: string) => unknown | Promise<unknown>): DTask<T> {
    if (typeof callback !== "function") throw new DTaskError("DT206", "DTask.callback() expects a function");
    return new CallbackTask<T>(callback);
  }
}
Object.defineProperty(DTask.prototype, BRAND, { value: true });

function checkTasks(tasks: readonly unknown[], api: string): DTask<unknown>[] {
  if (!Array.isArray(tasks)) throw new DTaskError("DT206", `${api}() expects an array of DTasks`);
  tasks.forEach((task, index) => {
    if (!DTask.isDTask(task)) {
      throw new DTaskError(
        "DT206",
        `${api}() expects DTasks, but element ${index} is ${task === null ? "null" : typeof task}; wrap promises in a dasync() function`,
      );
    }
  });
  return [...tasks] as DTask<unknown>[];
}

/**
 * A DTask seen as a value rather than as something to await: everything but `then`, so that
 * TypeScript's `await` does not unwrap it. (At run time it is the DTask object itself.)
 */
export type DTaskRef<T extends DTask<unknown>> = Omit<T, "then">;

/** A call of a d-async function: cold until awaited, started or passed to a combinator. */
export class DCall<T = unknown> extends DTask<T> {
  readonly kind = "call";
  constructor(
    readonly descriptor: FunctionDescriptor,
    readonly args: unknown[],
    readonly self: unknown,
  ) {
    super();
  }
}

/** Completes after `ms` milliseconds. */
export class DelayTask extends DTask<void> {
  readonly kind = "delay";
  constructor(
    readonly ms: number,
    readonly token?: DCancellationTokenLike,
  ) {
    super();
  }
}

export class YieldTask extends DTask<void> {
  readonly kind = "yield";
}

export class CallbackTask<T> extends DTask<T> {
  readonly kind = "callback";
  constructor(readonly callback: (callbackId: string) => unknown) {
    super();
  }
}

export class CompletedTask<T> extends DTask<T> {
  readonly kind = "completed";
}

export class WhenAllTask extends DTask<unknown[]> {
  readonly kind = "whenAll";
  constructor(
    readonly tasks: DTask<unknown>[],
    readonly settled: boolean,
  ) {
    super();
  }
}

export class WhenAnyTask extends DTask<DTask<unknown>> {
  readonly kind = "whenAny";
  constructor(readonly tasks: DTask<unknown>[]) {
    super();
  }
}

export class RunTask<T> extends DTask<DTask<T>> {
  readonly kind = "run";
  constructor(readonly task: DTask<T>) {
    super();
  }
}
