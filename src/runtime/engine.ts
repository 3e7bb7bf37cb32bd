/**
 * The seam between the runtime and the host: one call runs a flow in process, from its start or
 * from its snapshot plus pending events, until every task of the flow is suspended or the root
 * task has finished, and says what to commit. The runtime never touches a store; the host never
 * looks inside a snapshot.
 *
 * @module
 */
import type { DCall } from "../core/dtask.js";
import type { Bytes, FlowEvent, FlowStatus, WaitSpec } from "../core/store.js";

/** Services registered with the host, stored in snapshots by token (see marshal `special`). */
export interface ServiceRegistry {
  tokenOf(value: object): string | undefined;
  resolve(token: string): unknown;
}

export interface RunRequest {
  flowId: string;
  /** Starting a new flow: the root call. */
  start?: DCall<unknown>;
  /** Running an existing flow: its stored snapshot. */
  snapshot?: Bytes | null;
  /**
   * Running an existing flow from what its previous run left in memory (`RunResult.live`), right
   * after that run's snapshot was committed, in the same process: the run goes on from the live
   * task table instead of decoding the snapshot (a yield's round trip costs no decode). The
   * snapshot stays the truth everywhere else; pass it too.
   */
  live?: LiveFlow | null;
  /** Pending events to apply (timers fired, callbacks resumed or failed, cancel requests). */
  events: FlowEvent[];
  /** The time (ms) the run starts at: events and cancel deadlines are judged against it. */
  now: number;
  /**
   * Reads the time (ms) at the moment a delay is awaited or a `cancelAfter` is stored, so that a
   * delay of `ms` never fires before `ms` have passed since its await, however long the run took
   * to get there. @default () => now
   */
  clock?: () => number;
  services?: ServiceRegistry;
  /** Snapshot format. @default "json" */
  format?: "json" | "msgpack";
  /**
   * Called (during `afterCommit`) when a `DTask.callback` callback throws: the host should fail
   * that callback's wait, so the flow sees the error at its await instead of waiting forever.
   */
  onCallbackError?: (callbackId: string, error: Error) => void | Promise<void>;
}

/** A suspended run's task table, kept in memory for the next run of the same flow. Opaque. */
export interface LiveFlow {
  readonly flowId: string;
}

export interface RunResult {
  status: Exclude<FlowStatus, "running">;
  /** The new snapshot (when suspended). */
  snapshot: Bytes | null;
  /** The marshaled result (when succeeded) or error (when faulted or canceled). */
  result: Bytes | null;
  error: Bytes | null;
  /** Waits created by this run (callbacks, timers) and waits that no longer matter. */
  addWaits: WaitSpec[];
  removeWaits: string[];
  /** Events this run applied. */
  consumedEvents: string[];
  /** When the flow wants to run again by itself (a yield: now), or null. */
  runnableAt: number | null;
  /**
   * The suspended flow as it is in memory (when suspended): pass it as `RunRequest.live` to run
   * the flow again in this process once `snapshot` is committed. Drop it otherwise.
   */
  live: LiveFlow | null;
  /**
   * Runs the `DTask.callback` callbacks of the waits this run created. The host calls it only
   * after the commit succeeded, so a callback never announces a wait that was not stored.
   */
  afterCommit(): Promise<void>;
}

/**
 * Runs a flow. Throws a `DTaskError` with code DT207/DT208/DT209 when the snapshot cannot be
 * resumed on the code loaded in this process (the host keeps the flow intact and records it as
 * `lastError`); DT302 when the snapshot is corrupt.
 */
export type RunFlow = (request: RunRequest) => Promise<RunResult>;

/** Reads a marshaled result or error back into a value. */
export type DecodeValue = (bytes: Bytes) => unknown;

/** One frame of a suspended task, for `host.get` and `dtasks show`. */
export interface FrameView {
  functionId: string;
  version: string;
  /** Where the frame is suspended: the await's location and source. */
  await: { loc: string; src: string } | null;
  /** The live locals, by their names as written, decoded. */
  locals: Record<string, unknown>;
}

export interface TaskView {
  id: string;
  status: string;
  /** What the task waits for (e.g. `delay until 2026-12-03T10:00:00Z`, `callback cb_…`, `whenAll of t1, t2`). */
  waitingOn: string | null;
  /** Outermost frame first. */
  frames: FrameView[];
}

/** Decodes a snapshot into a readable view of its tasks and frames. */
export type DescribeSnapshot = (bytes: Bytes) => TaskView[];

/**
 * The snapshot of a flow that has not run yet (its root call). Throws DT301 when the call's
 * arguments cannot be stored.
 */
export type StartSnapshot = (
  call: DCall<unknown>,
  options?: { services?: ServiceRegistry; format?: "json" | "msgpack" },
) => Bytes;
