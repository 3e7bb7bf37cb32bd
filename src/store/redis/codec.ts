/**
 * Values ↔ Redis arguments and replies. Payloads are stored with a one-byte tag so that they come
 * back in the form they were given (`s` + UTF-8 text, `b` + raw bytes); times travel as the decimal
 * strings JavaScript prints (exact for every double), and replies are read as Buffers, so binary
 * payloads are never decoded as text.
 *
 * @module
 */
import { DTaskError } from "../../core/errors.js";
import type {
  Bytes,
  CallbackRecord,
  CallbackState,
  EventKind,
  FlowEvent,
  FlowLastError,
  FlowStatus,
  FlowSummary,
  JsonObject,
} from "../../core/store.js";

/** A reply of a `…Buffer` command: bulk strings are Buffers, integers numbers, arrays arrays. */
export type Reply = Buffer | number | null | Reply[];

const BYTES_TAG = Buffer.from("b");
const STRING = 0x73; // "s"
const BINARY = 0x62; // "b"

/** A payload as stored: its tag, then its bytes. Never empty, never "k" or "n". */
export function tagged(value: Bytes): string | Buffer {
  return typeof value === "string" ? `s${value}` : Buffer.concat([BYTES_TAG, value]);
}

/** A commit field: "k" keeps the stored value (omitted), "n" clears it (null), else the new value. */
export function commitPayload(value: Bytes | null | undefined): string | Buffer {
  return value === undefined ? "k" : value === null ? "n" : tagged(value);
}

/** A stored payload back in its original form (a fresh, unshared `Uint8Array` for bytes). */
export function untagged(value: Reply | undefined): Bytes | null {
  if (!Buffer.isBuffer(value) || value.length === 0) return null;
  if (value[0] === STRING) return value.toString("utf8", 1);
  if (value[0] === BINARY) return new Uint8Array(value.subarray(1));
  throw new DTaskError(
    "DT402",
    "redis store: a stored payload has an unknown tag (written by something else?)",
  );
}

/** A time as an argument: exact (JavaScript prints the shortest string that reads back the same). */
export function time(ms: number): string {
  return String(ms);
}

export function optionalTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "" : String(ms);
}

export function text(value: Reply | undefined): string {
  return Buffer.isBuffer(value)
    ? value.toString("utf8")
    : value === null || value === undefined
      ? ""
      : String(value);
}

/** A time or null ("" and missing fields are null). */
export function timeOrNull(value: Reply | undefined): number | null {
  const s = text(value);
  return s === "" ? null : Number(s);
}

export function int(value: Reply | undefined): number {
  return typeof value === "number" ? value : Number(text(value));
}

function json<T>(value: Reply | undefined): T | null {
  const s = text(value);
  return s === "" ? null : (JSON.parse(s) as T);
}

/**
 * The listing key of a flow: its creation time as 16 hex digits (the IEEE 754 bits, which sort like
 * the numbers for times ≥ 0), then its id. Byte order of these keys is (createdAt, id) order, so a
 * lexicographic range of a sorted set pages through flows by creation time.
 */
export function createdKey(createdAt: number, id: string): string {
  const bits = Buffer.alloc(8);
  bits.writeDoubleBE(createdAt + 0); // + 0 turns -0 into 0
  return bits.toString("hex") + id;
}

/** The summary fields, in the order `list.lua` returns them and `getFlow` reads them. */
export const SUMMARY_FIELDS = [
  "st",
  "rev",
  "root",
  "lerr",
  "meta",
  "cat",
  "uat",
  "fat",
  "xat",
  "rat",
  "lown",
  "lexp",
] as const;

/** Builds a {@link FlowSummary} from values in {@link SUMMARY_FIELDS} order. */
export function toSummary(id: string, v: readonly Reply[]): FlowSummary {
  const owner = text(v[10]);
  const leaseExpiresAt = timeOrNull(v[11]);
  return {
    id,
    status: text(v[0]) as FlowStatus,
    revision: int(v[1]),
    rootFunctionId: text(v[2]),
    lastError: json<FlowLastError>(v[3]),
    metadata: json<JsonObject>(v[4]),
    createdAt: timeOrNull(v[5]) ?? 0,
    updatedAt: timeOrNull(v[6]) ?? 0,
    finishedAt: timeOrNull(v[7]),
    expiresAt: timeOrNull(v[8]),
    readyAt: timeOrNull(v[9]),
    lease: owner === "" || leaseExpiresAt === null ? null : { owner, expiresAt: leaseExpiresAt },
  };
}

export function toMetadata(value: Reply | undefined): JsonObject | null {
  return json<JsonObject>(value);
}

/** Events from the flat `id, "kind|waitId", at, payload` list of `collectEvents`, in (at, id) order. */
export function toEvents(flat: Reply | undefined): FlowEvent[] {
  if (!Array.isArray(flat)) return [];
  const events: FlowEvent[] = [];
  for (let i = 0; i + 3 < flat.length; i += 4) {
    const header = text(flat[i + 1]);
    const bar = header.indexOf("|");
    const waitId = header.slice(bar + 1);
    events.push({
      id: text(flat[i]),
      kind: header.slice(0, bar) as EventKind,
      waitId: waitId === "" ? null : waitId,
      payload: untagged(flat[i + 3]),
      at: Number(text(flat[i + 2])),
    });
  }
  return events.sort((a, b) => a.at - b.at || Number(a.id) - Number(b.id));
}

/** A callback hash (HGETALL) as a record; null when the key does not exist. */
export function toCallback(id: string, hash: Record<string, Buffer>): CallbackRecord | null {
  if (hash.flow === undefined) return null;
  return {
    id,
    flowId: hash.flow.toString("utf8"),
    state: hash.st!.toString("utf8") as CallbackState,
    createdAt: Number(hash.cat!.toString("utf8")),
    deliveredAt: hash.dat === undefined ? null : Number(hash.dat.toString("utf8")),
  };
}
