/**
 * The scheduling arithmetic every engine must agree on: when a flow is next runnable, whether a
 * lease still holds, and when a sleeping worker should wake up. Engines that compute these in SQL
 * or Lua mirror these functions; the conformance suite pins the results.
 *
 * @module
 */

/** The smallest of the given times, ignoring nulls; null if all are null. */
export function earliest(...times: (number | null | undefined)[]): number | null {
  let min: number | null = null;
  for (const t of times) if (t !== null && t !== undefined && (min === null || t < min)) min = t;
  return min;
}

/**
 * `readyAt` after a commit: the earliest of the requested wake-up, the next timer and the oldest
 * pending event, held back to `deferUntil`. Null when nothing but a callback can wake the flow.
 */
export function readyAtAfterCommit(
  runnableAt: number | null,
  earliestTimer: number | null,
  earliestEvent: number | null,
  deferUntil: number | null,
): number | null {
  const base = earliest(runnableAt, earliestTimer, earliestEvent);
  if (base === null) return null;
  return deferUntil === null ? base : Math.max(base, deferUntil);
}

/**
 * `readyAt` after a checkpoint that keeps the lease: a flow already runnable since `current` stays
 * so when it is runnable now again. Claimability is the same, and the flow's row is not moved in
 * the ready index on every checkpoint. (A commit that releases the lease takes `next` as it is:
 * requeued flows go to the back of the queue, for fairness.)
 */
export function keptReadyAt(current: number | null, next: number | null, now: number): number | null {
  return current !== null && next !== null && current <= next && next <= now ? current : next;
}

/**
 * The expiry of a lease a checkpoint keeps: renewed to `now + keepLeaseMs` only once less than
 * {@link KEPT_LEASE_SHARE} of that is left. A flow that checkpoints thousands of times a second then
 * rewrites its lease (and the lease index) a few times a minute instead of at every checkpoint,
 * and a long synchronous segment after a checkpoint still has nine tenths of the lease to run
 * before another worker may take the flow.
 */
export function keptLeaseExpiry(current: number, now: number, keepLeaseMs: number): number {
  return current - now >= keepLeaseMs * KEPT_LEASE_SHARE ? current : now + keepLeaseMs;
}

/** The share of `keepLeaseMs` a kept lease always has left after a checkpoint (the Redis and
 * PostgreSQL scripts write 0.9 themselves). */
const KEPT_LEASE_SHARE = 0.9;

/**
 * `readyAt` after an event arrives at `at`. Equal to recomputing {@link readyAtAfterCommit} with the
 * new event, because max(min(a, b), d) = min(max(a, d), max(b, d)): the stored value already has
 * the deferral applied, so the raw times need not be kept.
 */
export function readyAtAfterEvent(current: number | null, at: number, deferUntil: number | null): number {
  const eventReady = deferUntil === null ? at : Math.max(at, deferUntil);
  return current === null ? eventReady : Math.min(current, eventReady);
}

/** Why a lease does or does not hold for `token` at `now`. */
export type LeaseCheck = "held" | "stolen" | "expired" | "none";

export function checkLease(
  lease: { token: string; expiresAt: number } | null,
  token: string,
  now: number,
): LeaseCheck {
  if (lease === null) return "none";
  if (lease.token !== token) return "stolen";
  return lease.expiresAt > now ? "held" : "expired";
}

/** True when a flow with this `readyAt` and lease expiry can be claimed at `now`. */
export function isClaimable(readyAt: number | null, leaseExpiresAt: number | null, now: number): boolean {
  return readyAt !== null && readyAt <= now && (leaseExpiresAt === null || leaseExpiresAt <= now);
}

/** The time a flow may next be claimed: its `readyAt`, or later if a lease still has to run out. */
export function wakeTime(readyAt: number | null, leaseExpiresAt: number | null): number | null {
  if (readyAt === null) return null;
  return leaseExpiresAt === null ? readyAt : Math.max(readyAt, leaseExpiresAt);
}

/** Retention deadline of a flow finishing at `now`; null keeps it forever. */
export function expiryOf(now: number, retentionMs: number): number | null {
  return Number.isFinite(retentionMs) ? now + retentionMs : null;
}
