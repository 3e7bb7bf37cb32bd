/**
 * The `Store` contract: what the host and its workers need from durable storage, and nothing
 * more. Engines (`memoryStore`, `sqliteStore`, and later Redis and PostgreSQL) implement it and
 * pass one conformance suite (`test/store/conformance.ts`). No I/O here.
 *
 * The model, in one paragraph: a **flow** row carries its status, a `revision` bumped by every
 * commit, the opaque snapshot bytes, and the time it next becomes runnable (`readyAt`). A worker
 * **claims** runnable flows with an expiring **lease**; every **commit** is checked against both the
 * revision and the lease (fencing), so a worker that lost its lease never overwrites newer state.
 * A flow waits on **waits** (callbacks with global ids, timers with due times) registered by
 * commits. A delivery to a callback, a fired timer or a cancel request becomes a durable
 * **event** of the flow; events stay pending until a commit names them as consumed, so an event
 * that arrives while a run is in progress is applied by the next run, exactly once.
 *
 * Time is always passed in by the caller (`now`, milliseconds since the epoch) so that tests and
 * `dtasks/testing` can run days of timers on a virtual clock. Payloads (snapshots, results,
 * errors, event payloads) are opaque `string | Uint8Array` and come back in the form they were
 * given: the store never decodes them.
 *
 * @module
 */

/** Opaque payload bytes. A string comes back as a string, a `Uint8Array` as a `Uint8Array`. */
export type Bytes = string | Uint8Array;

/** A JSON value, as stored for small records (`metadata`, `lastError`). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * Where a flow stands, as of its last commit. Whether a worker is running it right now is told by
 * its lease ({@link FlowSummary.lease}), not by the status: a claim does not write the status, so a
 * released or expired lease never leaves a stale `running` behind.
 *
 * - `running`: created and not yet committed, or committed by a lease-keeping checkpoint.
 * - `suspended`: committed and waiting: on waits, on pending events, or runnable again (a yield).
 * - `succeeded` / `faulted` / `canceled`: finished. A finished flow has no waits, no pending
 *   events and no lease, and is deleted by {@link Store.sweep} once its retention has passed.
 */
export type FlowStatus = "running" | "suspended" | "succeeded" | "faulted" | "canceled";

/** The three final statuses. */
export type FinishedFlowStatus = "succeeded" | "faulted" | "canceled";

/** Every {@link FlowStatus}, in lifecycle order. */
export const FLOW_STATUSES: readonly FlowStatus[] = [
  "running",
  "suspended",
  "succeeded",
  "faulted",
  "canceled",
];

/** True for `succeeded`, `faulted` and `canceled`. */
export function isFinishedStatus(status: FlowStatus): status is FinishedFlowStatus {
  return status === "succeeded" || status === "faulted" || status === "canceled";
}

/**
 * Why the last run of a flow could not make progress (for example its function changed: the
 * flow stays suspended and intact, and a worker running matching code resumes it later).
 * Recorded by {@link CommitInput.lastError}; cleared by any commit that does not set it.
 */
export interface FlowLastError {
  /** A `DTxxx` code. */
  code: string;
  /** What happened, for people. */
  message: string;
  /** The d-async function involved, when there is one. */
  functionId?: string;
  /** Anything else worth keeping (for example both function versions). Small JSON only. */
  details?: JsonObject;
}

/** The public part of a lease: who holds a flow and until when. The token is never listed. */
export interface LeaseInfo {
  /** The claimer's `owner` string (a worker id), for diagnostics. */
  owner: string;
  /** When the lease expires unless renewed (ms). After that the flow can be claimed by others. */
  expiresAt: number;
}

/** A held lease. `token` proves ownership to {@link Store.commit} and friends. */
export interface Lease extends LeaseInfo {
  /** Secret fencing token, different for every claim. */
  token: string;
}

/** A flow without its payloads: what {@link Store.listFlows} returns. */
export interface FlowSummary {
  id: string;
  status: FlowStatus;
  /** 0 at creation, +1 for every commit. */
  revision: number;
  /** The d-async function the flow started with. */
  rootFunctionId: string;
  lastError: FlowLastError | null;
  metadata: JsonObject | null;
  createdAt: number;
  /** Time of the last create or commit. */
  updatedAt: number;
  finishedAt: number | null;
  /** When a finished flow becomes eligible for {@link Store.sweep}; null = kept forever. */
  expiresAt: number | null;
  /**
   * When the flow is next runnable: the earliest of a requested wake-up (a yield), its next
   * timer and its oldest pending event, but not before {@link CommitInput.deferUntil}. Null when it
   * only waits on callbacks (or is finished).
   */
  readyAt: number | null;
  /** The current lease, possibly expired. */
  lease: LeaseInfo | null;
}

/** A whole flow: {@link FlowSummary} plus the payloads. */
export interface FlowRecord extends FlowSummary {
  /** The last committed snapshot (null before the first one, or if a commit cleared it). */
  snapshot: Bytes | null;
  /** The result payload of a succeeded flow (whatever the last commit wrote). */
  result: Bytes | null;
  /** The error payload of a faulted or canceled flow (whatever the last commit wrote). */
  error: Bytes | null;
}

/** What can wake a flow. */
export type EventKind =
  /** A callback was resumed with a value ({@link Store.deliver}). */
  | "resume"
  /** A callback was failed with an error ({@link Store.deliver}). */
  | "fail"
  /** A timer came due (turned into an event by {@link Store.claim} or a lease-keeping commit). */
  | "timer"
  /** Someone asked to cancel the flow ({@link Store.requestCancel}). */
  | "cancel";

/** A durable, pending event of a flow. */
export interface FlowEvent {
  /** Store-assigned, unique within the store. Name it in {@link CommitInput.consumedEvents}. */
  id: string;
  kind: EventKind;
  /** The callback id (`resume`, `fail`) or timer id (`timer`); null for `cancel`. */
  waitId: string | null;
  /** The delivered payload; null for timers and payload-less cancels. */
  payload: Bytes | null;
  /** When it happened: delivery time, or a timer's due time. Events are listed in this order. */
  at: number;
}

/** A wait registered by a commit. Ids are chosen by the caller (random, ≥128 bits). */
export type WaitSpec =
  /** An external callback. Its id is unique in the whole store (it is what `host.resume` takes). */
  | { kind: "callback"; id: string }
  /** A durable timer of this flow. Its id is unique within the flow. */
  | { kind: "timer"; id: string; dueAt: number };

/**
 * A callback's lifecycle: `waiting` until delivered; `delivered` forever after (a second delivery
 * is rejected with DT503); `canceled` once the flow stopped awaiting it (a commit removed it, or
 * the flow finished), after which a delivery is rejected with DT502.
 */
export type CallbackState = "waiting" | "delivered" | "canceled";

/** A callback, as {@link Store.getCallback} reports it. */
export interface CallbackRecord {
  id: string;
  flowId: string;
  state: CallbackState;
  createdAt: number;
  deliveredAt: number | null;
}

/** {@link Store.createFlow} input. */
export interface CreateFlowInput {
  /** The flow id (≥128 random bits, URL-safe). A duplicate is rejected with DT406. */
  id: string;
  rootFunctionId: string;
  /**
   * The initial snapshot (the root call), so that another worker can run the flow if this process
   * dies before its first commit (the flow is runnable as soon as the creator's lease expires).
   */
  snapshot?: Bytes | null;
  metadata?: JsonObject | null;
  /** The creator's worker id; it holds the lease from the start. */
  owner: string;
  /** Lease length, ms (> 0). */
  leaseMs: number;
  now: number;
}

/** {@link Store.createFlow} result. */
export interface CreatedFlow {
  id: string;
  /** Always 0. */
  revision: number;
  lease: Lease;
}

/**
 * {@link Store.commit} input: everything a run changes, written atomically, or nothing at all.
 * Fields marked "omitted = unchanged" keep their stored value when left out.
 */
export interface CommitInput {
  flowId: string;
  /** The revision the run started from (from the claim, the create, or the previous commit). */
  revision: number;
  /** The lease token the run holds. */
  leaseToken: string;
  now: number;
  /**
   * The new status. A finished status (`succeeded`, `faulted`, `canceled`) also cancels every
   * remaining wait, drops every pending event, releases the lease, sets `finishedAt` and the
   * retention deadline, and publishes the status on {@link flowChannel}.
   */
  status: FlowStatus;
  /** The new snapshot; null clears it. Omitted = unchanged. */
  snapshot?: Bytes | null;
  /** Result payload (succeeded flows). Omitted = unchanged. */
  result?: Bytes | null;
  /** Error payload (faulted or canceled flows). Omitted = unchanged. */
  error?: Bytes | null;
  /** Why this run could not make progress. Omitted = cleared: it always describes the last commit. */
  lastError?: FlowLastError | null;
  /** Replaces the metadata object; null clears it. Omitted = unchanged. */
  metadata?: JsonObject | null;
  /** New waits. A callback id in use anywhere, or a timer id in use in this flow, is DT406. */
  addWaits?: readonly WaitSpec[];
  /**
   * Ids of waits the flow no longer needs (a whenAny loser, a canceled delay). Their pending
   * events, if any arrived meanwhile, are dropped with them; callbacks become `canceled`. Unknown or
   * already finished ids are ignored.
   */
  removeWaits?: readonly string[];
  /**
   * The events this run applied. They are deleted (a delivered callback stays `delivered`). Every
   * id must be a pending event of this flow, else DT405. Events not named stay pending and keep
   * the flow runnable.
   */
  consumedEvents?: readonly string[];
  /**
   * An extra wake-up: `now` for a yield, a future time for a scheduled retry, null/omitted for
   * none. Timers and pending events count on their own; this never has to repeat them.
   */
  runnableAt?: number | null;
  /**
   * Not runnable before this time even with pending events or due timers: a back-off after a run
   * that could not make progress (for example a version mismatch recorded in `lastError`).
   */
  deferUntil?: number | null;
  /**
   * Keep the lease instead of releasing it, to go on running the flow in process (a checkpoint):
   * afterwards it runs at least `0.9 × keepLeaseMs` more (stores renew it to `now + keepLeaseMs`
   * when less is left, rather than on every checkpoint). The result then carries the lease and the
   * pending events. Not allowed with a finished status.
   */
  keepLeaseMs?: number;
  /** Retention of a finished flow, ms from now; `Infinity` = keep forever. Default: the store's. */
  retentionMs?: number;
}

/** {@link Store.commit} result. */
export interface CommitResult {
  /** The new revision: pass it to the next commit. */
  revision: number;
  /** The renewed lease when `keepLeaseMs` was given, else null. */
  lease: Lease | null;
  /**
   * With `keepLeaseMs`: the flow's pending events after the commit (those that arrived during the
   * run, and timers now due), exactly as a claim would return them. Otherwise empty.
   */
  events: FlowEvent[];
  /** When the flow is next runnable (see {@link FlowSummary.readyAt}). */
  readyAt: number | null;
}

/** {@link Store.claim} input. */
export interface ClaimInput {
  /** The claimer's worker id (diagnostics only: ownership is proved by the lease token). */
  owner: string;
  /** Lease length, ms (> 0). Renew with {@link Store.renewLease} before it runs out. */
  leaseMs: number;
  /** At most this many flows (integer from 1 to {@link MAX_CLAIM}). */
  limit: number;
  now: number;
}

/** The largest `limit` of one {@link Store.claim}: a worker with more free slots claims in batches. */
export const MAX_CLAIM = 1000;

/** A claimed flow: everything needed to run it. */
export interface ClaimedFlow {
  id: string;
  /** Pass it to the commit. */
  revision: number;
  /** As of the last commit. */
  status: FlowStatus;
  rootFunctionId: string;
  snapshot: Bytes | null;
  metadata: JsonObject | null;
  /** Pending events in the order they happened (`at`, then arrival). May be empty (a yield, a recovery). */
  events: FlowEvent[];
  lease: Lease;
  /** Claims since the last commit, this one included: > 1 means earlier runs died or gave up. */
  attempt: number;
}

/** Identifies a held lease. */
export interface LeaseRef {
  flowId: string;
  token: string;
  now: number;
}

/** {@link Store.deliver} input. */
export interface DeliverInput {
  callbackId: string;
  kind: "resume" | "fail";
  /** The encoded value (`resume`) or error (`fail`). */
  payload: Bytes;
  now: number;
}

/** {@link Store.deliver} result. */
export interface DeliverResult {
  flowId: string;
  eventId: string;
}

/** {@link Store.requestCancel} input. */
export interface CancelInput {
  flowId: string;
  /** An optional encoded reason, handed to the run with the `cancel` event. */
  payload?: Bytes | null;
  now: number;
}

/**
 * {@link Store.requestCancel} result: `requested` (a new `cancel` event), `pending` (one was
 * already waiting to be applied; nothing added), `finished` (the flow had already finished).
 */
export interface CancelResult {
  outcome: "requested" | "pending" | "finished";
  eventId: string | null;
}

/** {@link Store.listFlows} query. */
export interface ListFlowsQuery {
  /** Only flows in this status (or these statuses). */
  status?: FlowStatus | readonly FlowStatus[];
  /** Page size, 1–1000. @default 100 */
  limit?: number;
  /** The `next` cursor of the previous page. */
  after?: string | null;
  /** By creation time (then id). @default "desc" (newest first) */
  order?: "asc" | "desc";
}

/** A page of {@link Store.listFlows}. */
export interface FlowPage {
  flows: FlowSummary[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

/** {@link Store.sweep} input. */
export interface SweepInput {
  now: number;
  /** At most this many flows per call (keeps transactions short). @default 1000 */
  limit?: number;
}

/** {@link Store.sweep} result. */
export interface SweepResult {
  /** Finished flows deleted, with everything attached to them. */
  flows: number;
}

/**
 * Record counts per table or key family (`flows`, `callbacks`, `timers`, `events`, `leases`,
 * `notifications`, plus engine-specific ones). For tests and diagnostics: after every flow has
 * been swept, every count is 0.
 */
export type RecordCounts = Readonly<Record<string, number>>;

/** A pub/sub listener. Called at most once per message; exceptions are reported, not thrown. */
export type MessageListener = (message: string, channel: string) => void;

/** Ends a subscription. Idempotent. */
export type Unsubscribe = () => Promise<void>;

/**
 * The channel on which the store announces that flows became claimable: a delivery or cancel
 * request for an unleased flow, or a commit/release that leaves a flow unleased with a wake-up
 * time. The message is that time in ms, as a decimal string (it may be in the future: a new
 * earliest timer). Idle workers subscribe, so they need not poll.
 */
export const WORK_CHANNEL = "work";

/** What the store publishes on {@link flowChannel}. */
export type FlowChannelMessage = FinishedFlowStatus | "cancel-requested";

/**
 * The channel of one flow: the store publishes its final status there when it finishes (in the
 * same transaction as the commit), and `cancel-requested` on {@link Store.requestCancel}.
 * `flow.result()` subscribes first, then reads the flow, then waits.
 */
export function flowChannel(flowId: string): string {
  return `flow:${flowId}`;
}

/** Largest channel name, in characters (PostgreSQL identifiers and Redis keys stay small). */
export const MAX_CHANNEL_LENGTH = 200;

/**
 * Largest pub/sub message, in UTF-8 bytes. PostgreSQL NOTIFY payloads stop at 8000 bytes;
 * messages are wake-ups that carry ids, never results.
 */
export const MAX_MESSAGE_BYTES = 7168;

/**
 * Durable storage for flows. Every method is atomic. Every method of a closed store rejects with
 * DT403. Arguments are checked (DT405, naming the argument); driver failures are DT402 with the
 * driver's error as `cause`.
 */
export interface Store {
  /** The engine's name (`"memory"`, `"sqlite"`, …), for diagnostics. */
  readonly engine: string;

  /** Creates a running flow leased to its creator. Duplicate id → DT406. */
  createFlow(input: CreateFlowInput): Promise<CreatedFlow>;

  /**
   * Atomically writes a run's outcome, conditional on `revision` and the lease (fencing): a stale
   * revision, a lease held by someone else, an expired lease, or a flow that is gone → DT401 and
   * nothing is written. See {@link CommitInput} for the pieces.
   */
  commit(input: CommitInput): Promise<CommitResult>;

  /**
   * Leases up to `limit` runnable flows: not finished, `readyAt <= now`, and not leased (or the
   * lease expired: crash recovery). Oldest `readyAt` first. Due timers are turned into `timer`
   * events. Concurrent claimers, in any number of processes, never get the same flow.
   */
  claim(input: ClaimInput): Promise<ClaimedFlow[]>;

  /** Extends a held, unexpired lease to `now + leaseMs`. Lost or expired → DT401. */
  renewLease(input: LeaseRef & { leaseMs: number }): Promise<Lease>;

  /**
   * Gives a lease up without committing (graceful shutdown). False if it was no longer held by this
   * token (nothing changed). The flow stays as it was: if it was runnable, it is runnable again.
   */
  releaseLease(input: LeaseRef): Promise<boolean>;

  /**
   * The earliest time at which {@link claim} may return something: the earliest `readyAt` of an
   * unleased flow, or `max(readyAt, lease expiry)` of a leased one. Null when nothing is scheduled.
   * May be in the past (claim now).
   */
  nextWakeAt(): Promise<number | null>;

  /**
   * Stores a `resume` or `fail` event for a waiting callback, durably, before returning; the flow
   * becomes runnable (or stays pending for the run that holds it). Unknown or no longer awaited
   * callback → DT502; already delivered → DT503. Exactly one delivery per callback succeeds.
   */
  deliver(input: DeliverInput): Promise<DeliverResult>;

  /** Stores a `cancel` event (at most one pending per flow). Unknown flow → DT501. */
  requestCancel(input: CancelInput): Promise<CancelResult>;

  /** The whole flow, or null if there is none (never created, or swept). */
  getFlow(flowId: string): Promise<FlowRecord | null>;

  /** Flows without payloads, by creation time, with cursor pagination. */
  listFlows(query?: ListFlowsQuery): Promise<FlowPage>;

  /** The callback and the flow it belongs to, or null if unknown. */
  getCallback(callbackId: string): Promise<CallbackRecord | null>;

  /**
   * Listens on a channel. Resolves once the subscription is active, so a message published after
   * that is delivered (subscribe, then read state, then wait: no lost wake-up). Listeners in this
   * process hear messages published by this store at once; other processes hear them through the
   * engine (SQLite: a polled table; Redis: pub/sub; PostgreSQL: LISTEN/NOTIFY).
   */
  subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe>;

  /** Publishes a message (at most {@link MAX_MESSAGE_BYTES}). Delivery is best effort, not durable. */
  publish(channel: string, message: string): Promise<void>;

  /**
   * Deletes finished flows whose retention has passed, with their callbacks, timers, events,
   * notifications and leases, oldest first, at most `limit`; also prunes old notifications.
   */
  sweep(input: SweepInput): Promise<SweepResult>;

  /** Record counts per table or key family. See {@link RecordCounts}. */
  countRecords(): Promise<RecordCounts>;

  /** Releases what the store opened (not what it was given). Idempotent. */
  close(): Promise<void>;
}
