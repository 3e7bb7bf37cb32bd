/**
 * The status body, `{"operationId", "status", "result"?, "error"?}`: what `GET
 * /async/:operationId/status` answers and what every push channel (webhook, WebSocket, SSE)
 * sends, built in one place so the four never disagree.
 *
 * @module
 */
import { DTaskCanceledError } from "../../core/errors.js";
import type { FlowInfo } from "../../host/types.js";
import { type ProblemDetails, problem } from "./problem.js";

/** What a client sees of an operation. A suspended flow, or one being run, is `running`. */
export type OperationStatus = "running" | "succeeded" | "faulted" | "canceled";

/** The body of the status endpoint and of every completion push. */
export interface StatusBody {
  operationId: string;
  status: OperationStatus;
  /** The result, when `succeeded` (omitted when the flow returned `undefined`). */
  result?: unknown;
  /** Why, as problem details, when `faulted`. */
  error?: ProblemDetails;
}

/** Turns a faulted flow's error into problem details. Replace it to hide messages from clients. */
export type ErrorDetails = (error: unknown, operationId: string) => ProblemDetails;

/** The default: the error's name, message and `code`; never its stack. */
export const defaultErrorDetails: ErrorDetails = (error) => {
  const extra: Record<string, unknown> = {};
  if (error instanceof Error) {
    extra.errorName = error.name;
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") extra.code = code;
  }
  const detail = error instanceof Error ? error.message : error === undefined ? undefined : String(error);
  return problem(500, "operation-failed", "The operation failed", detail, extra);
};

export function statusOf(info: Pick<FlowInfo, "status">): OperationStatus {
  return info.status === "suspended" || info.status === "running" ? "running" : info.status;
}

export function statusBody(info: FlowInfo, errorDetails: ErrorDetails): StatusBody {
  const body: StatusBody = { operationId: info.id, status: statusOf(info) };
  if (body.status === "succeeded" && info.result !== undefined) body.result = info.result;
  if (body.status === "faulted") {
    // A result or error this process cannot decode is reported, not thrown: the status exists.
    const unreadable = info.unreadable?.find((part) => part.part === "error");
    body.error = unreadable
      ? problem(500, "operation-failed", "The operation failed", "its error cannot be decoded here", {
          code: unreadable.code,
        })
      : errorDetails(info.error, info.id);
  }
  return body;
}

/** Problem details for a flow that finished `canceled` in the request (no suspension). */
export function canceledProblem(error: unknown, operationId: string): ProblemDetails {
  const detail = error instanceof DTaskCanceledError ? error.message : "the operation was canceled";
  return problem(409, "operation-canceled", "The operation was canceled", detail, {
    code: "DT210",
    operationId,
  });
}
