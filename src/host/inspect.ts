/**
 * `host.get`: a stored flow as people and tools read it. Decoding never fails the whole call:
 * a payload this process cannot decode (a registered class it does not load, a snapshot written by
 * other code) is listed in `unreadable` with its code, and everything else is still reported —
 * `dtasks show` must work on any flow, from a process that loads none of the flow's code.
 *
 * @module
 */
import { DTaskError } from "../core/errors.js";
import type { Bytes, FlowRecord } from "../core/store.js";
import type { Runtime } from "./runtime.js";
import type { FlowInfo, UnreadablePart } from "./types.js";

export function flowInfo<T>(
  record: FlowRecord,
  runtime: Runtime,
  options: { tasks: boolean } = { tasks: true },
): FlowInfo<T> {
  const unreadable: UnreadablePart[] = [];
  const read = <V>(part: UnreadablePart["part"], bytes: Bytes, decode: (b: Bytes) => V): V | undefined => {
    try {
      return decode(bytes);
    } catch (thrown) {
      unreadable.push({
        part,
        code: thrown instanceof DTaskError ? thrown.code : "DT302",
        message: thrown instanceof Error ? thrown.message : String(thrown),
      });
      return undefined;
    }
  };
  const info: FlowInfo<T> = {
    id: record.id,
    status: record.status,
    rootFunctionId: record.rootFunctionId,
    metadata: record.metadata,
    lastError: record.lastError,
    lease: record.lease,
    readyAt: record.readyAt,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    finishedAt: record.finishedAt,
    expiresAt: record.expiresAt,
  };
  if (record.status === "succeeded") {
    info.result =
      record.result === null ? undefined : (read("result", record.result, runtime.decodeValue) as T);
  }
  if ((record.status === "faulted" || record.status === "canceled") && record.error !== null) {
    info.error = read("error", record.error, runtime.decodeValue);
  }
  if (
    options.tasks &&
    record.snapshot !== null &&
    (record.status === "suspended" || record.status === "running")
  ) {
    const tasks = read("snapshot", record.snapshot, runtime.describeSnapshot);
    if (tasks !== undefined) info.tasks = tasks;
  }
  if (unreadable.length > 0) info.unreadable = unreadable;
  return info;
}
