/**
 * The public shape of the host: what `createHost` returns, the handle of a flow, what `host.get`
 * reports, and the worker. Implementations live beside (`host.ts`, `flow-handle.ts`,
 * `worker.ts`); this file is the contract, with its documentation.
 *
 * @module
 */
import type { DCall, DTask } from "../core/dtask.js";
import type { FlowLastError, FlowStatus, FlowSummary, JsonObject, LeaseInfo } from "../core/store.js";
import type { TaskView } from "../runtime/engine.js";
import type { WorkerOptions } from "./options.js";

/** Options of {@link Host.start}. */
export interface StartOptions {
  /**
   * The flow id: 1–128 characters of `A–Z a–z 0–9 _ -`. Give one to make a start idempotent
   * (a second start with the same id is rejected with DT406 and starts nothing).
   * @default 128 random bits, base64url (22 characters)
   */
  id?: string;
  /** Small JSON kept with the flow, shown by `host.get`, `host.list` and `dtasks ls`. */
  metadata?: JsonObject;
}

/** Options of {@link Host.get}. */
export interface GetOptions {
  /**
   * Describe a suspended flow's tasks and frames (`tasks`). That decodes the whole snapshot;
   * callers that only need the status, result or error (a status endpoint polled by clients)
   * turn it off.
   * @default true
   */
  tasks?: boolean;
}

/** Options of {@link Host.list}. */
export interface ListOptions {
  /** Only flows in this status (or these). */
  status?: FlowStatus | readonly FlowStatus[];
  /** Page size, 1–1000. @default 100 */
  limit?: number;
  /** The `next` cursor of the previous page. */
  after?: string | null;
  /** By creation time. @default "desc" (newest first) */
  order?: "asc" | "desc";
}

/** A page of {@link Host.list}: flows without their payloads, and the cursor of the next page. */
export interface FlowList {
  flows: FlowSummary[];
  /** Pass as `after` to get the next page; null on the last page. */
  next: string | null;
}

/** A part of a stored flow that this process could not decode (see {@link FlowInfo.unreadable}). */
export interface UnreadablePart {
  part: "result" | "error" | "snapshot";
  /** The decoder's `DTxxx` code (e.g. DT303: a registered class this process does not know). */
  code: string;
  message: string;
}

/** What {@link Host.get} reports about a flow. */
export interface FlowInfo<T = unknown> {
  id: string;
  status: FlowStatus;
  /** The d-async function the flow started with. */
  rootFunctionId: string;
  metadata: JsonObject | null;
  /** The result, when `status` is `"succeeded"`. */
  result?: T;
  /** The error, when `status` is `"faulted"` or `"canceled"`. */
  error?: unknown;
  /**
   * Why the last run could not make progress, for example DT208: the flow's function changed
   * since it suspended. The flow is then intact; a worker running matching code resumes it.
   */
  lastError: FlowLastError | null;
  /** Tasks of a suspended flow with their frames: function, the await each is at, live locals. */
  tasks?: TaskView[];
  /** Payloads this process could not decode; the flow itself is untouched. */
  unreadable?: UnreadablePart[];
  /** Who runs the flow right now, if anyone (possibly an expired lease of a dead process). */
  lease: LeaseInfo | null;
  /** When the flow is next runnable by itself (a timer, a pending resume); null when it waits on callbacks. */
  readyAt: number | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /** When a finished flow will be deleted; null = kept. */
  expiresAt: number | null;
}

/** A flow, from any process: its id, its status and a way to wait for its result. */
export interface FlowHandle<T = unknown> {
  readonly id: string;
  /** The status as of the flow's last commit. Unknown flow → DT501. */
  status(): Promise<FlowStatus>;
  /**
   * Waits until the flow has finished, in this process or any other sharing the store, and
   * resolves with its result. A faulted flow rejects with the flow's own error, as restored from
   * the store (its class, message, stack, `cause` and own properties), exactly as awaiting the
   * d-async function would; if that error cannot be decoded here, with DT506 wrapping the decoding
   * failure. A canceled flow rejects with `DTaskCanceledError`. Unknown flow → DT501.
   */
  result(options?: { signal?: AbortSignal }): Promise<T>;
}

/** The handle {@link Host.start} returns: a {@link FlowHandle}, plus what the start run did. */
export interface StartedFlow<T = unknown> extends FlowHandle<T> {
  /**
   * The status committed by the run of `host.start` itself: `"suspended"` when the flow reached a
   * durable wait, a final status when it finished in process without suspending, `"running"` when
   * that run lost its lease (a very long first segment) and a worker carries the flow on. Unlike
   * {@link FlowHandle.status}, it does not change afterwards: it is how an HTTP endpoint tells
   * "answered in process" from "accepted" even if a worker finishes the flow a moment later.
   */
  readonly startStatus: FlowStatus;
}

/** Listens to a store pub/sub channel (see {@link Host.subscribe}). */
export type ChannelListener = (message: string, channel: string) => void;

/**
 * A worker's state:
 * - `idle`: started, nothing to run right now; sleeps until the next timer or a work notification.
 * - `running`: at least one flow is being run.
 * - `draining`: `stop()` was called; claims nothing more, waits for the runs in progress.
 * - `stopped`: done; every lease it held was committed or released.
 * - `failed`: gave up on an error it cannot recover from (the store was closed under it); see
 *   {@link Worker.error}. Its leases expire and other workers recover its flows.
 */
export type WorkerState = "idle" | "running" | "draining" | "stopped" | "failed";

/** Claims and runs due work: timers, yields, resumes, cancel requests, flows whose lease expired. */
export interface Worker {
  readonly id: string;
  readonly state: WorkerState;
  /** Number of flows being run right now. */
  readonly active: number;
  /** Why the worker failed (state `failed`). */
  readonly error: Error | undefined;
  /**
   * Stops gracefully: claims nothing more, waits up to `drainTimeout` for runs in progress to
   * commit, then releases the leases of those still running so another worker takes them over at
   * once. Idempotent; resolves when the worker is `stopped` (or `failed`).
   */
  stop(): Promise<void>;
  /** Settles when the worker is `stopped` or `failed`. */
  readonly done: Promise<void>;
}

/** The host: start, resume, cancel and inspect flows; run workers. */
export interface Host {
  /**
   * Starts a flow: creates it, runs it in this process until its first durable wait or its end,
   * commits that, then runs the `DTask.callback` callbacks of the waits it stored, and returns.
   * Nothing of the flow is visible to other processes before the commit.
   */
  start<T>(call: DTask<T> | DCall<T>, options?: StartOptions): Promise<StartedFlow<T>>;
  /** Everything known about a flow. Unknown (or swept) flow → DT501. */
  get<T = unknown>(flowId: string, options?: GetOptions): Promise<FlowInfo<T>>;
  /** Flows without payloads, newest first, paged. */
  list(options?: ListOptions): Promise<FlowList>;
  /** The handle of an existing flow (not checked until used). */
  flow<T = unknown>(flowId: string): FlowHandle<T>;
  /**
   * Completes the `DTask.callback` wait `callbackId` with `value`, durably, before returning; a
   * worker then runs the flow. Unknown id → DT502; already resumed → DT503; a value that cannot
   * be stored → DT301. In every error case nothing was stored.
   */
  resume(callbackId: string, value?: unknown): Promise<{ flowId: string }>;
  /** As {@link resume}, but the wait rejects with `error` at its `await`. */
  fail(callbackId: string, error: unknown): Promise<{ flowId: string }>;
  /**
   * Asks for a flow to be canceled: a worker applies it (durable waits reject with
   * `DTaskCanceledError` at their `await`, `finally` blocks run). `"finished"` when the flow had
   * already finished; `"pending"` when a cancel request was already waiting. Unknown flow → DT501.
   */
  cancel(flowId: string): Promise<{ outcome: "requested" | "pending" | "finished" }>;
  /** Registers a service: snapshots store it as `token` and resolve it again on resume. */
  registerService(token: string, value: object): void;
  /**
   * Listens to a channel of the store's pub/sub, in this process and (through the store) in every
   * process sharing it; resolves once listening, so a message published after that is heard.
   * The store itself publishes a flow's final status on `flowChannel(flowId)` (`flow:<id>`); the
   * HTTP layer also uses it as the backplane between server processes. Delivery is best effort:
   * re-read the state after subscribing, and now and then. Resolves with the unsubscriber.
   */
  subscribe(channel: string, listener: ChannelListener): Promise<() => Promise<void>>;
  /**
   * Publishes a message (at most 7 KiB of UTF-8: carry ids, not results) on a channel of the
   * store's pub/sub; listeners of this process hear it at once.
   */
  publish(channel: string, message: string): Promise<void>;
  /** Starts a worker in this process. */
  startWorker(options?: WorkerOptions): Worker;
  /** Stops this host's workers (gracefully), then closes the store (see `closeStore`). Idempotent. */
  close(): Promise<void>;
}
