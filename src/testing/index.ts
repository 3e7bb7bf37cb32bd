/**
 * `dtasks/testing`: a host on a virtual clock, so that a flow that waits seven days is tested in
 * milliseconds. It is the real host (same store semantics, same worker, same leases and
 * commits) with time under the test's control: `advance("7d")` moves the clock, firing timers in
 * order and running every flow that becomes due, and `runUntilIdle()` waits until nothing is left
 * to run at the current time.
 *
 * @example
 * ```ts
 * import { test } from "node:test";
 * import assert from "node:assert/strict";
 * import { dasync, DTask } from "dtasks";
 * import { createTestHost } from "dtasks/testing";
 *
 * const remind = dasync(async function remind(user: string) {
 *   await DTask.delay("7d");
 *   return `reminded ${user}`;
 * });
 *
 * test("reminds after a week", async () => {
 *   const host = createTestHost();               // memory store, virtual clock, one worker
 *   const flow = await host.start(remind("ada"));
 *   await host.advance("6d");
 *   assert.equal(await flow.status(), "suspended");
 *   await host.advance("1d");
 *   assert.equal(await flow.result(), "reminded ada");
 *   await host.close();
 * });
 * ```
 *
 * @module
 */
import { type Duration, toMilliseconds } from "../core/duration.js";
import { DTaskError } from "../core/errors.js";
import type { Store } from "../core/store.js";
import { checkKeys, optionError } from "../host/check.js";
import { HostImpl } from "../host/host.js";
import { HOST_OPTION_KEYS, type HostOptions, type WorkerOptions } from "../host/options.js";
import type { Host, Worker } from "../host/types.js";
import type { WorkerImpl } from "../host/worker.js";
import { memoryStore } from "../store/memory/index.js";
import { VirtualClock } from "./virtual-clock.js";

/** Options of {@link createTestHost}: the host's, plus the clock's start and the worker's. */
export interface TestHostOptions extends HostOptions {
  /**
   * The store.
   * @default memoryStore()
   */
  store?: Store;
  /**
   * Where the virtual clock starts: ms since the epoch, or a Date.
   * @default the real time when the test host is created
   */
  now?: number | Date;
  /**
   * The test host's own worker, started at creation; `false` for none (start your own with
   * `startWorker`, which also runs on the virtual clock).
   * @default { pollInterval: Infinity, sweepInterval: "1h" }
   */
  worker?: WorkerOptions | false;
}

/** A {@link Host} on a virtual clock. */
export interface TestHost extends Host {
  /** The virtual time, ms since the epoch. */
  now(): number;
  /**
   * Moves the virtual clock forward by `duration`, firing due timers in order and running every
   * flow that becomes due on the way (each sees the time of its own timer), then waits until idle.
   */
  advance(duration: Duration): Promise<void>;
  /** Runs everything due at the current virtual time until nothing is left (no time passes). */
  runUntilIdle(): Promise<void>;
  /** The test host's worker (undefined with `worker: false`). */
  readonly worker: Worker | undefined;
  /** The store the test host uses (to count records, or to share it with a second host). */
  readonly store: Store;
}

/** Rounds of `runUntilIdle` before it decides a flow never stops (e.g. yields in an endless loop). */
const MAX_ROUNDS = 10_000;

class TestHostImpl extends HostImpl implements TestHost {
  readonly #clock: VirtualClock;
  readonly #workers: WorkerImpl[] = [];
  readonly worker: Worker | undefined;
  readonly store: Store;

  constructor(options: TestHostOptions, clock: VirtualClock) {
    const { now: _now, worker, ...hostOptions } = options;
    const store = hostOptions.store ?? memoryStore();
    super({ ...hostOptions, store }, { clock, factory: "createTestHost" });
    this.store = store;
    this.#clock = clock;
    this.worker =
      worker === false
        ? undefined
        : this.startWorker({ pollInterval: Infinity, sweepInterval: "1h", ...worker });
  }

  override startWorker(options?: WorkerOptions): Worker {
    const worker = super.startWorker(options) as WorkerImpl;
    // A flow that yields forever must come back between rounds, to be reported (see MAX_ROUNDS).
    worker.runsOnWhileFree = false;
    this.#workers.push(worker);
    return worker;
  }

  now(): number {
    return this.#clock.now();
  }

  async advance(duration: Duration): Promise<void> {
    const target = this.#clock.now() + toMilliseconds(duration, "advance() duration");
    await this.runUntilIdle();
    const store = this.store;
    for (;;) {
      const now = this.#clock.now();
      const wake = await nextWake(store);
      const candidates = [this.#clock.nextDue(), wake].filter(
        (t): t is number => t !== undefined && t !== null && t > now,
      );
      const next = Math.min(...candidates);
      if (!(next <= target)) break;
      this.#clock.set(next);
      await this.runUntilIdle();
    }
    this.#clock.set(target);
    await this.runUntilIdle();
  }

  async runUntilIdle(): Promise<void> {
    const store = this.store;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      await turn();
      const fired = this.#clock.fireDue();
      const workers = this.#workers.filter((w) => w.state === "idle" || w.state === "running");
      const launched = workers.reduce((n, w) => n + w.launched, 0);
      for (const worker of workers) worker.poke();
      await Promise.all(workers.map((w) => w.whenSettled()));
      await turn();
      if (fired > 0 || (this.#clock.nextDue() ?? Infinity) <= this.#clock.now()) continue;
      if (workers.some((w) => w.active > 0)) continue;
      // Due work that no worker took this round (a worker backing off after a store failure)
      // waits for a timer: advance() fires it.
      const wake = await nextWake(store);
      const progressed = workers.reduce((n, w) => n + w.launched, 0) > launched;
      if (progressed && wake !== null && wake <= this.#clock.now()) continue;
      return;
    }
    throw new DTaskError(
      "DT505",
      `runUntilIdle(): still busy after ${MAX_ROUNDS} rounds at the same virtual time; does a flow yield in an endless loop?`,
    );
  }
}

const TEST_HOST_KEYS = [...HOST_OPTION_KEYS, "now", "worker"];

/** Creates a host on a virtual clock (memory store and one worker by default). */
export function createTestHost(options: TestHostOptions = {}): TestHost {
  const o = checkKeys("createTestHost", options, TEST_HOST_KEYS) as TestHostOptions;
  const start = o.now === undefined ? Date.now() : o.now instanceof Date ? o.now.getTime() : o.now;
  if (typeof start !== "number" || !Number.isFinite(start)) {
    throw optionError("createTestHost", "now", "must be a time in ms since the epoch, or a Date");
  }
  if (o.worker !== undefined && o.worker !== false && (typeof o.worker !== "object" || o.worker === null)) {
    throw optionError("createTestHost", "worker", "must be worker options, or false for no worker");
  }
  return new TestHostImpl(o, new VirtualClock(start));
}

export { VirtualClock } from "./virtual-clock.js";

/** The store's next wake-up; null while the store fails (the worker reports and retries that). */
async function nextWake(store: Store): Promise<number | null> {
  try {
    return await store.nextWakeAt();
  } catch {
    return null;
  }
}

/** Lets pending I/O callbacks and microtasks run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
