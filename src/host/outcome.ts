/**
 * Reading a finished flow's outcome back as `flow.result()` gives it: the result, or the flow's
 * own error thrown again. Kept apart from the waiting, which is about notifications.
 *
 * @module
 */
import { DTaskCanceledError, DTaskError } from "../core/errors.js";
import type { FlowRecord } from "../core/store.js";
import type { Runtime } from "./runtime.js";

/** Resolves with the result of a succeeded flow; throws the error of a faulted or canceled one. */
export function settle(
  record: Pick<FlowRecord, "id" | "status" | "result" | "error">,
  runtime: Runtime,
): unknown {
  if (record.status === "succeeded")
    return record.result === null ? undefined : runtime.decodeValue(record.result);
  let error: unknown;
  let unreadable: unknown;
  if (record.error !== null) {
    try {
      error = runtime.decodeValue(record.error);
    } catch (thrown) {
      unreadable = thrown;
    }
  }
  if (record.status === "canceled") {
    if (error instanceof DTaskCanceledError) throw error;
    throw new DTaskCanceledError(`flow ${record.id} was canceled`, { cause: error ?? unreadable });
  }
  if (record.error === null)
    throw new DTaskError("DT506", `flow ${record.id} failed, but no error was stored`);
  if (unreadable !== undefined) {
    const why = unreadable instanceof Error ? unreadable.message : String(unreadable);
    throw new DTaskError(
      "DT506",
      `flow ${record.id} failed, and its error cannot be decoded in this process: ${why}`,
      {
        cause: unreadable,
      },
    );
  }
  throw error;
}
