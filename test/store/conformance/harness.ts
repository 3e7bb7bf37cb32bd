/**
 * What an engine's test file hands to the conformance suite, and the helpers every section uses.
 *
 * @module
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Store, WaitSpec } from "../../../src/core/store.js";

/** One store under test, plus optional extra connections to the same storage. */
export interface StoreHarness {
  store: Store;
  /**
   * Opens another connection to the same storage (SQLite: the same file; Redis: another client),
   * for the engines where several processes share state. Omitted by the memory engine.
   */
  connect?: () => Store | Promise<Store>;
  /** Releases what the harness created (temporary files, key prefixes). */
  dispose?: () => void | Promise<void>;
}

/** What the engine can do beyond the common contract; sections register the matching tests. */
export interface StoreFeatures {
  /** Several connections (or processes) share one storage: the harness has `connect`. */
  connections: boolean;
}

/** Opens a fresh, empty store. */
export type StoreFactory = () => StoreHarness | Promise<StoreHarness>;

/** Runs `body` with a fresh store (and its extra connections), closing everything afterwards. */
export async function withStore(
  factory: StoreFactory,
  body: (store: Store, harness: StoreHarness & { peers: Store[] }) => Promise<void>,
): Promise<void> {
  const harness = await factory();
  const peers: Store[] = [];
  const connect = harness.connect;
  const wrapped = {
    ...harness,
    peers,
    connect:
      connect &&
      (async () => {
        const peer = await connect();
        peers.push(peer);
        return peer;
      }),
  };
  try {
    await body(harness.store, wrapped);
  } finally {
    for (const peer of peers) await peer.close();
    await harness.store.close();
    await harness.dispose?.();
  }
}

export function id(prefix = "f"): string {
  return `${prefix}-${randomBytes(12).toString("base64url")}`;
}

export const OWNER = "worker-a";
export const LEASE = 1_000;

/** Asserts that `promise` rejects with a DTaskError of `code` (and a message matching `message`). */
export async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    const e = error as { code?: string; message?: string; name?: string };
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    assert.equal(e.name, "DTaskError");
    if (message) assert.match(e.message ?? "", message);
    return true;
  });
}

/**
 * Creates a flow at `now` and commits it `suspended` with `waits` (and `runnableAt`), releasing the
 * lease: the usual state of a flow between runs. Returns its id and revision (1).
 */
export async function suspended(
  store: Store,
  options: {
    id?: string;
    now?: number;
    waits?: WaitSpec[];
    runnableAt?: number | null;
    snapshot?: string;
  } = {},
): Promise<{ id: string; revision: number }> {
  const now = options.now ?? 0;
  const created = await store.createFlow({
    id: options.id ?? id(),
    rootFunctionId: "test/flows#root",
    snapshot: options.snapshot ?? "s0",
    owner: OWNER,
    leaseMs: LEASE,
    now,
  });
  const { revision } = await store.commit({
    flowId: created.id,
    revision: 0,
    leaseToken: created.lease.token,
    now,
    status: "suspended",
    snapshot: "s1",
    addWaits: options.waits ?? [],
    runnableAt: options.runnableAt ?? null,
  });
  return { id: created.id, revision };
}

/** Claims everything claimable at `now` (one big batch). */
export async function claimAll(store: Store, now: number, owner = OWNER, leaseMs = LEASE) {
  return store.claim({ owner, leaseMs, limit: 1000, now });
}

/**
 * Resolves with the first message on `channel` that `accept` accepts, or rejects after `ms`;
 * `subscribed` resolves once the subscription is active (publish only after it).
 */
export function nextMessage(
  store: Store,
  channel: string,
  accept: (message: string) => boolean = () => true,
  ms = 5_000,
): Promise<string> & { subscribed: Promise<void> } {
  let unsubscribe: (() => Promise<void>) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let subscribedResolve!: () => void;
  const subscribed = new Promise<void>((resolve) => {
    subscribedResolve = resolve;
  });
  const received = new Promise<string>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no message on ${channel} within ${ms} ms`)), ms);
    store
      .subscribe(channel, (message) => {
        if (accept(message)) resolve(message);
      })
      .then((off) => {
        unsubscribe = off;
        subscribedResolve();
      }, reject);
  }).finally(async () => {
    clearTimeout(timer);
    await unsubscribe?.();
  });
  return Object.assign(received, { subscribed });
}

/** Lets queued microtasks and timers of 0 ms run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
