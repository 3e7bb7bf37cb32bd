/**
 * Argument checks shared by every engine (DT405, naming the argument), and the normalized shapes
 * the engines write. Checking here, before any engine code runs, is what lets every engine promise
 * "nothing written" on bad input without rolling anything back, and keeps JavaScript callers (who
 * have no compiler to catch a typo such as `consumedEvent`) from silently losing a field: unknown
 * keys are rejected.
 *
 * @module
 */
import { DTaskError } from "../../core/errors.js";
import {
  type Bytes,
  type CancelInput,
  type ClaimInput,
  type CommitInput,
  type CreateFlowInput,
  type DeliverInput,
  FLOW_STATUSES,
  type FlowStatus,
  isFinishedStatus,
  type LeaseRef,
  type ListFlowsQuery,
  MAX_CHANNEL_LENGTH,
  MAX_CLAIM,
  MAX_MESSAGE_BYTES,
  type SweepInput,
} from "../../core/store.js";

/** Longest id (flow, callback, timer, owner, token) accepted, in characters. */
export const MAX_ID_LENGTH = 256;
/** Largest `metadata` object, serialized, in bytes. */
export const MAX_METADATA_BYTES = 64 * 1024;
/** Largest `lastError` object, serialized, in bytes. */
export const MAX_LAST_ERROR_BYTES = 16 * 1024;
/** Largest page of `listFlows` (a claim is bounded by `MAX_CLAIM`). */
export const MAX_PAGE = 1000;

function fail(op: string, name: string, problem: string, value?: unknown): never {
  const shown = value === undefined ? "" : ` (got ${describe(value)})`;
  throw new DTaskError("DT405", `store.${op}: '${name}' ${problem}${shown}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}

function record(op: string, value: unknown, name = "input"): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail(op, name, "must be an object", value);
  return value as Record<string, unknown>;
}

function knownKeys(op: string, input: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of Object.keys(input)) {
    if (!keys.includes(key))
      fail(op, key, `is not an argument of ${op}() (expected one of: ${keys.join(", ")})`);
  }
}

export function checkTime(op: string, name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    fail(op, name, "must be a time in ms (a finite number ≥ 0)", value);
  }
  return value;
}

function optionalTime(op: string, name: string, value: unknown): number | null {
  return value === undefined || value === null ? null : checkTime(op, name, value);
}

function positiveMs(op: string, name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    fail(op, name, "must be a duration in ms (a finite number > 0)", value);
  }
  return value;
}

export function checkId(op: string, name: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH) {
    fail(op, name, `must be a non-empty string of at most ${MAX_ID_LENGTH} characters`, value);
  }
  return value;
}

function integer(
  op: string,
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(op, name, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

function bytes(op: string, name: string, value: unknown): Bytes | null | undefined {
  if (value === undefined || value === null || typeof value === "string" || value instanceof Uint8Array)
    return value;
  fail(op, name, "must be a string or a Uint8Array (opaque payload bytes), or null", value);
}

function json(op: string, name: string, value: unknown, maxBytes: number): string | null | undefined {
  if (value === undefined || value === null) return value;
  record(op, value, name);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new DTaskError("DT405", `store.${op}: '${name}' must be JSON data (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (Buffer.byteLength(text) > maxBytes) fail(op, name, `is over ${maxBytes} bytes as JSON; keep it small`);
  return text;
}

function stringArray(op: string, name: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(op, name, "must be an array of ids", value);
  return value.map((item, i) => checkId(op, `${name}[${i}]`, item));
}

function unique(op: string, name: string, ids: string[]): string[] {
  if (new Set(ids).size !== ids.length) fail(op, name, "names an id twice");
  return ids;
}

function status(op: string, value: unknown): FlowStatus {
  if (!FLOW_STATUSES.includes(value as FlowStatus))
    fail(op, "status", `must be one of ${FLOW_STATUSES.join(", ")}`, value);
  return value as FlowStatus;
}

export interface NormalizedCreate {
  id: string;
  rootFunctionId: string;
  snapshot: Bytes | null;
  metadataJson: string | null;
  owner: string;
  leaseMs: number;
  now: number;
}

export function checkCreate(input: CreateFlowInput): NormalizedCreate {
  const op = "createFlow";
  const i = record(op, input);
  knownKeys(op, i, ["id", "rootFunctionId", "snapshot", "metadata", "owner", "leaseMs", "now"]);
  return {
    id: checkId(op, "id", i.id),
    rootFunctionId: checkId(op, "rootFunctionId", i.rootFunctionId),
    snapshot: bytes(op, "snapshot", i.snapshot) ?? null,
    metadataJson: json(op, "metadata", i.metadata, MAX_METADATA_BYTES) ?? null,
    owner: checkId(op, "owner", i.owner),
    leaseMs: positiveMs(op, "leaseMs", i.leaseMs),
    now: checkTime(op, "now", i.now),
  };
}

/** A commit, checked; `undefined` still means "unchanged" where the contract says so. */
export interface NormalizedCommit {
  flowId: string;
  revision: number;
  leaseToken: string;
  now: number;
  status: FlowStatus;
  finished: boolean;
  snapshot: Bytes | null | undefined;
  result: Bytes | null | undefined;
  error: Bytes | null | undefined;
  /** Serialized `lastError`, or null (cleared). */
  lastErrorJson: string | null;
  metadataJson: string | null | undefined;
  addCallbacks: string[];
  addTimers: { id: string; dueAt: number }[];
  removeWaits: string[];
  consumedEvents: string[];
  runnableAt: number | null;
  deferUntil: number | null;
  keepLeaseMs: number | null;
  /** Undefined = the store's default. */
  retentionMs: number | undefined;
}

const COMMIT_KEYS = [
  "flowId",
  "revision",
  "leaseToken",
  "now",
  "status",
  "snapshot",
  "result",
  "error",
  "lastError",
  "metadata",
  "addWaits",
  "removeWaits",
  "consumedEvents",
  "runnableAt",
  "deferUntil",
  "keepLeaseMs",
  "retentionMs",
] as const satisfies readonly (keyof CommitInput)[];

export function checkCommit(input: CommitInput): NormalizedCommit {
  const op = "commit";
  const i = record(op, input);
  knownKeys(op, i, COMMIT_KEYS);
  const st = status(op, i.status);
  const finished = isFinishedStatus(st);
  const addCallbacks: string[] = [];
  const addTimers: { id: string; dueAt: number }[] = [];
  const seen = new Set<string>();
  if (i.addWaits !== undefined && i.addWaits !== null) {
    if (!Array.isArray(i.addWaits)) fail(op, "addWaits", "must be an array of waits", i.addWaits);
    if (finished && i.addWaits.length > 0) fail(op, "addWaits", `must be empty when the status is '${st}'`);
    i.addWaits.forEach((wait: unknown, n: number) => {
      const w = record(op, wait, `addWaits[${n}]`);
      const id = checkId(op, `addWaits[${n}].id`, w.id);
      if (seen.has(id)) fail(op, `addWaits[${n}].id`, "appears twice in addWaits", id);
      seen.add(id);
      if (w.kind === "callback") {
        knownKeys(op, w, ["kind", "id"]);
        addCallbacks.push(id);
      } else if (w.kind === "timer") {
        knownKeys(op, w, ["kind", "id", "dueAt"]);
        addTimers.push({ id, dueAt: checkTime(op, `addWaits[${n}].dueAt`, w.dueAt) });
      } else {
        fail(op, `addWaits[${n}].kind`, "must be 'callback' or 'timer'", w.kind);
      }
    });
  }
  let keepLeaseMs: number | null = null;
  if (i.keepLeaseMs !== undefined) {
    keepLeaseMs = positiveMs(op, "keepLeaseMs", i.keepLeaseMs);
    if (finished)
      fail(op, "keepLeaseMs", `cannot be given with the status '${st}': a finished flow has no lease`);
  }
  let retentionMs: number | undefined;
  if (i.retentionMs !== undefined) {
    const r = i.retentionMs;
    if (typeof r !== "number" || Number.isNaN(r) || r < 0) {
      fail(op, "retentionMs", "must be a duration in ms (≥ 0, or Infinity to keep forever)", r);
    }
    retentionMs = r;
  }
  return {
    flowId: checkId(op, "flowId", i.flowId),
    revision: integer(op, "revision", i.revision, 0),
    leaseToken: checkId(op, "leaseToken", i.leaseToken),
    now: checkTime(op, "now", i.now),
    status: st,
    finished,
    snapshot: bytes(op, "snapshot", i.snapshot),
    result: bytes(op, "result", i.result),
    error: bytes(op, "error", i.error),
    lastErrorJson: checkLastError(op, i.lastError) ?? null,
    metadataJson: json(op, "metadata", i.metadata, MAX_METADATA_BYTES),
    addCallbacks,
    addTimers,
    removeWaits: stringArray(op, "removeWaits", i.removeWaits),
    consumedEvents: unique(op, "consumedEvents", stringArray(op, "consumedEvents", i.consumedEvents)),
    runnableAt: optionalTime(op, "runnableAt", i.runnableAt),
    deferUntil: optionalTime(op, "deferUntil", i.deferUntil),
    keepLeaseMs,
    retentionMs,
  };
}

function checkLastError(op: string, value: unknown): string | null | undefined {
  if (value === undefined || value === null) return value;
  const e = record(op, value, "lastError");
  knownKeys(op, e, ["code", "message", "functionId", "details"]);
  if (typeof e.code !== "string" || e.code === "")
    fail(op, "lastError.code", "must be a non-empty string", e.code);
  if (typeof e.message !== "string") fail(op, "lastError.message", "must be a string", e.message);
  if (e.functionId !== undefined && typeof e.functionId !== "string") {
    fail(op, "lastError.functionId", "must be a string", e.functionId);
  }
  if (e.details !== undefined) json(op, "lastError.details", e.details, MAX_LAST_ERROR_BYTES);
  return json(op, "lastError", e, MAX_LAST_ERROR_BYTES);
}

export function checkClaim(input: ClaimInput): ClaimInput {
  const op = "claim";
  const i = record(op, input);
  knownKeys(op, i, ["owner", "leaseMs", "limit", "now"]);
  return {
    owner: checkId(op, "owner", i.owner),
    leaseMs: positiveMs(op, "leaseMs", i.leaseMs),
    limit: integer(op, "limit", i.limit, 1, MAX_CLAIM),
    now: checkTime(op, "now", i.now),
  };
}

export function checkLeaseRef(op: string, input: LeaseRef, withLeaseMs: true): LeaseRef & { leaseMs: number };
export function checkLeaseRef(op: string, input: LeaseRef, withLeaseMs?: false): LeaseRef;
export function checkLeaseRef(
  op: string,
  input: LeaseRef,
  withLeaseMs = false,
): LeaseRef & { leaseMs?: number } {
  const i = record(op, input);
  knownKeys(op, i, withLeaseMs ? ["flowId", "token", "now", "leaseMs"] : ["flowId", "token", "now"]);
  const ref: LeaseRef & { leaseMs?: number } = {
    flowId: checkId(op, "flowId", i.flowId),
    token: checkId(op, "token", i.token),
    now: checkTime(op, "now", i.now),
  };
  if (withLeaseMs) ref.leaseMs = positiveMs(op, "leaseMs", i.leaseMs);
  return ref;
}

export function checkDeliver(input: DeliverInput): DeliverInput {
  const op = "deliver";
  const i = record(op, input);
  knownKeys(op, i, ["callbackId", "kind", "payload", "now"]);
  if (i.kind !== "resume" && i.kind !== "fail") fail(op, "kind", "must be 'resume' or 'fail'", i.kind);
  const payload = bytes(op, "payload", i.payload);
  if (payload === undefined || payload === null)
    fail(op, "payload", "is required (the encoded value or error)");
  return {
    callbackId: checkId(op, "callbackId", i.callbackId),
    kind: i.kind,
    payload,
    now: checkTime(op, "now", i.now),
  };
}

export function checkCancel(input: CancelInput): { flowId: string; payload: Bytes | null; now: number } {
  const op = "requestCancel";
  const i = record(op, input);
  knownKeys(op, i, ["flowId", "payload", "now"]);
  return {
    flowId: checkId(op, "flowId", i.flowId),
    payload: bytes(op, "payload", i.payload) ?? null,
    now: checkTime(op, "now", i.now),
  };
}

export interface NormalizedListQuery {
  statuses: FlowStatus[] | null;
  limit: number;
  after: string | null;
  order: "asc" | "desc";
}

export function checkListQuery(query: ListFlowsQuery | undefined): NormalizedListQuery {
  const op = "listFlows";
  const q = record(op, query ?? {}, "query");
  knownKeys(op, q, ["status", "limit", "after", "order"]);
  let statuses: FlowStatus[] | null = null;
  if (q.status !== undefined) {
    const list = Array.isArray(q.status) ? q.status : [q.status];
    statuses = list.map((s) => status(op, s));
  }
  if (q.order !== undefined && q.order !== "asc" && q.order !== "desc")
    fail(op, "order", "must be 'asc' or 'desc'", q.order);
  if (q.after !== undefined && q.after !== null && typeof q.after !== "string") {
    fail(op, "after", "must be the 'next' cursor of a previous page", q.after);
  }
  return {
    statuses,
    limit: q.limit === undefined ? 100 : integer(op, "limit", q.limit, 1, MAX_PAGE),
    after: (q.after as string | null | undefined) ?? null,
    order: (q.order as "asc" | "desc" | undefined) ?? "desc",
  };
}

export function checkSweep(input: SweepInput): { now: number; limit: number } {
  const op = "sweep";
  const i = record(op, input);
  knownKeys(op, i, ["now", "limit"]);
  return {
    now: checkTime(op, "now", i.now),
    limit: i.limit === undefined ? 1000 : integer(op, "limit", i.limit, 1),
  };
}

export function checkChannel(op: string, channel: unknown): string {
  if (typeof channel !== "string" || channel.length === 0 || channel.length > MAX_CHANNEL_LENGTH) {
    fail(op, "channel", `must be a non-empty string of at most ${MAX_CHANNEL_LENGTH} characters`, channel);
  }
  return channel;
}

export function checkMessage(op: string, message: unknown): string {
  if (typeof message !== "string") fail(op, "message", "must be a string", message);
  if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) {
    fail(op, "message", `is over ${MAX_MESSAGE_BYTES} bytes; publish an id and let listeners read the rest`);
  }
  return message;
}

export function checkListener(op: string, listener: unknown): void {
  if (typeof listener !== "function") fail(op, "listener", "must be a function", listener);
}
