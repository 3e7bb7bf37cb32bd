/**
 * One run of a leased flow, the only place where the host writes a run's outcome: run the flow in
 * process (`runFlow`), commit exactly what it says, and only then run the `DTask.callback`
 * callbacks of the waits it stored (`afterCommit`). Used by `host.start` (a new flow) and by
 * workers (a claimed flow).
 *
 * When a worker's run cannot go through (the runtime throws: DT207/DT208/DT209 for a function
 * that is missing or changed, DT305 for a service not registered here, anything unexpected), nothing
 * of the flow changes: a commit that keeps the snapshot and the pending events records why in
 * `lastError`, defers the next try, and releases the lease, so that a worker running matching code
 * resumes the flow. Retrying blindly would lose nothing but would spin; faulting the flow would
 * lose it to a deploy mistake. (The first run of `host.start` is different: its caller is there to
 * be told, and there is no earlier state to keep, so the flow is faulted and `start` rejects.)
 *
 * @module
 */
import type { DCall } from "../core/dtask.js";
import { DTaskError, ensureError } from "../core/errors.js";
import {
  type Bytes,
  type CommitInput,
  type CommitResult,
  type FinishedFlowStatus,
  type FlowEvent,
  type FlowLastError,
  type FlowStatus,
  isFinishedStatus,
  type JsonObject,
  type Lease,
  type Store,
} from "../core/store.js";
import { marshal } from "../marshal/index.js";
import type { LiveFlow, RunResult } from "../runtime/engine.js";
import type { Clock } from "./clock.js";
import { letEventLoopTurn } from "./event-loop.js";
import type { FinishedOutcomes } from "./finished.js";
import { LeaseKeeper } from "./lease-keeper.js";
import type { ResolvedHostOptions } from "./options.js";
import { loadRuntime } from "./runtime.js";
import type { Services } from "./services.js";

/** A flow this process holds the lease of, with what it needs to run. */
export interface LeasedFlow {
  id: string;
  revision: number;
  lease: Lease;
  /** The status as of the last commit (a blocked run commits it unchanged). */
  status: FlowStatus;
  snapshot: Bytes | null;
  events: FlowEvent[];
  /** Only for the first run of a flow, in the process that started it. */
  start?: DCall<unknown>;
}

export type RunOutcome =
  /** Committed; `status` is the flow's new status. */
  | { kind: "committed"; status: FlowStatus }
  /** Could not run here; `lastError` recorded, flow intact, lease released. */
  | { kind: "blocked"; error: Error }
  /** The first run of a new flow threw: the flow was committed as faulted with that error. */
  | { kind: "start-failed"; error: Error }
  /** The lease or the revision was lost: another run owns the flow now. Nothing was written. */
  | { kind: "lost"; error: Error }
  /** The store failed; nothing was written and the lease will expire (the flow is then recovered). */
  | { kind: "failed"; error: Error };

export interface RunControl {
  leaseMs: number;
  /** Asked after a yield: may the run go on in process (keeping the lease) instead of requeueing? */
  mayContinue?: () => boolean;
  /**
   * Asked after {@link MAX_ROUNDS} rounds in a row: does the worker have a free slot? Then nothing
   * waits for the slot this run holds (whatever is due can be claimed into the free one), and the
   * run goes on rather than paying a requeue and a claim.
   */
  hasFreeSlot?: () => boolean;
  /** Told the current lease, so a draining worker can release it. */
  onLease?: (lease: Lease) => void;
}

/**
 * Consecutive in-process runs of one flow (yields) before it goes back to the queue, for fairness,
 * unless its worker has a free slot (see `RunControl.hasFreeSlot`).
 */
const MAX_ROUNDS = 100;

/** Quick retries of a commit when the store fails, in real time: the lease is still ours. */
const COMMIT_RETRY_MS = [50, 200, 800];

export class FlowRunner {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: ResolvedHostOptions,
    private readonly services: Services,
    /** Where a finished flow's outcome goes for this host's waiting `flow.result()` calls. */
    private readonly finished: FinishedOutcomes,
  ) {}

  async run(flow: LeasedFlow, control: RunControl): Promise<RunOutcome> {
    const keeper = new LeaseKeeper(
      this.store,
      this.clock,
      flow.id,
      flow.lease,
      control.leaseMs,
      this.options.onError,
    );
    let current = flow;
    /** What the previous round left in memory, right after its snapshot was committed. */
    let live: LiveFlow | null = null;
    const clock = () => this.clock.now();
    try {
      for (let round = 1; ; round++) {
        // Between two rounds, let the process's timers and I/O run: with a synchronous store
        // (SQLite, memory) a flow that keeps yielding would otherwise chain promises forever.
        if (round > 1) await letEventLoopTurn();
        if (current.snapshot === null && current.start === undefined) return await this.#unrunnable(current);
        const { runFlow } = await loadRuntime();
        let result: RunResult;
        try {
          result = await runFlow({
            flowId: current.id,
            start: current.start,
            snapshot: current.snapshot,
            live,
            events: current.events,
            now: this.clock.now(),
            clock,
            services: this.services,
            format: this.options.format,
            onCallbackError: (callbackId, error) => this.#failCallback(callbackId, error, flow.id),
          });
        } catch (thrown) {
          const error = ensureError(thrown);
          if (keeper.lost) return { kind: "lost", error: keeper.lost };
          if (current.start !== undefined)
            return await this.#faultStart({ ...current, lease: keeper.lease }, error);
          return await this.#block({ ...current, lease: keeper.lease }, error);
        }
        // Committing with a lease known to be lost would be refused: another run owns the flow.
        if (keeper.lost) return { kind: "lost", error: keeper.lost };

        const finished = isFinishedStatus(result.status);
        const again =
          result.status === "suspended" &&
          result.runnableAt !== null &&
          result.runnableAt <= this.clock.now() &&
          (control.mayContinue?.() ?? false) &&
          (round < MAX_ROUNDS || (control.hasFreeSlot?.() ?? false));
        const input: CommitInput = {
          flowId: current.id,
          revision: current.revision,
          leaseToken: keeper.lease.token,
          now: this.clock.now(),
          status: result.status,
          snapshot: result.snapshot,
          result: result.result,
          error: result.error,
          addWaits: result.addWaits,
          removeWaits: result.removeWaits,
          consumedEvents: result.consumedEvents,
          runnableAt: result.runnableAt,
        };
        if (finished && this.options.retentionMs !== undefined) input.retentionMs = this.options.retentionMs;
        if (again) input.keepLeaseMs = control.leaseMs;
        const committed = await this.#commit(input);
        if (!("revision" in committed)) return committed;
        if (finished) {
          this.finished.record({
            id: current.id,
            status: result.status as FinishedFlowStatus,
            result: result.result,
            error: result.error,
          });
        }
        await this.#afterCommit(result, current.id);
        if (!again || committed.lease === null) return { kind: "committed", status: result.status };
        // A yield: the flow is runnable now and the lease is still ours, so run it again here
        // rather than round-tripping through a claim. Events that arrived meanwhile come with it.
        keeper.update(committed.lease);
        control.onLease?.(committed.lease);
        live = result.live;
        current = {
          id: current.id,
          revision: committed.revision,
          lease: committed.lease,
          status: result.status,
          snapshot: result.snapshot,
          events: committed.events,
        };
      }
    } finally {
      keeper.stop();
    }
  }

  /** Commits, retrying quickly on store failures; DT401 means someone else owns the flow now. */
  async #commit(input: CommitInput): Promise<CommitResult | RunOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.store.commit({ ...input, now: this.clock.now() });
      } catch (thrown) {
        const error = ensureError(thrown);
        if (error instanceof DTaskError && error.code === "DT401") return { kind: "lost", error };
        if (!(error instanceof DTaskError && error.code === "DT402") || attempt >= COMMIT_RETRY_MS.length) {
          this.options.onError(error, { operation: "commit", flowId: input.flowId });
          return { kind: "failed", error };
        }
        await new Promise((resolve) => setTimeout(resolve, COMMIT_RETRY_MS[attempt]));
      }
    }
  }

  async #afterCommit(result: RunResult, flowId: string): Promise<void> {
    try {
      await result.afterCommit();
    } catch (error) {
      // The flow's state is stored; a throwing callback changes nothing durable.
      this.options.onError(ensureError(error), { operation: "callback", flowId });
    }
  }

  /**
   * A `DTask.callback` callback threw (after the commit): fail its wait, so the flow sees the error
   * at its `await` instead of waiting for a resume that will never come.
   */
  async #failCallback(callbackId: string, error: Error, flowId: string): Promise<void> {
    this.options.onError(error, { operation: "callback", flowId });
    try {
      await this.store.deliver({
        callbackId,
        kind: "fail",
        payload: encodeError(error, this.options.format),
        now: this.clock.now(),
      });
    } catch (thrown) {
      // DT503: someone resumed it first (the callback got far enough); DT502: the flow moved on.
      if (thrown instanceof DTaskError && (thrown.code === "DT503" || thrown.code === "DT502")) return;
      this.options.onError(ensureError(thrown), { operation: "callback", flowId });
    }
  }

  /**
   * The runtime could not run the flow here. Keep everything (snapshot, pending events), say why,
   * and let any worker try again after `blockedRetryDelay`: a worker with matching code succeeds.
   */
  async #block(flow: LeasedFlow, error: Error): Promise<RunOutcome> {
    const now = this.clock.now();
    const retryAt = now + this.options.blockedRetryMs;
    const committed = await this.#commit({
      flowId: flow.id,
      revision: flow.revision,
      leaseToken: flow.lease.token,
      now,
      status: flow.status,
      lastError: lastErrorOf(error),
      // The flow may have been claimed for a yield or a recovery, which no event records: ask to
      // be woken again, or it would wait forever.
      runnableAt: retryAt,
      deferUntil: retryAt,
    });
    if (!("revision" in committed)) return committed;
    this.options.onError(error, { operation: "run", flowId: flow.id });
    return { kind: "blocked", error };
  }

  /** The first run of a new flow threw (not a fault of the flow's code: a bug or an unstorable value). */
  async #faultStart(flow: LeasedFlow, error: Error): Promise<RunOutcome> {
    const committed = await this.#commit({
      flowId: flow.id,
      revision: flow.revision,
      leaseToken: flow.lease.token,
      now: this.clock.now(),
      status: "faulted",
      snapshot: null,
      error: encodeError(error, this.options.format),
      lastError: lastErrorOf(error),
      ...(this.options.retentionMs === undefined ? {} : { retentionMs: this.options.retentionMs }),
    });
    if (!("revision" in committed)) return committed;
    return { kind: "start-failed", error };
  }

  /**
   * A flow with neither a snapshot nor a start: the process that started it died before the first
   * commit, and the call itself was never stored. Nothing can run it again; say so and finish it,
   * rather than leave it claimed forever.
   */
  async #unrunnable(flow: LeasedFlow): Promise<RunOutcome> {
    const error = new DTaskError(
      "DT508",
      `flow ${flow.id} cannot be run: the process that started it stopped before the flow's first durable point, and the start itself is not stored; start the flow again`,
    );
    const committed = await this.#commit({
      flowId: flow.id,
      revision: flow.revision,
      leaseToken: flow.lease.token,
      now: this.clock.now(),
      status: "faulted",
      error: encodeError(error, this.options.format),
      lastError: lastErrorOf(error),
      ...(this.options.retentionMs === undefined ? {} : { retentionMs: this.options.retentionMs }),
    });
    if (!("revision" in committed)) return committed;
    this.options.onError(error, { operation: "run", flowId: flow.id });
    return { kind: "committed", status: "faulted" };
  }
}

/** `lastError` from what the runtime threw: its code, message, function and versions. */
export function lastErrorOf(error: Error): FlowLastError {
  const coded = error instanceof DTaskError;
  const extra = error as Error & { functionId?: unknown; snapshotVersion?: unknown; codeVersion?: unknown };
  const functionId =
    typeof extra.functionId === "string"
      ? extra.functionId
      : /d-async function '([^']+)'/.exec(error.message)?.[1];
  const details: JsonObject = {};
  if (typeof extra.snapshotVersion === "string") details.snapshotVersion = extra.snapshotVersion;
  if (typeof extra.codeVersion === "string") details.codeVersion = extra.codeVersion;
  const lastError: FlowLastError = {
    code: coded ? error.code : "DT508",
    message: coded ? error.message : `the run failed unexpectedly: ${error.name}: ${error.message}`,
  };
  if (functionId !== undefined) lastError.functionId = functionId;
  if (Object.keys(details).length > 0) lastError.details = details;
  return lastError;
}

function encodeError(error: Error, format: "json" | "msgpack"): Bytes {
  try {
    return marshal(error, { format });
  } catch {
    // An own property of the error could not be stored: keep what matters.
    const plain = new Error(error.message);
    plain.name = error.name;
    plain.stack = error.stack;
    return marshal(plain, { format });
  }
}
