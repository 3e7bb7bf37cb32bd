/**
 * The host: the public face of dtasks in a process. It starts flows (running them in process
 * until their first durable wait), delivers resumes and cancel requests to the store, reads flows
 * back, and runs workers. It holds no flow state of its own: everything is in the store, so any
 * number of hosts in any number of processes can share one.
 *
 * @module
 */
import { DCall, DTask } from "../core/dtask.js";
import { DTaskError } from "../core/errors.js";
import { FLOW_STATUSES, type FlowStatus, type JsonObject, type Store } from "../core/store.js";
import { closest } from "../core/suggest.js";
import { argumentError, checkKeys, describe, nonJsonPath, optionError } from "./check.js";
import { type Clock, systemClock } from "./clock.js";
import type { HostContext } from "./context.js";
import { FinishedOutcomes } from "./finished.js";
import { FlowHandleImpl, noFlow, StartedFlowImpl } from "./flow-handle.js";
import { FLOW_ID_PATTERN, newFlowId, newOwnerId } from "./ids.js";
import { flowInfo } from "./inspect.js";
import {
  type HostOptions,
  type ResolvedHostOptions,
  resolveHostOptions,
  resolveWorkerOptions,
  type WorkerOptions,
} from "./options.js";
import { encodeFailure, encodeResumeValue } from "./payload.js";
import { FlowRunner } from "./runner.js";
import { loadRuntime } from "./runtime.js";
import { Services } from "./services.js";
import type {
  ChannelListener,
  FlowHandle,
  FlowInfo,
  FlowList,
  GetOptions,
  Host,
  ListOptions,
  StartedFlow,
  StartOptions,
  Worker,
} from "./types.js";
import { WorkerImpl } from "./worker.js";

/** What `dtasks/testing` passes in: its virtual clock and worker defaults. */
export interface HostInternals {
  clock?: Clock;
  /** Used in messages: `createHost` or `createTestHost`. */
  factory?: string;
}

export class HostImpl implements Host {
  readonly #options: ResolvedHostOptions;
  readonly #clock: Clock;
  readonly #services = new Services();
  readonly #finished = new FinishedOutcomes();
  readonly #owner = newOwnerId("host");
  #store: Promise<Store> | undefined;
  #runner: Promise<FlowRunner> | undefined;
  #closing: Promise<void> | undefined;
  readonly #workers = new Set<WorkerImpl>();
  /** Public operations in progress: close() lets them finish before closing the store. */
  readonly #operations = new Set<Promise<unknown>>();
  readonly #closeListeners = new Set<(error: Error) => void>();
  readonly #context: HostContext;

  constructor(options: HostOptions | undefined, internals: HostInternals = {}) {
    this.#options = resolveHostOptions(options, internals.factory);
    this.#clock = internals.clock ?? systemClock;
    for (const [token, service] of Object.entries(this.#options.services))
      this.#services.register(token, service);
    if (this.#options.store !== undefined) this.#store = Promise.resolve(this.#options.store);
    this.#context = {
      store: () => this.#getStore(),
      runtime: () => loadRuntime(),
      assertOpen: (method) => this.#assertOpen(method),
      onClose: (listener) => {
        this.#closeListeners.add(listener);
        return () => this.#closeListeners.delete(listener);
      },
      finished: this.#finished,
    };
  }

  async start<T>(call: DTask<T> | DCall<T>, options?: StartOptions): Promise<StartedFlow<T>> {
    this.#assertOpen("host.start()");
    const root = checkStartCall(call);
    const { id, metadata } = checkStartOptions(options);
    return await this.#track(async () => {
      const store = await this.#getStore();
      const runner = await this.#getRunner();
      const flowId = id ?? newFlowId();
      // The root call is stored with the flow, so if this process dies before the first commit a
      // worker starts the flow again instead of losing it (and unstorable arguments fail here).
      const { startSnapshot } = await loadRuntime();
      const snapshot = startSnapshot(root, { services: this.#services, format: this.#options.format });
      const created = await store.createFlow({
        id: flowId,
        rootFunctionId: root.descriptor.id,
        snapshot,
        metadata: metadata ?? null,
        owner: this.#owner,
        leaseMs: this.#options.leaseMs,
        now: this.#clock.now(),
      });
      const outcome = await runner.run(
        {
          id: flowId,
          revision: created.revision,
          lease: created.lease,
          status: "running",
          snapshot: null,
          events: [],
          start: root,
        },
        { leaseMs: this.#options.leaseMs },
      );
      if (outcome.kind === "start-failed" || outcome.kind === "failed") throw outcome.error;
      // "lost": the lease expired during a very long first segment and a worker took the flow
      // over; it exists and progresses elsewhere, so the handle is still the right answer.
      const startStatus = outcome.kind === "committed" ? outcome.status : "running";
      return new StartedFlowImpl<T>(flowId, this.#context, startStatus);
    });
  }

  async get<T = unknown>(flowId: string, options?: GetOptions): Promise<FlowInfo<T>> {
    this.#assertOpen("host.get()");
    checkFlowId("host.get()", flowId);
    const { tasks = true } = checkGetOptions(options);
    return await this.#track(async () => {
      const record = await (await this.#getStore()).getFlow(flowId);
      if (record === null) throw noFlow(flowId);
      return flowInfo<T>(record, await loadRuntime(), { tasks });
    });
  }

  async list(options?: ListOptions): Promise<FlowList> {
    this.#assertOpen("host.list()");
    const query = checkListOptions(options);
    return await this.#track(async () => {
      const page = await (await this.#getStore()).listFlows(query);
      return { flows: page.flows, next: page.next };
    });
  }

  flow<T = unknown>(flowId: string): FlowHandle<T> {
    this.#assertOpen("host.flow()");
    checkFlowId("host.flow()", flowId);
    return new FlowHandleImpl<T>(flowId, this.#context);
  }

  async resume(callbackId: string, value?: unknown): Promise<{ flowId: string }> {
    this.#assertOpen("host.resume()");
    checkCallbackId("host.resume()", callbackId);
    // Encoded before anything is stored: a value that cannot be stored (DT301) changes nothing.
    const payload = encodeResumeValue(value, this.#options.format);
    return await this.#deliver(callbackId, "resume", payload);
  }

  async fail(callbackId: string, error: unknown): Promise<{ flowId: string }> {
    this.#assertOpen("host.fail()");
    checkCallbackId("host.fail()", callbackId);
    const payload = encodeFailure(error, this.#options.format);
    return await this.#deliver(callbackId, "fail", payload);
  }

  async cancel(flowId: string): Promise<{ outcome: "requested" | "pending" | "finished" }> {
    this.#assertOpen("host.cancel()");
    checkFlowId("host.cancel()", flowId);
    return await this.#track(async () => {
      const result = await (await this.#getStore()).requestCancel({ flowId, now: this.#clock.now() });
      return { outcome: result.outcome };
    });
  }

  async subscribe(channel: string, listener: ChannelListener): Promise<() => Promise<void>> {
    this.#assertOpen("host.subscribe()");
    checkChannel("host.subscribe()", channel);
    if (typeof listener !== "function") {
      throw argumentError("host.subscribe()", `the listener must be a function (got ${describe(listener)})`);
    }
    return await this.#track(async () => (await this.#getStore()).subscribe(channel, listener));
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen("host.publish()");
    checkChannel("host.publish()", channel);
    if (typeof message !== "string") {
      throw argumentError("host.publish()", `the message must be a string (got ${describe(message)})`);
    }
    await this.#track(async () => (await this.#getStore()).publish(channel, message));
  }

  registerService(token: string, value: object): void {
    this.#assertOpen("host.registerService()");
    this.#services.register(token, value);
  }

  startWorker(options?: WorkerOptions): Worker {
    this.#assertOpen("host.startWorker()");
    const resolved = resolveWorkerOptions(options, this.#options);
    const worker = new WorkerImpl({
      getStore: () => this.#getStore(),
      getRunner: () => this.#getRunner(),
      clock: this.#clock,
      options: resolved,
      onError: this.#options.onError,
      onDone: (w) => this.#workers.delete(w),
    });
    this.#workers.add(worker);
    return worker;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#workers].map((worker) => worker.stop()));
      await Promise.allSettled([...this.#operations]);
      const closed = new DTaskError("DT504", "the host was closed while waiting for a flow's result");
      for (const listener of [...this.#closeListeners]) listener(closed);
      this.#closeListeners.clear();
      if (this.#store !== undefined && this.#options.closeStore) {
        const store = await this.#store.catch(() => undefined);
        await store?.close();
      }
    })();
    return this.#closing;
  }

  #assertOpen(method: string): void {
    if (this.#closing !== undefined) {
      throw new DTaskError(
        "DT504",
        `${method} was called after host.close(); create a new host with createHost()`,
      );
    }
  }

  #deliver(
    callbackId: string,
    kind: "resume" | "fail",
    payload: string | Uint8Array,
  ): Promise<{ flowId: string }> {
    return this.#track(async () => {
      const store = await this.#getStore();
      const { flowId } = await store.deliver({ callbackId, kind, payload, now: this.#clock.now() });
      return { flowId };
    });
  }

  #track<T>(operation: () => Promise<T>): Promise<T> {
    const promise = operation();
    this.#operations.add(promise);
    const forget = () => this.#operations.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  #getStore(): Promise<Store> {
    this.#store ??= openDefaultStore();
    return this.#store;
  }

  #getRunner(): Promise<FlowRunner> {
    this.#runner ??= this.#getStore().then(
      (store) => new FlowRunner(store, this.#clock, this.#options, this.#services, this.#finished),
    );
    return this.#runner;
  }
}

/** The embedded default, loaded only now so that `import "dtasks"` does not load better-sqlite3. */
async function openDefaultStore(): Promise<Store> {
  const { sqliteStore, DEFAULT_SQLITE_PATH } = await import("../store/sqlite/index.js");
  return sqliteStore({ path: DEFAULT_SQLITE_PATH });
}

/** Calls handed to start(), so that starting one call twice at once is refused too. */
const startedCalls = new WeakSet<DCall<unknown>>();

function checkStartCall(call: unknown): DCall<unknown> {
  const method = "host.start()";
  if (call instanceof DCall) {
    if (call.status !== "pending" || startedCalls.has(call)) {
      throw argumentError(
        method,
        `this call of '${call.descriptor.id}' was already started (it is ${call.status}); call the d-async function again to start another flow`,
      );
    }
    startedCalls.add(call);
    return call;
  }
  if (DTask.isDTask(call)) {
    throw argumentError(
      method,
      `a flow starts with a call of a d-async function, not with DTask.${call.kind}(); wrap it: dasync(async function main() { await DTask.${call.kind}(…) })`,
    );
  }
  if (typeof call === "function") {
    throw argumentError(
      method,
      "got a function: pass a call of the d-async function, e.g. host.start(checkout(orderId))",
    );
  }
  if (call instanceof Promise) {
    throw argumentError(
      method,
      "got a Promise: host.start() takes a call of a d-async function (declared with dasync()), e.g. host.start(checkout(orderId)), not of an ordinary async function",
    );
  }
  throw argumentError(
    method,
    `expects a call of a d-async function, e.g. host.start(checkout(orderId)) (got ${describe(call)})`,
  );
}

function checkStartOptions(options: unknown): { id?: string; metadata?: JsonObject } {
  const where = "host.start()";
  const o = checkKeys(where, options, ["id", "metadata"]);
  if (o.id !== undefined && (typeof o.id !== "string" || !FLOW_ID_PATTERN.test(o.id))) {
    throw optionError(
      where,
      "id",
      `must be 1–128 characters of A–Z, a–z, 0–9, '_' and '-' (got ${describe(o.id)})`,
    );
  }
  if (o.metadata !== undefined) {
    if (typeof o.metadata !== "object" || o.metadata === null || Array.isArray(o.metadata)) {
      throw optionError(where, "metadata", `must be a JSON object (got ${describe(o.metadata)})`);
    }
    const bad = nonJsonPath(o.metadata);
    if (bad !== undefined) throw optionError(where, "metadata", `must be plain JSON data; '${bad}' is not`);
  }
  return o as { id?: string; metadata?: JsonObject };
}

function checkGetOptions(options: unknown): GetOptions {
  const where = "host.get()";
  const o = checkKeys(where, options, ["tasks"]);
  if (o.tasks !== undefined && typeof o.tasks !== "boolean") {
    throw optionError(where, "tasks", `must be true or false (got ${describe(o.tasks)})`);
  }
  return o as GetOptions;
}

function checkChannel(method: string, channel: unknown): void {
  if (typeof channel !== "string" || channel.length === 0) {
    throw argumentError(method, `the channel must be a non-empty string (got ${describe(channel)})`);
  }
}

function checkListOptions(options: unknown): ListOptions {
  const where = "host.list()";
  const o = checkKeys(where, options, ["status", "limit", "after", "order"]);
  if (o.status !== undefined) {
    const statuses = Array.isArray(o.status) ? o.status : [o.status];
    for (const status of statuses) {
      if (!FLOW_STATUSES.includes(status as FlowStatus)) {
        const near = typeof status === "string" ? closest(status, FLOW_STATUSES) : undefined;
        throw optionError(
          where,
          "status",
          `has ${describe(status)}, which is not a flow status${near ? ` (did you mean '${near}'?)` : ""}; use one of ${FLOW_STATUSES.join(", ")}`,
        );
      }
    }
  }
  if (
    o.limit !== undefined &&
    (typeof o.limit !== "number" || !Number.isInteger(o.limit) || o.limit < 1 || o.limit > 1000)
  ) {
    throw optionError(where, "limit", `must be an integer from 1 to 1000 (got ${describe(o.limit)})`);
  }
  if (o.after !== undefined && o.after !== null && typeof o.after !== "string") {
    throw optionError(
      where,
      "after",
      `must be the 'next' cursor of a previous page (got ${describe(o.after)})`,
    );
  }
  if (o.order !== undefined && o.order !== "asc" && o.order !== "desc") {
    throw optionError(where, "order", `must be "asc" or "desc" (got ${describe(o.order)})`);
  }
  return o as ListOptions;
}

function checkFlowId(method: string, flowId: unknown): void {
  if (typeof flowId !== "string" || flowId.length === 0) {
    throw argumentError(method, `the flow id must be a non-empty string (got ${describe(flowId)})`);
  }
}

function checkCallbackId(method: string, callbackId: unknown): void {
  if (typeof callbackId !== "string" || callbackId.length === 0) {
    throw argumentError(
      method,
      `the callback id must be the non-empty string given to the DTask.callback() callback (got ${describe(callbackId)})`,
    );
  }
}
