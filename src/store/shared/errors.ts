/**
 * The store errors every engine raises, worded once so that memory, SQLite, Redis and PostgreSQL
 * say the same thing in the same situation (the conformance suite checks codes, people read the
 * messages).
 *
 * @module
 */
import { DTaskError } from "../../core/errors.js";

/** DT401: the commit's view of the flow is stale; nothing was written. */
export function revisionConflict(flowId: string, expected: number, actual: number): DTaskError {
  return new DTaskError(
    "DT401",
    `commit of flow ${flowId} rejected: it is at revision ${actual}, the run started from ${expected} ` +
      "(another run committed first); nothing was written",
  );
}

/** DT401: the lease is gone: another claimer holds it, it expired, or the flow has no lease. */
export function leaseLost(flowId: string, why: "stolen" | "expired" | "none", op = "commit"): DTaskError {
  const reason =
    why === "stolen"
      ? "its lease is now held by another claimer"
      : why === "expired"
        ? "its lease expired (renew it with renewLease before it runs out)"
        : "it is not leased (released, or finished)";
  return new DTaskError("DT401", `${op} on flow ${flowId} rejected: ${reason}; nothing was written`);
}

/** DT401: the flow no longer exists (swept) or never did. */
export function flowGone(flowId: string, op = "commit"): DTaskError {
  return new DTaskError(
    "DT401",
    `${op} on flow ${flowId} rejected: there is no such flow (swept?); nothing was written`,
  );
}

/** DT501: an operation that needs an existing flow. */
export function noFlow(flowId: string): DTaskError {
  return new DTaskError("DT501", `no flow with id ${JSON.stringify(flowId)}`);
}

/** DT502: no callback with that id is waiting. */
export function noCallback(callbackId: string, why: "unknown" | "canceled" = "unknown"): DTaskError {
  return new DTaskError(
    "DT502",
    why === "unknown"
      ? `no callback with id ${JSON.stringify(callbackId)} (never registered, or its flow was deleted after retention)`
      : `callback ${JSON.stringify(callbackId)} is no longer awaited: its flow finished or stopped waiting for it`,
  );
}

/** DT503: the callback already had its one delivery. */
export function alreadyDelivered(callbackId: string): DTaskError {
  return new DTaskError(
    "DT503",
    `callback ${JSON.stringify(callbackId)} was already resumed; a callback is resumed once`,
  );
}

/** DT406: a caller-chosen id collides. */
export function idInUse(what: "flow" | "callback" | "timer", id: string, flowId?: string): DTaskError {
  const where = what === "timer" && flowId !== undefined ? ` in flow ${flowId}` : "";
  return new DTaskError(
    "DT406",
    `a ${what} with id ${JSON.stringify(id)} already exists${where}; ids must be fresh`,
  );
}

/** DT403: any call after close(). */
export function storeClosed(engine: string, op: string): DTaskError {
  return new DTaskError(
    "DT403",
    `${engine} store: ${op}() was called after close(); create a new store instead`,
  );
}

/** DT402: a driver failure, with the driver's error as `cause`. Coded errors pass through. */
export function wrapDriverError(engine: string, op: string, thrown: unknown): DTaskError {
  if (thrown instanceof DTaskError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new DTaskError("DT402", `${engine} store: ${op} failed: ${message}`, { cause: thrown });
}
