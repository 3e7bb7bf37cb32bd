/**
 * Outcomes of flows that this host's own runs finished, handed to the `flow.result()` calls of the
 * same host that wait for them, so that a result finished in this process is not read back from
 * the store. A flow's finished state never changes (it is only deleted, after its retention), so
 * what the commit wrote is exactly what a read would return.
 *
 * Only flows someone waits on are kept, and only while they are waited on: a host that finishes
 * flows nobody awaits here keeps nothing. Waiters in other processes, or of other hosts, read the
 * store as before.
 *
 * @module
 */
import type { Bytes, FinishedFlowStatus } from "../core/store.js";

/** What `settle` needs of a finished flow. */
export interface FinishedOutcome {
  id: string;
  status: FinishedFlowStatus;
  result: Bytes | null;
  error: Bytes | null;
}

export class FinishedOutcomes {
  /** Flow id → how many `result()` calls wait on it. */
  readonly #waiting = new Map<string, number>();
  readonly #outcomes = new Map<string, FinishedOutcome>();

  /** Marks `flowId` as waited on; call the returned function once the wait is over. */
  watch(flowId: string): () => void {
    this.#waiting.set(flowId, (this.#waiting.get(flowId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.#waiting.get(flowId)! - 1;
      if (left > 0) {
        this.#waiting.set(flowId, left);
        return;
      }
      this.#waiting.delete(flowId);
      this.#outcomes.delete(flowId);
    };
  }

  /** Called after a commit that finished a flow succeeded. Kept only if someone waits on it. */
  record(outcome: FinishedOutcome): void {
    if (this.#waiting.has(outcome.id)) this.#outcomes.set(outcome.id, outcome);
  }

  /** The outcome of `flowId` if a run of this host finished it while it was watched. */
  get(flowId: string): FinishedOutcome | undefined {
    return this.#outcomes.get(flowId);
  }
}
