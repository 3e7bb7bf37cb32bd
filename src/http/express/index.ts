/**
 * `dtasks/express`: async endpoints for Express 5, as a `Router` that serves the status, events
 * and resumption routes, with a helper for async endpoints of any method and `attach(server)`
 * for WebSocket connections.
 *
 * Mount it before body parsers (`express.json()`) or the resumption routes find their body read
 * already (they then use `req.body`, within the parser's own limits).
 *
 * @example
 * ```ts
 * import express from "express";
 * import { dtasksRouter } from "dtasks/express";
 *
 * const dtasks = dtasksRouter({ host });
 * const app = express();
 * app.use(dtasks);
 * app.post("/approvals", express.json(), dtasks.async(approval, (req) => [req.body]));
 * const server = app.listen(3000);
 * dtasks.attach(server);                               // WebSocket push on /async/ws
 * ```
 *
 * @module
 */

import type { Server } from "node:http";
import { Readable } from "node:stream";
import {
  type Request as ExpressRequest,
  type Response as ExpressResponse,
  type RequestHandler,
  Router,
} from "express";
import type { DAsyncFunction } from "../../core/dasync.js";
import { checkDAsync } from "../core/endpoints.js";
import {
  type AsyncArgs,
  AsyncEndpoints,
  type AsyncEndpointsOptions,
  headerReader,
  type ResumeUrlOptions,
  sendResponse,
  toRequest,
} from "../core/index.js";

export * from "../core/index.js";

/** What {@link dtasksRouter} returns: a `Router`, plus the endpoints' helpers. */
export interface DTasksRouter extends Router {
  readonly endpoints: AsyncEndpoints;
  /**
   * An async endpoint's handler, for any method: starts `fn(...args)` with the arguments `args`
   * builds from the request (none without `args`); `args` may answer instead, with a `Response`
   * or through `res` (nothing starts).
   */
  async<A extends unknown[]>(
    fn: DAsyncFunction<A, unknown>,
    args?: (req: ExpressRequest, res: ExpressResponse) => AsyncArgs<A> | Promise<AsyncArgs<A>>,
  ): RequestHandler;
  /** The URL resuming a callback (see `AsyncEndpoints.resumeUrl`). */
  resumeUrl(callbackId: string, options?: ResumeUrlOptions): string;
  /** Takes WebSocket upgrades on `<basePath>/async/ws`; returns the detacher. */
  attach(server: Server): () => void;
  /** Closes connections and stops watching (not the host). */
  close(): Promise<void>;
}

function urlOf(req: ExpressRequest): string {
  return `${req.protocol}://${req.get("host")}${req.originalUrl}`;
}

/** The body stream, or the body a parser already read (as JSON again). */
function bodyOf(req: ExpressRequest): Readable | null | undefined {
  if (!req.readableEnded || req.body === undefined) return undefined;
  return Readable.from([Buffer.from(JSON.stringify(req.body))]);
}

/** Creates the router. Options are checked now (DT606). */
export function dtasksRouter(options: AsyncEndpointsOptions): DTasksRouter {
  const endpoints = new AsyncEndpoints(options, "dtasks/express");
  const router = Router() as DTasksRouter;
  for (const route of endpoints.routes) {
    router[route.method === "GET" ? "get" : "post"](route.path, async (req, res) => {
      const request = toRequest(req, urlOf(req), bodyOf(req));
      await sendResponse(res, await route.handle(request, req.params as Record<string, string>));
    });
  }
  Object.assign(router, {
    endpoints,
    async<A extends unknown[]>(
      fn: DAsyncFunction<A, unknown>,
      args?: (req: ExpressRequest, res: ExpressResponse) => AsyncArgs<A> | Promise<AsyncArgs<A>>,
    ): RequestHandler {
      checkDAsync(fn);
      return async function asyncEndpoint(req, res) {
        const head = { url: urlOf(req), headers: headerReader(req.headers) };
        const response = await endpoints.reply(head, fn, async () => {
          const built = args === undefined ? ([] as unknown as A) : await args(req, res);
          return res.headersSent ? undefined : built;
        });
        if (response !== undefined) await sendResponse(res, response);
      };
    },
    resumeUrl: (callbackId: string, urlOptions?: ResumeUrlOptions) =>
      endpoints.resumeUrl(callbackId, urlOptions),
    attach: (server: Server) => endpoints.attach(server),
    close: () => endpoints.close(),
  });
  return router;
}
