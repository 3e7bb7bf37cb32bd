/**
 * {@link MemoryStore}: the `Store` contract over plain maps. Every method does all of its checks
 * before its first mutation and never awaits in between, so each call is atomic with respect to
 * every other call in the process, which is all the isolation a single-process store needs.
 *
 * Payload bytes are copied in and out, and JSON records are kept serialized, so a caller that
 * mutates what it passed or got back cannot change stored state (as with a real database).
 *
 * @module
 */
import { DTaskError } from "../../core/errors.js";
import {
  type Bytes,
  type CallbackRecord,
  type CallbackState,
  type CancelInput,
  type CancelResult,
  type ClaimedFlow,
  type ClaimInput,
  type CommitInput,
  type CommitResult,
  type CreatedFlow,
  type CreateFlowInput,
  type DeliverInput,
  type DeliverResult,
  type EventKind,
  type FlowEvent,
  type FlowPage,
  type FlowRecord,
  type FlowStatus,
  type FlowSummary,
  flowChannel,
  isFinishedStatus,
  type Lease,
  type LeaseRef,
  type ListFlowsQuery,
  type MessageListener,
  type RecordCounts,
  type Store,
  type SweepInput,
  type SweepResult,
  type Unsubscribe,
  WORK_CHANNEL,
} from "../../core/store.js";
import { LocalBus } from "../shared/bus.js";
import { compareKeys, decodeCursor, encodeCursor } from "../shared/cursor.js";
import {
  alreadyDelivered,
  flowGone,
  idInUse,
  leaseLost,
  noCallback,
  noFlow,
  revisionConflict,
  storeClosed,
} from "../shared/errors.js";
import {
  checkLease,
  earliest,
  expiryOf,
  isClaimable,
  readyAtAfterCommit,
  readyAtAfterEvent,
  wakeTime,
} from "../shared/schedule.js";
import { newLeaseToken } from "../shared/token.js";
import {
  checkCancel,
  checkChannel,
  checkClaim,
  checkCommit,
  checkCreate,
  checkDeliver,
  checkId,
  checkLeaseRef,
  checkListener,
  checkListQuery,
  checkMessage,
  checkSweep,
} from "../shared/validate.js";
import type { ResolvedMemoryStoreOptions } from "./index.js";

interface MemEvent {
  seq: number;
  kind: EventKind;
  waitId: string | null;
  payload: Bytes | null;
  at: number;
}

interface MemFlow {
  id: string;
  status: FlowStatus;
  revision: number;
  rootFunctionId: string;
  snapshot: Bytes | null;
  result: Bytes | null;
  error: Bytes | null;
  lastErrorJson: string | null;
  metadataJson: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  expiresAt: number | null;
  readyAt: number | null;
  deferUntil: number | null;
  lease: Lease | null;
  attempts: number;
  /** Timer id → due time. */
  timers: Map<string, number>;
  /** Pending events, in arrival order. */
  events: MemEvent[];
  /** Ids of every callback ever registered by this flow (for deletion with it). */
  callbackIds: Set<string>;
}

interface MemCallback {
  id: string;
  flowId: string;
  state: CallbackState;
  createdAt: number;
  deliveredAt: number | null;
}

function copyBytes<T extends Bytes | null | undefined>(bytes: T): T {
  return (bytes instanceof Uint8Array ? new Uint8Array(bytes) : bytes) as T;
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export class MemoryStore implements Store {
  readonly engine = "memory";
  readonly #options: ResolvedMemoryStoreOptions;
  readonly #flows = new Map<string, MemFlow>();
  readonly #callbacks = new Map<string, MemCallback>();
  readonly #bus = new LocalBus();
  #nextEventSeq = 1;
  #closed = false;

  constructor(options: ResolvedMemoryStoreOptions) {
    this.#options = options;
  }

  #open(op: string): void {
    if (this.#closed) throw storeClosed(this.engine, op);
  }

  async createFlow(input: CreateFlowInput): Promise<CreatedFlow> {
    this.#open("createFlow");
    const c = checkCreate(input);
    if (this.#flows.has(c.id)) throw idInUse("flow", c.id);
    const lease: Lease = { token: newLeaseToken(), owner: c.owner, expiresAt: c.now + c.leaseMs };
    this.#flows.set(c.id, {
      id: c.id,
      status: "running",
      revision: 0,
      rootFunctionId: c.rootFunctionId,
      snapshot: copyBytes(c.snapshot),
      result: null,
      error: null,
      lastErrorJson: null,
      metadataJson: c.metadataJson,
      createdAt: c.now,
      updatedAt: c.now,
      finishedAt: null,
      expiresAt: null,
      // Runnable from the start: if the creator dies before its first commit, the flow is
      // recovered as soon as its lease runs out.
      readyAt: c.now,
      deferUntil: null,
      lease,
      attempts: 1,
      timers: new Map(),
      events: [],
      callbackIds: new Set(),
    });
    return { id: c.id, revision: 0, lease: { ...lease } };
  }

  async commit(input: CommitInput): Promise<CommitResult> {
    this.#open("commit");
    const c = checkCommit(input);
    const flow = this.#flows.get(c.flowId);
    if (flow === undefined) throw flowGone(c.flowId);
    const held = checkLease(flow.lease, c.leaseToken, c.now);
    if (held !== "held") throw leaseLost(c.flowId, held);
    if (flow.revision !== c.revision) throw revisionConflict(c.flowId, c.revision, flow.revision);
    const pending = new Set(flow.events.map((e) => String(e.seq)));
    for (const id of c.consumedEvents) {
      if (!pending.has(id)) {
        throw new DTaskError(
          "DT405",
          `store.commit: 'consumedEvents' names ${JSON.stringify(id)}, which is not a pending event of flow ${c.flowId}`,
        );
      }
    }
    for (const id of c.addCallbacks) if (this.#callbacks.has(id)) throw idInUse("callback", id);
    const removed = new Set(c.removeWaits);
    for (const t of c.addTimers) {
      if (flow.timers.has(t.id) && !removed.has(t.id)) throw idInUse("timer", t.id, c.flowId);
    }

    // Checks done: from here on nothing throws, so the commit is all or nothing.
    const consumed = new Set(c.consumedEvents);
    flow.events = flow.events.filter((e) => !consumed.has(String(e.seq)));
    for (const id of removed) this.#removeWait(flow, id);
    for (const id of c.addCallbacks) {
      this.#callbacks.set(id, { id, flowId: flow.id, state: "waiting", createdAt: c.now, deliveredAt: null });
      flow.callbackIds.add(id);
    }
    for (const t of c.addTimers) flow.timers.set(t.id, t.dueAt);

    flow.status = c.status;
    flow.revision += 1;
    flow.updatedAt = c.now;
    flow.attempts = 0;
    flow.lastErrorJson = c.lastErrorJson;
    if (c.snapshot !== undefined) flow.snapshot = copyBytes(c.snapshot);
    if (c.result !== undefined) flow.result = copyBytes(c.result);
    if (c.error !== undefined) flow.error = copyBytes(c.error);
    if (c.metadataJson !== undefined) flow.metadataJson = c.metadataJson;

    let lease: Lease | null = null;
    let events: FlowEvent[] = [];
    if (c.finished) {
      this.#finish(flow, c.now, c.retentionMs ?? this.#options.retentionMs);
      this.#bus.emit(flowChannel(flow.id), c.status);
    } else {
      flow.deferUntil = c.deferUntil;
      flow.readyAt = readyAtAfterCommit(
        c.runnableAt,
        earliest(...flow.timers.values()),
        earliest(...flow.events.map((e) => e.at)),
        c.deferUntil,
      );
      if (c.keepLeaseMs !== null) {
        lease = { token: c.leaseToken, owner: flow.lease!.owner, expiresAt: c.now + c.keepLeaseMs };
        flow.lease = lease;
        events = this.#collectEvents(flow, c.now);
        lease = { ...lease };
      } else {
        flow.lease = null;
        if (flow.readyAt !== null) this.#bus.emit(WORK_CHANNEL, String(flow.readyAt));
      }
    }
    return { revision: flow.revision, lease, events, readyAt: flow.readyAt };
  }

  /** Cancels one wait of `flow` and drops its pending events; unknown ids are ignored. */
  #removeWait(flow: MemFlow, id: string): void {
    flow.timers.delete(id);
    flow.events = flow.events.filter((e) => e.waitId !== id);
    const callback = this.#callbacks.get(id);
    if (callback !== undefined && callback.flowId === flow.id && callback.state === "waiting") {
      callback.state = "canceled";
    }
  }

  #finish(flow: MemFlow, now: number, retentionMs: number): void {
    for (const id of flow.callbackIds) {
      const callback = this.#callbacks.get(id)!;
      if (callback.state === "waiting") callback.state = "canceled";
    }
    flow.timers.clear();
    flow.events = [];
    flow.lease = null;
    flow.readyAt = null;
    flow.deferUntil = null;
    flow.finishedAt = now;
    flow.expiresAt = expiryOf(now, retentionMs);
  }

  /** Turns due timers into events and returns every pending event, oldest first. */
  #collectEvents(flow: MemFlow, now: number): FlowEvent[] {
    for (const [id, dueAt] of [...flow.timers].sort((a, b) => a[1] - b[1])) {
      if (dueAt > now) continue;
      flow.timers.delete(id);
      flow.events.push({ seq: this.#nextEventSeq++, kind: "timer", waitId: id, payload: null, at: dueAt });
    }
    return [...flow.events]
      .sort((a, b) => a.at - b.at || a.seq - b.seq)
      .map((e) => ({
        id: String(e.seq),
        kind: e.kind,
        waitId: e.waitId,
        payload: copyBytes(e.payload),
        at: e.at,
      }));
  }

  async claim(input: ClaimInput): Promise<ClaimedFlow[]> {
    this.#open("claim");
    const c = checkClaim(input);
    const candidates: MemFlow[] = [];
    for (const flow of this.#flows.values()) {
      if (!isFinishedStatus(flow.status) && isClaimable(flow.readyAt, flow.lease?.expiresAt ?? null, c.now)) {
        candidates.push(flow);
      }
    }
    candidates.sort((a, b) => a.readyAt! - b.readyAt! || (a.id < b.id ? -1 : 1));
    return candidates.slice(0, c.limit).map((flow) => {
      const lease: Lease = { token: newLeaseToken(), owner: c.owner, expiresAt: c.now + c.leaseMs };
      flow.lease = lease;
      flow.attempts += 1;
      return {
        id: flow.id,
        revision: flow.revision,
        status: flow.status,
        rootFunctionId: flow.rootFunctionId,
        snapshot: copyBytes(flow.snapshot),
        metadata: parseJson(flow.metadataJson),
        events: this.#collectEvents(flow, c.now),
        lease: { ...lease },
        attempt: flow.attempts,
      };
    });
  }

  async renewLease(input: LeaseRef & { leaseMs: number }): Promise<Lease> {
    this.#open("renewLease");
    const c = checkLeaseRef("renewLease", input, true);
    const flow = this.#flows.get(c.flowId);
    if (flow === undefined) throw flowGone(c.flowId, "renewLease");
    const held = checkLease(flow.lease, c.token, c.now);
    if (held !== "held") throw leaseLost(c.flowId, held, "renewLease");
    flow.lease = { ...flow.lease!, expiresAt: c.now + c.leaseMs };
    return { ...flow.lease };
  }

  async releaseLease(input: LeaseRef): Promise<boolean> {
    this.#open("releaseLease");
    const c = checkLeaseRef("releaseLease", input);
    const flow = this.#flows.get(c.flowId);
    // An expired lease that nobody took over is still ours to give back.
    if (flow?.lease == null || flow.lease.token !== c.token) return false;
    flow.lease = null;
    if (flow.readyAt !== null) this.#bus.emit(WORK_CHANNEL, String(flow.readyAt));
    return true;
  }

  async nextWakeAt(): Promise<number | null> {
    this.#open("nextWakeAt");
    let next: number | null = null;
    for (const flow of this.#flows.values()) {
      next = earliest(next, wakeTime(flow.readyAt, flow.lease?.expiresAt ?? null));
    }
    return next;
  }

  async deliver(input: DeliverInput): Promise<DeliverResult> {
    this.#open("deliver");
    const c = checkDeliver(input);
    const callback = this.#callbacks.get(c.callbackId);
    if (callback === undefined) throw noCallback(c.callbackId);
    if (callback.state === "delivered") throw alreadyDelivered(c.callbackId);
    if (callback.state === "canceled") throw noCallback(c.callbackId, "canceled");
    const flow = this.#flows.get(callback.flowId)!;
    callback.state = "delivered";
    callback.deliveredAt = c.now;
    const eventId = this.#addEvent(flow, c.kind, c.callbackId, c.payload, c.now);
    return { flowId: flow.id, eventId };
  }

  #addEvent(
    flow: MemFlow,
    kind: EventKind,
    waitId: string | null,
    payload: Bytes | null,
    now: number,
  ): string {
    const seq = this.#nextEventSeq++;
    flow.events.push({ seq, kind, waitId, payload: copyBytes(payload), at: now });
    flow.readyAt = readyAtAfterEvent(flow.readyAt, now, flow.deferUntil);
    // A run holding the lease will see the event at its commit; only free flows need a worker.
    if (flow.lease === null || flow.lease.expiresAt <= now)
      this.#bus.emit(WORK_CHANNEL, String(flow.readyAt));
    return String(seq);
  }

  async requestCancel(input: CancelInput): Promise<CancelResult> {
    this.#open("requestCancel");
    const c = checkCancel(input);
    const flow = this.#flows.get(c.flowId);
    if (flow === undefined) throw noFlow(c.flowId);
    if (isFinishedStatus(flow.status)) return { outcome: "finished", eventId: null };
    const pending = flow.events.find((e) => e.kind === "cancel");
    if (pending !== undefined) return { outcome: "pending", eventId: String(pending.seq) };
    const eventId = this.#addEvent(flow, "cancel", null, c.payload, c.now);
    this.#bus.emit(flowChannel(flow.id), "cancel-requested");
    return { outcome: "requested", eventId };
  }

  async getFlow(flowId: string): Promise<FlowRecord | null> {
    this.#open("getFlow");
    checkId("getFlow", "flowId", flowId);
    const flow = this.#flows.get(flowId);
    if (flow === undefined) return null;
    return {
      ...this.#summary(flow),
      snapshot: copyBytes(flow.snapshot),
      result: copyBytes(flow.result),
      error: copyBytes(flow.error),
    };
  }

  #summary(flow: MemFlow): FlowSummary {
    return {
      id: flow.id,
      status: flow.status,
      revision: flow.revision,
      rootFunctionId: flow.rootFunctionId,
      lastError: parseJson(flow.lastErrorJson),
      metadata: parseJson(flow.metadataJson),
      createdAt: flow.createdAt,
      updatedAt: flow.updatedAt,
      finishedAt: flow.finishedAt,
      expiresAt: flow.expiresAt,
      readyAt: flow.readyAt,
      lease: flow.lease === null ? null : { owner: flow.lease.owner, expiresAt: flow.lease.expiresAt },
    };
  }

  async listFlows(query?: ListFlowsQuery): Promise<FlowPage> {
    this.#open("listFlows");
    const q = checkListQuery(query);
    const after = q.after === null ? null : decodeCursor(q.after);
    const sign = q.order === "asc" ? 1 : -1;
    const rows = [...this.#flows.values()]
      .filter((f) => q.statuses === null || q.statuses.includes(f.status))
      .filter((f) => after === null || sign * compareKeys(f, after) > 0)
      .sort((a, b) => sign * compareKeys(a, b));
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      flows: page.map((f) => this.#summary(f)),
      next: rows.length > q.limit && last !== undefined ? encodeCursor(last) : null,
    };
  }

  async getCallback(callbackId: string): Promise<CallbackRecord | null> {
    this.#open("getCallback");
    checkId("getCallback", "callbackId", callbackId);
    const callback = this.#callbacks.get(callbackId);
    return callback === undefined ? null : { ...callback };
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    this.#open("subscribe");
    checkChannel("subscribe", channel);
    checkListener("subscribe", listener);
    const remove = this.#bus.add(channel, listener);
    return async () => remove();
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#open("publish");
    this.#bus.emit(checkChannel("publish", channel), checkMessage("publish", message));
  }

  async sweep(input: SweepInput): Promise<SweepResult> {
    this.#open("sweep");
    const c = checkSweep(input);
    const expired = [...this.#flows.values()]
      .filter((f) => f.expiresAt !== null && f.expiresAt <= c.now)
      .sort((a, b) => a.expiresAt! - b.expiresAt!)
      .slice(0, c.limit);
    for (const flow of expired) {
      for (const id of flow.callbackIds) this.#callbacks.delete(id);
      this.#flows.delete(flow.id);
    }
    return { flows: expired.length };
  }

  async countRecords(): Promise<RecordCounts> {
    this.#open("countRecords");
    let timers = 0;
    let events = 0;
    let leases = 0;
    for (const flow of this.#flows.values()) {
      timers += flow.timers.size;
      events += flow.events.length;
      if (flow.lease !== null) leases += 1;
    }
    // Messages are never stored in memory: they go straight to the listeners.
    return {
      flows: this.#flows.size,
      callbacks: this.#callbacks.size,
      timers,
      events,
      leases,
      notifications: 0,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#bus.clear();
  }
}
