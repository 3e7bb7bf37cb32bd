/**
 * Distributed cancellation. A source lives in a flow's state (it is stored in snapshots); its
 * token is passed to durable waits (`DTask.delay(d, token)`) and to in-process work through
 * `token.signal`. Canceling a source rejects every durable wait given its token with
 * `DTaskCanceledError` at the `await`, so `finally` blocks run.
 *
 * @module
 */
import { DTask } from "./dtask.js";
import { type Duration, toMilliseconds } from "./duration.js";
import { DTaskCanceledError } from "./errors.js";

/** A token: observe cancellation; pass it to durable waits. Storable. */
export class DCancellationToken {
  constructor(readonly source: DCancellationTokenSource) {}

  get isCancellationRequested(): boolean {
    return this.source.isCancellationRequested;
  }

  throwIfCancellationRequested(): void {
    if (this.isCancellationRequested) throw new DTaskCanceledError("the operation was canceled by its token");
  }

  /** An in-process AbortSignal that aborts when the source is canceled (for `fetch` and friends). */
  get signal(): AbortSignal {
    return this.source._signal();
  }
}

/** A cancellation source. Create one with `await DCancellationTokenSource.create()` in d-async code. */
export class DCancellationTokenSource {
  /** @internal */
  _canceled = false;
  /** @internal When a `cancelAfter` fires (absolute ms), or a relative delay not yet anchored to a clock. */
  _cancelAt: number | null = null;
  /** @internal */
  _cancelAfterMs: number | null = null;
  /** @internal Listeners of this process (the runtime's durable waits, the AbortController). */
  _listeners: (() => void)[] = [];
  #controller: AbortController | undefined;

  readonly token: DCancellationToken = new DCancellationToken(this);

  /** A new source; with `cancelAfter`, it cancels itself after that duration (durably, by a timer). */
  static create(options: { cancelAfter?: Duration } = {}): DTask<DCancellationTokenSource> {
    const source = new DCancellationTokenSource();
    if (options.cancelAfter !== undefined) source.cancelAfter(options.cancelAfter);
    return DTask.fromResult(source);
  }

  get isCancellationRequested(): boolean {
    return this._canceled;
  }

  /** Cancels now. Awaiting the result is optional; the effect is immediate. */
  cancel(): DTask<void> {
    this._cancelNow();
    return DTask.completed;
  }

  /** Cancels after `duration`, durably (a timer of the flow). */
  cancelAfter(duration: Duration): void {
    this._cancelAfterMs = toMilliseconds(duration, "cancelAfter duration");
    this._cancelAt = null;
  }

  /** @internal */
  _cancelNow(): void {
    if (this._canceled) return;
    this._canceled = true;
    this._cancelAt = null;
    this._cancelAfterMs = null;
    const listeners = this._listeners;
    this._listeners = [];
    for (const listener of listeners) listener();
    this.#controller?.abort(new DTaskCanceledError("the operation was canceled by its token"));
  }

  /** @internal */
  _signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this._canceled)
        this.#controller.abort(new DTaskCanceledError("the operation was canceled by its token"));
    }
    return this.#controller.signal;
  }
}
