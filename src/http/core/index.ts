/**
 * The framework-neutral core of dtasks' async endpoints: the whole HTTP wire contract on
 * `Request`/`Response` (202 + `Location`, the status route, resumption routes, problem details),
 * completion push by webhook, WebSocket and Server-Sent Events with a cross-process backplane,
 * and signed resume URLs. `dtasks/fastify`, `dtasks/hono` and `dtasks/express` wrap it.
 *
 * @example
 * ```ts
 * const endpoints = createAsyncEndpoints({ host, webhooks: { allow: ["https://hooks.example.com"] } });
 * // an async endpoint, for any method:
 * const response = await endpoints.run(request, approve, async () => [await request.json()]);
 * // the status, events and resumption routes:
 * const served = await endpoints.fetch(request); // undefined when not one of them
 * endpoints.attach(server);                      // WebSocket connections on <basePath>/async/ws
 * ```
 *
 * @module
 */
import { AsyncEndpoints } from "./endpoints.js";
import type { AsyncEndpointsOptions } from "./options.js";

export { type Answer, type Reply, toResponse } from "./answer.js";
export {
  type ArgsBuilder,
  type AsyncArgs,
  AsyncEndpoints,
  type AsyncEndpointsStats,
  type RequestHead,
  type ResumeUrlOptions,
} from "./endpoints.js";
export type { PushTarget } from "./headers.js";
export { headerReader, sendResponse, toRequest } from "./node.js";
export type {
  AsyncEndpointsOptions,
  DestinationRule,
  HttpErrorContext,
  SigningOptions,
  WebhookOptions,
} from "./options.js";
export type { ProblemDetails } from "./problem.js";
export type { CoreRoute } from "./routes.js";
export type { ErrorDetails, OperationStatus, StatusBody } from "./status.js";

/** Creates the async endpoints of a host. Options are checked now (DT606 names a wrong one). */
export function createAsyncEndpoints(options: AsyncEndpointsOptions): AsyncEndpoints {
  return new AsyncEndpoints(options);
}
