/**
 * Tells this process when flows finish, wherever they finish. For each watched flow it
 * subscribes to the flow's channel (on which the store itself publishes the final status, in the
 * commit's transaction, from whichever process commits it), then reads the flow (so a flow that
 * finished before the subscription is not missed), and reads every watched flow again each
 * `pollInterval` (pub/sub is best effort: a Redis reconnection loses messages). One
 * subscription per flow, however many listeners (a webhook push and two SSE streams).
 *
 * @module
 */
import { DTaskError } from "../../core/errors.js";
import { flowChannel, isFinishedStatus } from "../../core/store.js";
import type { FlowInfo, Host } from "../../host/types.js";
import type { HttpErrorContext } from "./options.js";

export type FinishedListener = (info: FlowInfo) => void;

interface Entry {
  listeners: Set<FinishedListener>;
  unsubscribe: Promise<(() => Promise<void>) | undefined>;
  /** A read is in progress; `again` asks for one more after it (a message arrived meanwhile). */
  reading: boolean;
  again: boolean;
}

/** Parallel reads of one safety sweep. */
const SWEEP_CONCURRENCY = 8;

export class Watcher {
  readonly #entries = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;
  #sweeping = false;
  #closed = false;

  constructor(
    private readonly host: Host,
    pollIntervalMs: number,
    private readonly onError: (error: Error, context: HttpErrorContext) => void,
  ) {
    this.#timer = setInterval(() => void this.#sweep(), pollIntervalMs);
    this.#timer.unref();
  }

  /** Flows being watched. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Calls `listener` once, with the flow as `host.get` reads it (without tasks), when the flow has
   * finished (at once if it already has). Returns the remover. A flow that disappears (swept, or
   * never existed) is dropped with a report.
   */
  watch(flowId: string, listener: FinishedListener): () => void {
    if (this.#closed) return () => {};
    let entry = this.#entries.get(flowId);
    if (entry === undefined) {
      const created: Entry = {
        listeners: new Set(),
        unsubscribe: Promise.resolve(undefined),
        reading: false,
        again: false,
      };
      entry = created;
      this.#entries.set(flowId, created);
      created.unsubscribe = this.host
        .subscribe(flowChannel(flowId), (message) => {
          if (isFinishedStatus(message as never)) void this.#read(flowId);
        })
        .then(
          (unsubscribe) => {
            // Subscribed first, read second: a finish in between is seen by the read.
            void this.#read(flowId);
            return unsubscribe;
          },
          (error) => {
            this.onError(error as Error, { operation: "watch", operationId: flowId });
            // The safety sweep still reads it.
            void this.#read(flowId);
            return undefined;
          },
        );
    }
    entry.listeners.add(listener);
    return () => {
      const current = this.#entries.get(flowId);
      if (current === undefined || !current.listeners.delete(listener)) return;
      if (current.listeners.size === 0) this.#drop(flowId, current);
    };
  }

  /** Stops watching everything; listeners are not called. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    const entries = [...this.#entries.entries()];
    this.#entries.clear();
    await Promise.all(entries.map(([, entry]) => unsubscribe(entry)));
  }

  async #read(flowId: string): Promise<void> {
    const entry = this.#entries.get(flowId);
    if (entry === undefined) return;
    if (entry.reading) {
      entry.again = true;
      return;
    }
    entry.reading = true;
    try {
      do {
        entry.again = false;
        let info: FlowInfo;
        try {
          info = await this.host.get(flowId, { tasks: false });
        } catch (error) {
          if (this.#entries.get(flowId) !== entry) return;
          if (error instanceof DTaskError && error.code === "DT501") {
            this.onError(error, { operation: "watch", operationId: flowId });
            this.#drop(flowId, entry);
          } else if (!(error instanceof DTaskError && error.code === "DT504")) {
            // The store is down: the next sweep tries again.
            this.onError(error as Error, { operation: "watch", operationId: flowId });
          }
          return;
        }
        if (this.#entries.get(flowId) !== entry) return;
        if (isFinishedStatus(info.status)) {
          this.#drop(flowId, entry);
          for (const listener of entry.listeners) {
            try {
              listener(info);
            } catch (error) {
              this.onError(error as Error, { operation: "push", operationId: flowId });
            }
          }
          return;
        }
      } while (entry.again);
    } finally {
      entry.reading = false;
    }
  }

  #drop(flowId: string, entry: Entry): void {
    if (this.#entries.get(flowId) === entry) this.#entries.delete(flowId);
    void unsubscribe(entry);
  }

  async #sweep(): Promise<void> {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = true;
    try {
      const ids = [...this.#entries.keys()];
      for (let i = 0; i < ids.length; i += SWEEP_CONCURRENCY) {
        await Promise.all(ids.slice(i, i + SWEEP_CONCURRENCY).map((id) => this.#read(id)));
        if (this.#closed) return;
      }
    } finally {
      this.#sweeping = false;
    }
  }
}

async function unsubscribe(entry: Entry): Promise<void> {
  const stop = await entry.unsubscribe;
  await stop?.().catch(() => {});
}
