/**
 * The handle of a flow, usable from any process that shares the store. `result()` subscribes to
 * the flow's channel first, then reads the flow, then waits, so a flow that finishes in between
 * is never missed; a slow safety poll covers a lost notification (pub/sub is best effort). A flow
 * that a run of the same host finishes meanwhile is not read back: the run hands its outcome over
 * (see finished.ts).
 *
 * @module
 */
import { DTaskError } from "../core/errors.js";
import { type FlowStatus, flowChannel, isFinishedStatus } from "../core/store.js";
import type { HostContext } from "./context.js";
import { settle } from "./outcome.js";
import type { FlowHandle, StartedFlow } from "./types.js";

/** How often `result()` re-reads the flow even without a notification (real time). */
const SAFETY_POLL_MS = 2_000;

export class FlowHandleImpl<T> implements FlowHandle<T> {
  constructor(
    readonly id: string,
    private readonly host: HostContext,
  ) {}

  async status(): Promise<FlowStatus> {
    this.host.assertOpen("flow.status()");
    const record = await (await this.host.store()).getFlow(this.id);
    if (record === null) throw noFlow(this.id);
    return record.status;
  }

  async result(options: { signal?: AbortSignal } = {}): Promise<T> {
    this.host.assertOpen("flow.result()");
    const { signal } = options;
    signal?.throwIfAborted();
    const store = await this.host.store();
    // Before the subscription and the first read, so that a finish in between is handed over.
    const unwatch = this.host.finished.watch(this.id);
    let notified = false;
    let wake: (() => void) | undefined;
    let unsubscribe: () => Promise<void>;
    try {
      unsubscribe = await store.subscribe(flowChannel(this.id), () => {
        notified = true;
        wake?.();
      });
    } catch (error) {
      unwatch();
      throw error;
    }
    let closed: Error | undefined;
    let interrupt: ((error: Error) => void) | undefined;
    const offClose = this.host.onClose((error) => {
      closed = error;
      interrupt?.(error);
    });
    try {
      for (let first = true; ; first = false) {
        // A store announces a finish as its commit returns, and a run of this host hands the
        // outcome over just after (in the same turn): let it, rather than read the flow back.
        if (!first && notified) await new Promise((resolve) => setImmediate(resolve));
        notified = false;
        const known = this.host.finished.get(this.id);
        if (known !== undefined) return settle(known, await this.host.runtime()) as T;
        const record = await store.getFlow(this.id);
        if (record === null) throw noFlow(this.id);
        if (isFinishedStatus(record.status)) return settle(record, await this.host.runtime()) as T;
        if (closed) throw closed;
        // The signal may have fired while the flow was being read, before a listener existed.
        signal?.throwIfAborted();
        if (notified) continue;
        await new Promise<void>((resolve, reject) => {
          const done = () => {
            clearTimeout(poll);
            signal?.removeEventListener("abort", onAbort);
            wake = undefined;
            interrupt = undefined;
          };
          const onAbort = () => {
            done();
            reject(signal!.reason);
          };
          const poll = setTimeout(() => {
            done();
            resolve();
          }, SAFETY_POLL_MS);
          // Not unref'd: a process awaiting a result must stay alive until it arrives.
          wake = () => {
            done();
            resolve();
          };
          interrupt = (error) => {
            done();
            reject(error);
          };
          signal?.addEventListener("abort", onAbort, { once: true });
        });
      }
    } finally {
      unwatch();
      offClose();
      await unsubscribe().catch(() => {});
    }
  }
}

/** What `host.start` returns: the handle, with the status its own run committed. */
export class StartedFlowImpl<T> extends FlowHandleImpl<T> implements StartedFlow<T> {
  constructor(
    id: string,
    host: HostContext,
    readonly startStatus: FlowStatus,
  ) {
    super(id, host);
  }
}

export function noFlow(flowId: string): DTaskError {
  return new DTaskError(
    "DT501",
    `no flow with id ${JSON.stringify(flowId)} (never started in this store, or finished and deleted after its retention)`,
  );
}
