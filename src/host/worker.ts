/**
 * A worker: claims due flows (timers, yields, resumes, cancel requests, flows whose lease expired)
 * and runs them, at most `concurrency` at a time, each under a renewed lease.
 *
 * One scheduling function, {@link WorkerImpl.#schedule}, decides what happens next; everything
 * else (a timer, a work notification, a run that ended) only asks it to look again (`#pulse`). It
 * claims as many flows as there are free slots; when the store has nothing due, it sleeps until the
 * store's next wake-up (`nextWakeAt`), at most `pollInterval`, or until a work notification wakes
 * it. A failing store is retried with exponential back-off and jitter; a closed store fails the
 * worker.
 *
 * @module
 */
import { DTaskError, ensureError } from "../core/errors.js";
import {
  type ClaimedFlow,
  type Lease,
  MAX_CLAIM,
  type Store,
  type Unsubscribe,
  WORK_CHANNEL,
} from "../core/store.js";
import type { CancelTimer, Clock } from "./clock.js";
import { letEventLoopTurn } from "./event-loop.js";
import { newOwnerId } from "./ids.js";
import type { HostErrorContext, ResolvedWorkerOptions } from "./options.js";
import type { FlowRunner } from "./runner.js";
import type { Worker, WorkerState } from "./types.js";

interface ActiveRun {
  flowId: string;
  lease: Lease;
  /** Given back by a drain that timed out: the run may not go on in process. */
  abandoned: boolean;
  promise: Promise<void>;
}

export interface WorkerDeps {
  getStore(): Promise<Store>;
  getRunner(): Promise<FlowRunner>;
  clock: Clock;
  options: ResolvedWorkerOptions;
  onError(error: Error, context: HostErrorContext): void;
  /** Called once, when the worker is stopped or failed. */
  onDone(worker: WorkerImpl): void;
}

/** Sweep at most this many flows per store call (short transactions). */
const SWEEP_BATCH = 1000;

export class WorkerImpl implements Worker {
  readonly id: string;
  #state: WorkerState = "idle";
  #error: Error | undefined;
  readonly #active = new Map<string, ActiveRun>();
  readonly #deps: WorkerDeps;
  #store: Store | undefined;
  #runner: FlowRunner | undefined;
  #unsubscribe: Unsubscribe | undefined;
  #wake: { at: number; cancel: CancelTimer } | undefined;
  #sweepTimer: CancelTimer | undefined;
  /** A sweep in progress: the worker is not settled until it is done (dtasks/testing relies on it). */
  #sweeping = false;
  #pulsing = false;
  #pulseAgain = false;
  #failures = 0;
  #retryAt = 0;
  #stopping: Promise<void> | undefined;
  #resolveDone!: () => void;
  readonly done: Promise<void>;
  #settledWaiters: (() => void)[] = [];
  /** Keeps the process alive while the worker runs (its timers are unref'd, like the host's). */
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(deps: WorkerDeps) {
    this.#deps = deps;
    this.id = deps.options.id ?? newOwnerId("worker");
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    this.#keepAlive = setInterval(() => {}, 2 ** 30);
    void this.#boot();
  }

  get state(): WorkerState {
    return this.#state;
  }

  get active(): number {
    return this.#active.size;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    if (this.#state === "stopped" || this.#state === "failed") return this.done;
    this.#state = "draining";
    this.#stopping = this.#drain();
    return this.#stopping;
  }

  /** @internal (dtasks/testing) Runs started so far. */
  launched = 0;

  /**
   * @internal (dtasks/testing) Whether a flow that keeps yielding may run on past the fairness
   * limit while this worker has a free slot. The test host turns it off, so that a flow yielding
   * in an endless loop still comes back to `runUntilIdle` (and is reported) between rounds.
   */
  runsOnWhileFree = true;

  /** @internal (dtasks/testing) Look for work now. */
  poke(): void {
    this.#pulse();
  }

  /** @internal (dtasks/testing) Resolves when no run is in progress and the scheduler rests. */
  whenSettled(): Promise<void> {
    if (this.#isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  async #boot(): Promise<void> {
    try {
      this.#store = await this.#deps.getStore();
      this.#runner = await this.#deps.getRunner();
      this.#unsubscribe = await this.#store.subscribe(WORK_CHANNEL, (message) => this.#onWork(message));
    } catch (thrown) {
      const error = ensureError(thrown);
      if (this.#state === "draining") return this.#finish("stopped");
      if (isClosed(error)) return this.#fail(error);
      this.#storeFailed(error, "subscribe");
      // Try the whole boot again after the back-off.
      this.#setWake(this.#retryAt, () => void this.#boot());
      return;
    }
    if (this.#state === "draining") return;
    this.#scheduleSweep();
    this.#pulse();
  }

  #onWork(message: string): void {
    const at = Number(message);
    if (!Number.isFinite(at) || at <= this.#deps.clock.now()) this.#pulse();
    else this.#wakeAt(at);
  }

  #pulse(): void {
    if (this.#pulsing) {
      this.#pulseAgain = true;
      return;
    }
    if (this.#store === undefined) return;
    this.#pulsing = true;
    void this.#schedule().then(
      () => {
        this.#pulsing = false;
        if (this.#pulseAgain) this.#pulse();
        else this.#notifySettled();
      },
      (thrown) => {
        this.#pulsing = false;
        this.#fail(ensureError(thrown));
      },
    );
  }

  /** The one scheduling decision: claim into the free slots, or sleep until the next wake-up. */
  async #schedule(): Promise<void> {
    const store = this.#store!;
    const { clock, options } = this.#deps;
    let spins = 0;
    do {
      // Draining a backlog on a synchronous store: let the process's timers and I/O run.
      await letEventLoopTurn();
      this.#pulseAgain = false;
      if (this.#state !== "idle" && this.#state !== "running") return;
      const now = clock.now();
      if (now < this.#retryAt) {
        this.#wakeAt(this.#retryAt);
        return;
      }
      const free = options.concurrency - this.#active.size;
      if (free <= 0) return; // a run that ends pulses again
      // More free slots than one claim may fill (concurrency up to 1024): the rest next time round.
      const limit = Math.min(free, MAX_CLAIM);
      let claimed: ClaimedFlow[];
      let next: number | null = null;
      try {
        claimed = await store.claim({ owner: this.id, leaseMs: options.leaseMs, limit, now });
        if (claimed.length < limit) next = await store.nextWakeAt();
        this.#failures = 0;
      } catch (thrown) {
        const error = ensureError(thrown);
        if (isClosed(error)) return this.#fail(error);
        this.#storeFailed(error, "claim");
        this.#wakeAt(this.#retryAt);
        return;
      }
      if (this.#state !== "idle" && this.#state !== "running") {
        // stop() came while claiming: give these back at once.
        await Promise.all(claimed.map((c) => this.#release(c.id, c.lease)));
        return;
      }
      for (const flow of claimed) this.#launch(flow);
      if (claimed.length === limit) continue; // maybe more is due; if the slots are full, this returns
      // Nothing more is due now. Another claimer may have taken what nextWakeAt saw as due:
      // look again a couple of times, then rest until the poll interval.
      const wakeAt = Math.min(next ?? Infinity, clock.now() + options.pollMs);
      if (wakeAt <= clock.now() && spins++ < 2) this.#pulseAgain = true;
      // Past the spins, never sooner than a short pause: the store said "due" but gave nothing.
      else if (Number.isFinite(wakeAt))
        this.#wakeAt(Math.max(wakeAt, clock.now() + (spins > 2 ? Math.min(options.pollMs, 50) : 0)));
      if (this.#state === "idle" || this.#state === "running")
        this.#state = this.#active.size > 0 ? "running" : "idle";
    } while (this.#pulseAgain);
  }

  #launch(flow: ClaimedFlow): void {
    const run: ActiveRun = {
      flowId: flow.id,
      lease: flow.lease,
      abandoned: false,
      promise: Promise.resolve(),
    };
    this.#active.set(flow.id, run);
    this.#state = "running";
    this.launched++;
    run.promise = this.#runner!.run(
      {
        id: flow.id,
        revision: flow.revision,
        lease: flow.lease,
        status: flow.status,
        snapshot: flow.snapshot,
        events: flow.events,
      },
      {
        leaseMs: this.#deps.options.leaseMs,
        mayContinue: () => !run.abandoned && (this.#state === "idle" || this.#state === "running"),
        hasFreeSlot: () => this.runsOnWhileFree && this.#active.size < this.#deps.options.concurrency,
        onLease: (lease) => {
          run.lease = lease;
        },
      },
    )
      .then(
        (outcome) => {
          if (outcome.kind === "failed") this.#storeFailed(outcome.error, "commit", flow.id, false);
        },
        (thrown) => this.#deps.onError(ensureError(thrown), { operation: "run", flowId: flow.id }),
      )
      .finally(() => {
        this.#active.delete(flow.id);
        if (this.#state === "running" && this.#active.size === 0) this.#state = "idle";
        this.#pulse();
        this.#notifySettled();
      });
  }

  #storeFailed(error: Error, operation: HostErrorContext["operation"], flowId?: string, report = true): void {
    this.#failures++;
    const { retryMs, maxRetryMs } = this.#deps.options;
    const base = Math.min(maxRetryMs, retryMs * 2 ** Math.min(this.#failures - 1, 30));
    // Jitter spreads workers that all saw the same outage, so they do not come back in a burst.
    this.#retryAt = this.#deps.clock.now() + Math.round(base * (0.5 + Math.random() / 2));
    if (report) this.#deps.onError(error, flowId === undefined ? { operation } : { operation, flowId });
  }

  #wakeAt(at: number): void {
    if (this.#wake !== undefined && this.#wake.at <= at) return;
    this.#setWake(at, () => this.#pulse());
  }

  #setWake(at: number, fn: () => void): void {
    this.#wake?.cancel();
    const wake = {
      at,
      cancel: this.#deps.clock.setTimer(Math.max(0, at - this.#deps.clock.now()), () => {
        if (this.#wake === wake) this.#wake = undefined;
        fn();
      }),
    };
    this.#wake = wake;
  }

  #scheduleSweep(): void {
    const { sweepMs } = this.#deps.options;
    if (!Number.isFinite(sweepMs)) return;
    this.#sweepTimer = this.#deps.clock.setTimer(sweepMs, () => {
      this.#sweeping = true;
      void this.#sweep().finally(() => {
        this.#sweeping = false;
        if (this.#state === "idle" || this.#state === "running") this.#scheduleSweep();
        this.#notifySettled();
      });
    });
  }

  /** Deletes finished flows whose retention has passed, in batches. */
  async #sweep(): Promise<void> {
    try {
      for (;;) {
        const { flows } = await this.#store!.sweep({ now: this.#deps.clock.now(), limit: SWEEP_BATCH });
        if (flows < SWEEP_BATCH) return;
      }
    } catch (thrown) {
      const error = ensureError(thrown);
      if (isClosed(error)) return this.#fail(error);
      this.#deps.onError(error, { operation: "sweep" });
    }
  }

  async #drain(): Promise<void> {
    this.#stopTimers();
    if (this.#active.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      // Real time: draining is about a process being shut down, not about flow time.
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#deps.options.drainMs);
      });
      await Promise.race([Promise.allSettled([...this.#active.values()].map((r) => r.promise)), timeout]);
      clearTimeout(timer);
    }
    // Runs still going: give their flows back now rather than when their leases expire. Their
    // commits will be refused (fencing), and the next worker runs the segment again.
    await Promise.all(
      [...this.#active.values()].map((run) => {
        run.abandoned = true;
        return this.#release(run.flowId, run.lease);
      }),
    );
    await this.#unsubscribeWork();
    this.#finish("stopped");
  }

  async #release(flowId: string, lease: Lease): Promise<void> {
    try {
      await this.#store!.releaseLease({ flowId, token: lease.token, now: this.#deps.clock.now() });
    } catch (thrown) {
      this.#deps.onError(ensureError(thrown), { operation: "release", flowId });
    }
  }

  #fail(error: Error): void {
    if (this.#state === "stopped" || this.#state === "failed") return;
    this.#error = error;
    this.#deps.onError(error, { operation: "worker" });
    this.#stopTimers();
    void this.#unsubscribeWork();
    this.#finish("failed");
  }

  #finish(state: "stopped" | "failed"): void {
    if (this.#state === "stopped" || this.#state === "failed") return;
    this.#state = state;
    this.#stopTimers();
    clearInterval(this.#keepAlive);
    this.#resolveDone();
    this.#notifySettled();
    this.#deps.onDone(this);
  }

  #stopTimers(): void {
    this.#wake?.cancel();
    this.#wake = undefined;
    this.#sweepTimer?.();
    this.#sweepTimer = undefined;
  }

  async #unsubscribeWork(): Promise<void> {
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    try {
      await unsubscribe?.();
    } catch {
      // The store is closing or gone: nothing left to unsubscribe from.
    }
  }

  #isSettled(): boolean {
    return (
      (!this.#pulsing && !this.#sweeping && this.#active.size === 0) ||
      this.#state === "stopped" ||
      this.#state === "failed"
    );
  }

  #notifySettled(): void {
    if (!this.#isSettled()) return;
    const waiters = this.#settledWaiters;
    this.#settledWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function isClosed(error: Error): boolean {
  return error instanceof DTaskError && error.code === "DT403";
}
