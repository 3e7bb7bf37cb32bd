/**
 * Rows → records. better-sqlite3 reads BLOBs as fresh `Buffer`s; the contract promises
 * `Uint8Array`, so they are re-viewed (no copy) as plain `Uint8Array`s.
 *
 * @module
 */
import type {
  Bytes,
  CallbackRecord,
  CallbackState,
  EventKind,
  FlowEvent,
  FlowLastError,
  FlowRecord,
  FlowStatus,
  FlowSummary,
  JsonObject,
} from "../../core/store.js";
import type { CallbackRow, EventRow, FlowRow } from "./statements.js";

export function toBytes(value: string | Buffer | null): Bytes | null {
  if (value === null || typeof value === "string") return value;
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

type SummaryRow = Pick<
  FlowRow,
  | "id"
  | "status"
  | "revision"
  | "root_function_id"
  | "last_error"
  | "metadata"
  | "created_at"
  | "updated_at"
  | "finished_at"
  | "expires_at"
  | "ready_at"
  | "lease_owner"
  | "lease_expires_at"
>;

export function toSummary(row: SummaryRow): FlowSummary {
  return {
    id: row.id,
    status: row.status as FlowStatus,
    revision: row.revision,
    rootFunctionId: row.root_function_id,
    lastError: parseJson<FlowLastError>(row.last_error),
    metadata: parseJson<JsonObject>(row.metadata),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    expiresAt: row.expires_at,
    readyAt: row.ready_at,
    lease:
      row.lease_owner === null || row.lease_expires_at === null
        ? null
        : { owner: row.lease_owner, expiresAt: row.lease_expires_at },
  };
}

export function toFlowRecord(row: FlowRow): FlowRecord {
  return {
    ...toSummary(row),
    snapshot: toBytes(row.snapshot),
    result: toBytes(row.result),
    error: toBytes(row.error),
  };
}

export function toEvent(row: EventRow): FlowEvent {
  return {
    id: String(row.seq),
    kind: row.kind as EventKind,
    waitId: row.wait_id,
    payload: toBytes(row.payload),
    at: row.at,
  };
}

export function toCallback(row: CallbackRow): CallbackRecord {
  return {
    id: row.id,
    flowId: row.flow_id,
    state: row.state as CallbackState,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}
