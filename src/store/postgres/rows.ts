/**
 * Values ↔ columns. Payloads are stored as bytea plus a flag saying whether they were given as a
 * string; node-postgres reads bytea as fresh `Buffer`s, which are re-viewed (no copy) as plain
 * `Uint8Array`s, as the contract promises. Revisions and counts are int8 (strings in node-postgres)
 * and become numbers; event ids are int8 and stay strings, as the contract wants them.
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

/** A payload as two query parameters: the bytes and "was it a string". */
export function payloadParams(value: Bytes | null | undefined): [Buffer | null, boolean] {
  if (value === null || value === undefined) return [null, false];
  if (typeof value === "string") return [Buffer.from(value, "utf8"), true];
  return [Buffer.from(value.buffer, value.byteOffset, value.byteLength), false];
}

export function toBytes(value: Buffer | null, isText: boolean): Bytes | null {
  if (value === null) return null;
  if (isText) return value.toString("utf8");
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** The columns of a summary (everything but the payloads), from {@link flowSource}. */
export const SUMMARY_COLUMNS =
  "f.id, f.status, f.revision, f.root_function_id, f.last_error, f.metadata, f.created_at, f.updated_at, " +
  "f.finished_at, f.expires_at, q.ready_at, q.lease_owner, q.lease_expires_at";

/** The columns of a whole record. */
export const FLOW_COLUMNS = `${SUMMARY_COLUMNS}, f.snapshot, f.snapshot_text, f.result, f.result_text, f.error, f.error_text`;

/**
 * What {@link SUMMARY_COLUMNS} and {@link FLOW_COLUMNS} read from, given the quoted schema: a flow
 * and its queue row, which only an unfinished flow has.
 */
export function flowSource(schema: string): string {
  return `${schema}.flows f LEFT JOIN ${schema}.queue q ON q.id = f.id`;
}

export interface SummaryRow {
  id: string;
  status: string;
  revision: string;
  root_function_id: string;
  last_error: FlowLastError | null;
  metadata: JsonObject | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  expires_at: number | null;
  ready_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
}

export interface FlowRow extends SummaryRow {
  snapshot: Buffer | null;
  snapshot_text: boolean;
  result: Buffer | null;
  result_text: boolean;
  error: Buffer | null;
  error_text: boolean;
}

export function toSummary(row: SummaryRow): FlowSummary {
  return {
    id: row.id,
    status: row.status as FlowStatus,
    revision: Number(row.revision),
    rootFunctionId: row.root_function_id,
    lastError: row.last_error,
    metadata: row.metadata,
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
    snapshot: toBytes(row.snapshot, row.snapshot_text),
    result: toBytes(row.result, row.result_text),
    error: toBytes(row.error, row.error_text),
  };
}

/** The event columns the server functions return, one array each, in event order. */
export interface EventArrays {
  ev_seq: string[] | null;
  ev_kind: string[] | null;
  ev_wait: (string | null)[] | null;
  ev_payload: (Buffer | null)[] | null;
  ev_text: boolean[] | null;
  ev_at: number[] | null;
}

export function toEvents(row: EventArrays): FlowEvent[] {
  const seqs = row.ev_seq;
  if (seqs === null) return [];
  return seqs.map((seq, i) => ({
    id: seq,
    kind: row.ev_kind![i] as EventKind,
    waitId: row.ev_wait![i] ?? null,
    payload: toBytes(row.ev_payload![i] ?? null, row.ev_text![i]!),
    at: row.ev_at![i]!,
  }));
}

export interface CallbackRow {
  id: string;
  flow_id: string;
  state: string;
  created_at: number;
  delivered_at: number | null;
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
