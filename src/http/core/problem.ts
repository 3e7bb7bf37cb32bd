/**
 * Problem details (RFC 9457): the one body every error response of the HTTP layer has, so a
 * client handles a bad header, an unknown operation and a failed flow the same way.
 *
 * @module
 */
import type { ErrorCode } from "../../core/errors.js";
import type { Answer } from "./answer.js";

/** An RFC 9457 problem: `type`, `title`, `status`, `detail`, plus dtasks' `code` when there is one. */
export interface ProblemDetails {
  /** A URI naming the kind of problem: `urn:dtasks:problem:<slug>`. */
  type: string;
  /** Short and stable for one `type`. */
  title: string;
  /** The HTTP status the response has. */
  status: number;
  /** What happened this time, for people. */
  detail?: string;
  /** The `DTxxx` code (see docs/errors.md), when the problem is one of dtasks'. */
  code?: string;
  /** Extensions. */
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Builds a problem. `slug` becomes the type URI. */
export function problem(
  status: number,
  slug: string,
  title: string,
  detail?: string,
  extra: { code?: ErrorCode | string; [key: string]: unknown } = {},
): ProblemDetails {
  const body: ProblemDetails = { type: `urn:dtasks:problem:${slug}`, title, status };
  if (detail !== undefined) body.detail = detail;
  return Object.assign(body, extra);
}

/** The answer of a problem. Never cached: the same request may succeed a moment later. */
export function problemAnswer(details: ProblemDetails): Answer {
  return {
    status: details.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, "cache-control": "no-store" },
    body: JSON.stringify(details),
  };
}

/** The problems of the wire contract, one function each, so statuses and codes stay in one place. */
export const problems = {
  invalidHeader: (detail: string) =>
    problem(400, "invalid-header", "Invalid async-endpoint header", detail, { code: "DT601" }),
  invalidBody: (detail: string) =>
    problem(400, "invalid-body", "Invalid resumption request body", detail, { code: "DT602" }),
  unsupportedMediaType: (detail: string) =>
    problem(415, "unsupported-media-type", "Unsupported media type", detail, { code: "DT602" }),
  tooLarge: (limit: number) =>
    problem(413, "body-too-large", "Request body too large", `the body is over the limit of ${limit} bytes`, {
      code: "DT603",
    }),
  webhookNotAllowed: (detail: string) =>
    problem(400, "webhook-not-allowed", "Webhook destination not allowed", detail, { code: "DT604" }),
  badSignature: (detail: string) =>
    problem(403, "invalid-signature", "Invalid or expired resume URL", detail, { code: "DT605" }),
  unknownOperation: (operationId: string) =>
    problem(
      404,
      "unknown-operation",
      "Unknown operation",
      `no async operation with id ${JSON.stringify(operationId)}`,
      {
        code: "DT501",
      },
    ),
  unknownCallback: (callbackId: string) =>
    problem(
      404,
      "unknown-callback",
      "Unknown callback",
      `no operation waits on callback ${JSON.stringify(callbackId)} (never issued, or the operation moved on or finished)`,
      { code: "DT502" },
    ),
  alreadyResumed: (callbackId: string) =>
    problem(
      409,
      "already-resumed",
      "Callback already resumed",
      `callback ${JSON.stringify(callbackId)} was already resumed`,
      {
        code: "DT503",
      },
    ),
  unavailable: (detail: string) =>
    problem(503, "unavailable", "Service unavailable", detail, { code: "DT402" }),
  internal: (detail: string, code?: string) =>
    problem(500, "internal", "Internal error", detail, code === undefined ? {} : { code }),
};
