/**
 * Runs a flow: the task table in process, from its start or its snapshot plus pending events,
 * until every task is suspended or the root has finished (quiescence); then says what to commit.
 *
 * - A d-async call awaited by a stack runs inline on that stack (no storage touched).
 * - whenAll/whenAny/run start pending calls as branches: tasks with their own stacks, run
 *   concurrently in this process. A branch that finishes without suspending never touches storage.
 * - Durable leaves (delay, callback, yield) park their waiters until an event completes them.
 * - When the root finishes, tasks still pending are canceled (their `finally` blocks run).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { DCancellationToken, type DCancellationTokenSource } from "../core/cancellation.js";
import {
  CallbackTask,
  DCall,
  DelayTask,
  type DTask,
  RunTask,
  WhenAllTask,
  WhenAnyTask,
} from "../core/dtask.js";
import { DTaskCanceledError, DTaskError, ensureError } from "../core/errors.js";
import type { Frame } from "../core/protocol.js";
import type { Bytes, FlowEvent, WaitSpec } from "../core/store.js";
import { formatOffender, isUnstorableValueError, marshal } from "../marshal/index.js";
import type {
  DecodeValue,
  DescribeSnapshot,
  LiveFlow,
  RunRequest,
  RunResult,
  ServiceRegistry,
  StartSnapshot,
  TaskView,
} from "./engine.js";
import { frameRecord, newFrame, resolveRecord, restoreFrame } from "./frames.js";
import { type AwaitDecision, drive, type Outcome } from "./local.js";
import {
  decodeWith,
  type EncodeContext,
  encodeWith,
  type FlowSnapshot,
  restoreTask,
  SNAPSHOT_VERSION,
  type TaskRecord,
} from "./snapshot.js";
import { isLeaf, kindOf, TaskState } from "./tasks.js";

/** How many times leftover tasks are canceled after the root finished before giving up on them. */
const MAX_CANCEL_ROUNDS = 8;

export class FlowRun {
  private readonly byObject = new Map<DTask<unknown>, TaskState>();
  private readonly byId = new Map<string, TaskState>();
  private nextId = 1;
  private root!: TaskState;
  private active = 0;
  private idle: (() => void) | null = null;
  /** Waits that existed before this run, by id. */
  private readonly loadedWaits = new Set<string>();
  /** Callbacks to call after the commit. */
  private readonly newCallbacks: TaskState[] = [];
  private readonly sources = new Set<DCancellationTokenSource>();
  private readonly consumed: string[] = [];
  private fatal: unknown = undefined;

  constructor(private readonly request: RunRequest) {}

  /** The time at this point of the run (never before its start), for due times. */
  private timeNow(): number {
    const read = this.request.clock;
    return read === undefined ? this.request.now : Math.max(this.request.now, read());
  }

  // ---- identity ----

  stateOf(task: DTask<unknown>): TaskState {
    let state = this.byObject.get(task);
    if (!state) {
      state = new TaskState(`t${this.nextId++}`, task);
      this.byObject.set(task, state);
      this.byId.set(state.id, state);
    }
    return state;
  }

  // ---- running ----

  /** See {@link startSnapshot}. */
  encodeStart(): Bytes {
    this.root = this.stateOf(this.request.start!);
    return this.encode().bytes;
  }

  async run(): Promise<RunResult> {
    const { request } = this;
    if (request.start) {
      this.root = this.stateOf(request.start);
      this.root.branch = true;
      request.start._status = "running";
      this.root.stack = [newFrame(request.start)];
      this.root.calls = [request.start];
      this.launch(this.root, undefined, false);
    } else {
      if (request.live instanceof LiveState && request.live.flowId === request.flowId)
        this.adopt(request.live);
      else if (request.snapshot) this.load(request.snapshot);
      else throw new DTaskError("DT302", "a flow run needs a start call or a snapshot");
      this.applyEvents(request.events);
      // A flow stored by `startSnapshot` whose starting process died before its first commit.
      if (this.root.obj._status === "pending") this.begin(this.root);
    }
    let encoded: Encoded | null = null;
    for (let attempt = 0; ; attempt++) {
      await this.quiescence();
      if (this.fatal !== undefined) throw this.fatal;
      if (this.root.done) {
        await this.cancelLeftovers();
        break;
      }
      try {
        encoded = this.encode();
        break;
      } catch (e) {
        if (!isUnstorableValueError(e)) throw e;
        this.rejectUnstorable(this.explainUnstorable(e), attempt);
      }
    }
    if (this.fatal !== undefined) throw this.fatal;
    return this.result(encoded);
  }

  /**
   * A value that cannot be stored is live across a durable wait: that wait rejects with the DT301
   * error at its await, in every task that holds such a value, so user code can handle it (and,
   * unhandled, it fails the flow like any error). Values held elsewhere fail the flow.
   */
  private rejectUnstorable(
    error: DTaskError & { offenders: { path: (string | number)[] }[] },
    attempt: number,
  ): void {
    const culprits = new Set<TaskState>();
    for (const { path } of error.offenders) {
      const at = path.indexOf("tasks");
      const task = this.byId.get(String(path[at + 1]));
      if (task?.stack && task.parkedOn && path[at + 2] === "frames") culprits.add(task);
    }
    if (culprits.size === 0 || attempt > 16) {
      this.complete(this.root, error, true);
      return;
    }
    for (const task of culprits) {
      const target = task.parkedOn!;
      target.waiters.splice(target.waiters.indexOf(task), 1);
      this.launch(task, error, true);
    }
  }

  /** Runs `task`'s stack from the outcome (v, t) until it parks or finishes. */
  private launch(task: TaskState, v: unknown, t: boolean): void {
    this.active++;
    task.parkedOn = null;
    if (task.obj._status === "suspended") task.obj._status = "running";
    drive(task.stack!, task.calls, v, t, {
      onAwait: (awaited) => this.onAwait(task, awaited),
      onCall: (call) => {
        this.stateOf(call);
      },
    })
      .then((outcome) => this.settled(task, outcome))
      .catch((error) => {
        // An invariant broke inside the driver: the run fails; the host keeps the old state.
        this.fatal ??= error;
      })
      .finally(() => {
        this.active--;
        if (this.active === 0) this.idle?.();
      });
  }

  private settled(task: TaskState, outcome: Outcome): void {
    if (outcome.status === "suspended") {
      const target = this.stateOf(outcome.wait);
      task.parkedOn = target;
      target.waiters.push(task);
      task.obj._status = "suspended";
      return;
    }
    task.stack = null;
    task.calls = [];
    if (outcome.status === "succeeded") this.complete(task, outcome.value, false);
    else this.complete(task, outcome.error, true);
  }

  private quiescence(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = () => {
        this.idle = null;
        resolve();
      };
    });
  }

  /** A stack awaits a DTask that does not run inline. */
  private onAwait(waiter: TaskState, awaited: DTask<unknown>): AwaitDecision {
    const target = this.stateOf(awaited);
    this.begin(target);
    if (target.done) return outcomeOf(target.obj);
    void waiter;
    return "park";
  }

  /** Starts a task if it has not started: leaves register their wait, combinators their children. */
  private begin(target: TaskState): void {
    const obj = target.obj;
    if (obj.isCompleted || obj._status !== "pending") return;
    if (obj instanceof DCall) {
      target.branch = true;
      obj._status = "running";
      target.stack = [newFrame(obj)];
      target.calls = [obj];
      this.launch(target, undefined, false);
      return;
    }
    obj._status = "suspended";
    if (obj instanceof DelayTask) {
      const token = obj.token;
      if (token instanceof DCancellationToken && token.isCancellationRequested) {
        this.complete(target, new DTaskCanceledError("the delay was canceled by its token"), true);
        return;
      }
      target.dueAt = this.timeNow() + obj.ms;
      target.waitId = `tm_${randomId()}`;
      if (token instanceof DCancellationToken) this.watchToken(target, token.source);
      return;
    }
    if (obj instanceof CallbackTask) {
      target.waitId = `cb_${randomId()}`;
      this.newCallbacks.push(target);
      return;
    }
    if (obj instanceof WhenAllTask || obj instanceof WhenAnyTask || obj instanceof RunTask) {
      const children = target.children.map((child) => this.stateOf(child));
      for (const child of children) child.watchers.push(target);
      for (const child of children) this.begin(child);
      if (obj instanceof RunTask) this.complete(target, obj.task, false);
      else this.evaluate(target);
      return;
    }
    if (kindOf(obj) === "yield") {
      target.waitId = `y_${target.id}`; // never stored as a wait: the flow is simply runnable now
      return;
    }
  }

  private watchToken(target: TaskState, source: DCancellationTokenSource): void {
    this.sources.add(source);
    source._listeners.push(() => {
      if (!target.done)
        this.complete(target, new DTaskCanceledError("the operation was canceled by its token"), true);
    });
  }

  /** Records an outcome and wakes whoever waits on it. */
  private complete(target: TaskState, value: unknown, isError: boolean): void {
    if (target.settled) return;
    target.settled = true;
    if (isError) target.obj._fail(value);
    else target.obj._succeed(value);
    const waiters = target.waiters.splice(0);
    for (const waiter of waiters) {
      if (waiter.parkedOn === target) this.launch(waiter, value, isError);
    }
    for (const watcher of target.watchers.splice(0)) this.evaluate(watcher);
  }

  /** Whether a combinator is done, given its children. */
  private evaluate(combinator: TaskState): void {
    if (combinator.done) return;
    const obj = combinator.obj;
    const children = combinator.children;
    if (obj instanceof WhenAnyTask) {
      const first = children.find((c) => c.isCompleted);
      if (first) this.complete(combinator, first, false);
      return;
    }
    if (!(obj instanceof WhenAllTask) || !children.every((c) => c.isCompleted)) return;
    if (obj.settled) {
      this.complete(
        combinator,
        children.map((c) =>
          c.isSucceeded ? { status: "fulfilled", value: c.result } : { status: "rejected", reason: c.error },
        ),
        false,
      );
      return;
    }
    const failed = children.find((c) => c.isFailed);
    if (failed) this.complete(combinator, failed.error, true);
    else
      this.complete(
        combinator,
        children.map((c) => c.result),
        false,
      );
  }

  // ---- events ----

  private applyEvents(events: FlowEvent[]): void {
    const byWait = new Map<string, TaskState>();
    for (const task of this.byId.values()) if (task.waitId) byWait.set(task.waitId, task);
    const wake: (() => void)[] = [];
    for (const event of events) {
      this.consumed.push(event.id);
      if (event.kind === "cancel") {
        wake.push(() => this.cancelAll());
        continue;
      }
      const source = event.waitId ? this.sourceByWait(event.waitId) : undefined;
      if (source) {
        wake.push(() => source._cancelNow());
        continue;
      }
      const target = event.waitId ? byWait.get(event.waitId) : undefined;
      if (!target || target.done) continue; // a wait the flow no longer needs
      if (event.kind === "timer") wake.push(() => this.complete(target, undefined, false));
      else if (event.kind === "resume")
        wake.push(() => this.complete(target, this.decodePayload(event.payload), false));
      else if (event.kind === "fail")
        wake.push(() => this.complete(target, ensureError(this.decodePayload(event.payload)), true));
    }
    // Yields are runnable as soon as the flow runs again.
    for (const task of [...this.byId.values()]) {
      if (task.kind === "yield" && !task.done && task.obj._status !== "pending")
        wake.push(() => this.complete(task, undefined, false));
    }
    // Sources whose cancelAfter is due.
    for (const source of this.sources) {
      if (source._cancelAt !== null && source._cancelAt <= this.request.now)
        wake.push(() => source._cancelNow());
    }
    for (const w of wake) w();
  }

  /** Cancels every pending durable wait of the flow (host.cancel). */
  private cancelAll(): void {
    for (const task of [...this.byId.values()]) {
      if (isLeaf(task.kind) && !task.done && task.obj._status !== "pending") {
        this.complete(task, new DTaskCanceledError("the flow was canceled"), true);
      }
    }
  }

  private sourceWaits = new Map<string, DCancellationTokenSource>();
  private sourceByWait(waitId: string): DCancellationTokenSource | undefined {
    return this.sourceWaits.get(waitId);
  }

  private decodePayload(payload: Bytes | null): unknown {
    return payload === null
      ? undefined
      : decodeWith({ objects: new Map(), services: this.request.services }, payload);
  }

  /** When the root has finished, the rest of the flow is canceled; their finally blocks run. */
  private async cancelLeftovers(): Promise<void> {
    for (let round = 0; round < MAX_CANCEL_ROUNDS; round++) {
      const pending = [...this.byId.values()].filter(
        (t) => !t.done && t.obj._status !== "pending" && (isLeaf(t.kind) || t.stack),
      );
      if (pending.length === 0) return;
      for (const task of pending) {
        if (isLeaf(task.kind))
          this.complete(task, new DTaskCanceledError("the flow finished; this wait was canceled"), true);
      }
      for (const task of pending) {
        if (!task.done && task.stack && task.parkedOn && !task.parkedOn.done) {
          const target = task.parkedOn;
          target.waiters.splice(target.waiters.indexOf(task), 1);
          this.launch(task, new DTaskCanceledError("the flow finished; this task was canceled"), true);
        }
      }
      await this.quiescence();
    }
  }

  // ---- snapshot ----

  private get format(): "json" | "msgpack" {
    return this.request.format ?? "json";
  }

  private load(bytes: Bytes): void {
    const objects = new Map<string, DTask<unknown>>();
    const sources: DCancellationTokenSource[] = [];
    const snapshot = decodeWith(
      { objects, services: this.request.services, onSource: (source) => sources.push(source) },
      bytes,
    ) as FlowSnapshot;
    if (!snapshot || snapshot.v !== SNAPSHOT_VERSION) {
      throw new DTaskError(
        "DT211",
        `unsupported flow snapshot version ${String((snapshot as { v?: unknown })?.v)}`,
      );
    }
    this.nextId = snapshot.n;
    const objectOf = (id: string): DTask<unknown> => {
      let obj = objects.get(id);
      if (!obj) {
        const record = snapshot.tasks[id];
        if (!record)
          throw new DTaskError("DT302", `corrupt snapshot: task ${id} is referenced but not stored`);
        obj = restoreTask(undefined, record, objectOf);
        objects.set(id, obj);
      }
      return obj;
    };
    // Rebuild every row: objects first, so rows can reference each other.
    for (const [id, record] of Object.entries(snapshot.tasks)) {
      const obj = restoreTask(objects.get(id), record, objectOf);
      objects.set(id, obj);
      const state = new TaskState(id, obj);
      this.byObject.set(obj, state);
      this.byId.set(id, state);
    }
    for (const [id, record] of Object.entries(snapshot.tasks)) {
      const state = this.byId.get(id)!;
      state.waitId = record.w ?? null;
      state.dueAt = record.due ?? null;
      state.loaded = true;
      state.settled = state.obj.isCompleted;
      if (state.waitId && state.kind !== "yield") this.loadedWaits.add(state.waitId);
      if (record.br) state.branch = true;
      if (record.frames) {
        state.stack = record.frames.map(restoreFrame);
        state.calls = (record.fc ?? []).map((callId) =>
          callId ? (this.byId.get(callId)?.obj as DCall<unknown>) : null,
        );
      }
    }
    for (const [id, record] of Object.entries(snapshot.tasks)) {
      if (!record.on) continue;
      const target = this.byId.get(record.on);
      if (!target)
        throw new DTaskError("DT302", `corrupt snapshot: task ${id} waits on a task that is not stored`);
      this.byId.get(id)!.parkedOn = target;
    }
    this.link(this.byId.values());
    const root = this.byId.get(snapshot.root);
    if (!root) throw new DTaskError("DT302", "corrupt snapshot: no root task");
    this.root = root;
    for (const source of sources) {
      this.sources.add(source);
      if (source._cancelAt !== null && !source._canceled) this.sourceWaits.set(sourceWaitId(source), source);
    }
    for (const waitId of this.sourceWaits.keys()) this.loadedWaits.add(waitId);
  }

  /** What the next run needs to go on from this one's memory: exactly what `encode` stored. */
  private keepLive(encoded: Encoded): LiveState {
    return new LiveState(this.request.flowId, this.root, this.nextId, encoded);
  }

  /**
   * Takes over the task table a previous run left (see `RunRequest.live`), in the state a decode
   * of its snapshot would give: only the stored rows and sources, waiters and watchers rebuilt,
   * token listeners pointing at this run. Locals stay live objects rather than decoded copies.
   */
  private adopt(live: LiveState): void {
    this.root = live.root;
    this.nextId = live.nextId;
    for (const state of live.tasks) {
      this.byObject.set(state.obj, state);
      this.byId.set(state.id, state);
      state.settled = state.obj.isCompleted;
      state.waiters.length = 0;
      state.watchers.length = 0;
      if (state.done) state.waitId = null;
    }
    for (const source of live.sources) {
      this.sources.add(source);
      source._listeners = [];
      if (source._cancelAt !== null && !source._canceled) this.sourceWaits.set(sourceWaitId(source), source);
    }
    this.link(live.tasks);
    for (const id of live.waits) this.loadedWaits.add(id);
  }

  /**
   * The links of a table just loaded or adopted, made for this run: each unfinished task joins the
   * waiters of the task it is parked on and the watchers of its children, and a delay given a
   * token listens to its source. (A finished task needs none: nothing wakes it again.)
   */
  private link(states: Iterable<TaskState>): void {
    for (const state of states) {
      if (state.done) continue;
      state.parkedOn?.waiters.push(state);
      for (const child of state.children) this.stateOf(child).watchers.push(state);
      const obj = state.obj;
      if (obj instanceof DelayTask && obj.token instanceof DCancellationToken)
        this.watchToken(state, obj.token.source);
    }
  }

  /** The rows to store: the root, running branches, and everything they reference. */
  private encode(): Encoded {
    const include = new Set<TaskState>([this.root]);
    for (const task of this.byId.values()) if (task.stack && !task.done) include.add(task);
    // Rows linked from rows (waits, children, calls on a stack) join before encoding; only rows
    // reached through stored values (a DTask in a local) need another pass.
    for (const task of include) {
      if (task.done) continue;
      if (task.parkedOn) include.add(task.parkedOn);
      for (const child of task.children) include.add(this.stateOf(child));
      for (const call of task.calls) if (call) include.add(this.stateOf(call));
    }
    const want = (state: TaskState): string => {
      if (!include.has(state)) {
        include.add(state);
        grew = true;
      }
      return state.id;
    };
    const identity = { idOf: (obj: DTask<unknown>) => want(this.stateOf(obj)), kindOf };
    /** The sources the stored values hold: what a decode of these bytes would bring back. */
    let stored = new Set<DCancellationTokenSource>();
    const context: EncodeContext = {
      identity,
      services: this.request.services,
      onSource: (source) => {
        stored.add(source);
        if (this.sources.has(source)) return;
        this.sources.add(source);
        grew = true;
      },
    };
    let grew = true;
    let bytes: Bytes = "";
    // Rows referenced from other rows' values join the table; encode again until nothing new.
    for (let pass = 0; grew; pass++) {
      grew = false;
      stored = new Set();
      for (const source of this.sources) {
        if (!source._canceled && source._cancelAfterMs !== null) {
          source._cancelAt = this.timeNow() + source._cancelAfterMs;
          source._cancelAfterMs = null;
        }
      }
      const tasks: Record<string, TaskRecord> = {};
      for (const state of [...include]) tasks[state.id] = this.record(state, want);
      const snapshot: FlowSnapshot = {
        v: SNAPSHOT_VERSION,
        root: this.root.id,
        branches: [...include].filter((t) => t.stack && !t.done && t !== this.root).map((t) => t.id),
        tasks,
        n: this.nextId,
      };
      bytes = encodeWith(context, snapshot, this.format);
      if (pass > 64) throw new Error("invariant: the task table did not converge");
    }
    const waits = new Map<string, WaitSpec>();
    for (const state of include) {
      if (!state.waitId || state.done) continue;
      if (state.kind === "delay")
        waits.set(state.waitId, { kind: "timer", id: state.waitId, dueAt: state.dueAt! });
      else if (state.kind === "callback") waits.set(state.waitId, { kind: "callback", id: state.waitId });
    }
    for (const source of this.sources) {
      if (source._canceled) continue;
      if (source._cancelAt !== null) {
        const id = sourceWaitId(source);
        waits.set(id, { kind: "timer", id, dueAt: source._cancelAt });
      }
    }
    return { bytes, waits, tasks: include, sources: stored };
  }

  private record(state: TaskState, link: (other: TaskState) => string): TaskRecord {
    const obj = state.obj;
    const record: TaskRecord = { k: state.kind, st: obj._status };
    if (obj._status === "succeeded") record.r = obj._value;
    else if (obj.isFailed) record.e = obj._error;
    if (obj instanceof DCall) {
      record.fn = obj.descriptor.id;
      if (obj._status === "pending") {
        record.a = obj.args;
        if (obj.descriptor.method) record.self = obj.self;
      }
      if (state.stack && !state.done) {
        record.frames = state.stack.map(frameRecord);
        record.fc = state.calls.map((call) => (call ? link(this.stateOf(call)) : null));
        if (state.branch) record.br = 1;
      }
    }
    if (state.parkedOn && !state.done) record.on = link(state.parkedOn);
    if (state.waitId && !state.done) record.w = state.waitId;
    if (obj instanceof DelayTask) {
      record.ms = obj.ms;
      if (state.dueAt !== null) record.due = state.dueAt;
      if (obj.token instanceof DCancellationToken && !state.done) record.tok = obj.token;
    }
    if (obj instanceof WhenAllTask || obj instanceof WhenAnyTask || obj instanceof RunTask) {
      if (!state.done || obj instanceof RunTask)
        record.ch = state.children.map((child) => link(this.stateOf(child)));
      if (obj instanceof WhenAllTask && obj.settled) record.set = 1;
    }
    return record;
  }

  // ---- result ----

  private result(encoded: Encoded | null): RunResult {
    const finished = this.root.done;
    const format = this.format;
    let snapshot: Bytes | null = null;
    let waits = new Map<string, WaitSpec>();
    let result: Bytes | null = null;
    let error: Bytes | null = null;
    let status: RunResult["status"];
    if (finished) {
      const obj = this.root.obj;
      status = obj.isSucceeded ? "succeeded" : obj.isCanceled ? "canceled" : "faulted";
      if (obj.isSucceeded) {
        try {
          result = encodeWith(
            { identity: resultIdentity, services: this.request.services },
            obj._value,
            format,
          );
        } catch (e) {
          status = "faulted";
          error = marshal(
            new DTaskError("DT301", `the flow's result cannot be stored: ${(e as Error).message}`),
            { format },
          );
        }
      } else {
        error = marshalError(obj._error, format);
      }
    } else {
      status = "suspended";
      ({ bytes: snapshot, waits } = encoded!);
    }
    const addWaits = [...waits.values()].filter((w) => !this.loadedWaits.has(w.id));
    const removeWaits = [...this.loadedWaits].filter((id) => !waits.has(id));
    const yields = [...this.byId.values()].some(
      (t) => t.kind === "yield" && !t.done && t.obj._status !== "pending",
    );
    const callbacks = this.newCallbacks.filter((t) => waits.has(t.waitId!));
    const onCallbackError = this.request.onCallbackError;
    return {
      status,
      snapshot,
      result,
      error,
      addWaits,
      removeWaits,
      consumedEvents: this.consumed,
      runnableAt: !finished && yields ? this.request.now : null,
      live: encoded && !finished ? this.keepLive(encoded) : null,
      async afterCommit() {
        for (const task of callbacks) {
          try {
            await (task.obj as CallbackTask<unknown>).callback(task.waitId!);
          } catch (e) {
            await onCallbackError?.(task.waitId!, ensureError(e));
          }
        }
      },
    };
  }

  /** DT301 with the variable names, declarations and awaits of every offender. */
  private explainUnstorable(
    error: Error & { offenders: { path: (string | number)[]; type: string; reason: string }[] },
  ): DTaskError & { offenders: { path: (string | number)[] }[] } {
    const lines = error.offenders.map((offender) => {
      const path = offender.path;
      const tasksAt = path.indexOf("tasks");
      const framesAt = path.indexOf("frames");
      const taskId = path[tasksAt + 1];
      const frameIndex = path[framesAt + 1];
      const slot = path[framesAt + 3];
      const task = typeof taskId === "string" ? this.byId.get(taskId) : undefined;
      const frame: Frame | undefined =
        task?.stack && typeof frameIndex === "number" ? task.stack[frameIndex] : undefined;
      if (!frame || path[framesAt + 2] !== "l" || typeof slot !== "string")
        return `  - ${formatOffender(offender as never)}`;
      const [name, declared] = frame.d.slots[slot] ?? [slot, ""];
      const point = frame.d.sp[frame.s];
      const rest = path.slice(framesAt + 4);
      const where = rest.length
        ? `${name}${rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("")}`
        : name;
      return `  - local '${where}'${declared ? ` (declared at ${declared})` : ""} of '${frame.d.id}', suspended at ${point?.loc ?? "?"} (${point?.src ?? "?"}): ${offender.type} — ${offender.reason}`;
    });
    const described = new DTaskError(
      "DT301",
      `cannot suspend the flow: ${lines.length === 1 ? "a value that is live across a durable await cannot" : "values that are live across durable awaits cannot"} be stored in a snapshot:\n${lines.join("\n")}`,
      { cause: error },
    );
    return Object.assign(described, { offenders: error.offenders });
  }
}

const resultIdentity = {
  idOf: () => "r",
  kindOf,
};

function outcomeOf(task: DTask<unknown>): AwaitDecision {
  return task.isSucceeded ? { v: task._value, t: false } : { v: task._error, t: true };
}

function randomId(): string {
  return randomBytes(16).toString("base64url");
}

const sourceIds = new WeakMap<DCancellationTokenSource, string>();
function sourceWaitId(source: DCancellationTokenSource): string {
  let id = sourceIds.get(source);
  if (!id) {
    id = `cts_${randomId()}`;
    sourceIds.set(source, id);
  }
  return id;
}

function marshalError(error: unknown, format: "json" | "msgpack"): Bytes {
  try {
    return marshal(error, { format });
  } catch {
    const plain = ensureError(error);
    return marshal(new Error(plain.message), { format });
  }
}

interface Encoded {
  bytes: Bytes;
  waits: Map<string, WaitSpec>;
  /** The rows stored. */
  tasks: Set<TaskState>;
  /** The cancellation sources the stored values hold. */
  sources: Set<DCancellationTokenSource>;
}

/** See `RunResult.live`: a suspended run's rows, sources and stored waits, by reference. */
class LiveState implements LiveFlow {
  readonly tasks: TaskState[];
  readonly sources: DCancellationTokenSource[];
  readonly waits: string[];
  constructor(
    readonly flowId: string,
    readonly root: TaskState,
    readonly nextId: number,
    encoded: Encoded,
  ) {
    this.tasks = [...encoded.tasks];
    this.sources = [...encoded.sources];
    this.waits = [...encoded.waits.keys()];
  }
}

/**
 * The snapshot of a flow that has not run yet: its root call (function id, arguments, receiver).
 * The host stores it when it creates the flow, so a flow whose starting process dies before the
 * first commit is started again by a worker rather than lost.
 */
export const startSnapshot: StartSnapshot = (call, options = {}) => {
  const run = new FlowRun({ flowId: "", start: call, events: [], now: 0, ...options });
  return run.encodeStart();
};

/** Runs a flow (see engine.ts). */
export async function runFlow(request: RunRequest): Promise<RunResult> {
  return new FlowRun(request).run();
}

/** Reads a marshaled result or error. DTasks inside come back as completed placeholders. */
export const decodeValue: DecodeValue = (bytes) => {
  return decodeWith({ objects: new Map(), services: undefined }, bytes);
};

/** A readable view of a snapshot's tasks (for host.get and `dtasks show`). */
export const describeSnapshot: DescribeSnapshot = (bytes) => {
  const services: ServiceRegistry = { tokenOf: () => undefined, resolve: (token) => ({ service: token }) };
  const snapshot = decodeWith({ objects: new Map(), services }, bytes) as FlowSnapshot;
  const views: TaskView[] = [];
  for (const [id, record] of Object.entries(snapshot.tasks)) {
    if (record.st === "succeeded" || record.st === "faulted" || record.st === "canceled") continue;
    views.push({
      id,
      status: record.st,
      waitingOn: describeWait(snapshot, record),
      frames: (record.frames ?? []).map((frame) => {
        let descriptor: ReturnType<typeof resolveRecord> | undefined;
        try {
          descriptor = resolveRecord(frame);
        } catch {
          descriptor = undefined;
        }
        const point = descriptor?.sp[frame.s];
        const locals: Record<string, unknown> = {};
        for (const [slot, value] of Object.entries(frame.l))
          locals[descriptor?.slots[slot]?.[0] ?? slot] = value;
        return {
          functionId: frame.fn,
          version: frame.v,
          await: point ? { loc: point.loc, src: point.src } : null,
          locals,
        };
      }),
    });
  }
  return views;
};

function describeWait(snapshot: FlowSnapshot, record: TaskRecord): string | null {
  if (record.k === "delay")
    return record.due !== undefined
      ? `delay until ${new Date(record.due).toISOString()}`
      : `delay ${record.ms}ms`;
  if (record.k === "callback") return `callback ${record.w}`;
  if (record.k === "yield") return "yield";
  if (record.k === "whenAll" || record.k === "whenAny")
    return `${record.k} of ${(record.ch ?? []).join(", ")}`;
  if (record.on) {
    const target = snapshot.tasks[record.on];
    return target ? `${record.on} (${describeWait(snapshot, target) ?? target.k})` : record.on;
  }
  return null;
}
