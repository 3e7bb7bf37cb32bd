/**
 * `dtasks/hono`: async endpoints for Hono. `dtasks(options)` gives a middleware that serves the
 * status, events and resumption routes (and puts the endpoints in `c.var.dtasks`), a route
 * helper for async endpoints of any method, and `attach(server)` for WebSocket connections on
 * Node (`@hono/node-server`).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { serve } from "@hono/node-server";
 * import { dtasks } from "dtasks/hono";
 *
 * const d = dtasks({ host });
 * const app = new Hono();
 * app.use(d.middleware());
 * app.post("/documents/:id/process", d.async(processDocument, (c) => [c.req.param("id")]));
 * const server = serve({ fetch: app.fetch, port: 3000 });
 * d.attach(server);                                 // WebSocket push on /async/ws
 * ```
 *
 * @module
 */

import type { Server } from "node:http";
import type { Context, Handler, MiddlewareHandler } from "hono";
import type { DAsyncFunction } from "../../core/dasync.js";
import { checkDAsync } from "../core/endpoints.js";
import {
  type AsyncArgs,
  AsyncEndpoints,
  type AsyncEndpointsOptions,
  type ResumeUrlOptions,
} from "../core/index.js";

export * from "../core/index.js";

declare module "hono" {
  interface ContextVariableMap {
    /** Set by the dtasks middleware. */
    dtasks: AsyncEndpoints;
  }
}

/** A Node HTTP server, as `serve()` of `@hono/node-server` returns it (typed loosely: it is a union). */
export interface NodeServerLike {
  on(event: "upgrade", listener: (...args: any[]) => void): unknown;
}

/** What {@link dtasks} returns. */
export interface DTasksHono {
  readonly endpoints: AsyncEndpoints;
  /** Serves the core routes; passes everything else on (and sets `c.var.dtasks`). */
  middleware(): MiddlewareHandler;
  /**
   * An async endpoint's handler, for any method: starts `fn(...args)` with the arguments `args`
   * builds from the context (none without `args`); `args` may answer instead with a `Response`.
   */
  async<A extends unknown[]>(
    fn: DAsyncFunction<A, unknown>,
    args?: (c: Context) => AsyncArgs<A> | Promise<AsyncArgs<A>>,
  ): Handler;
  /** The URL resuming a callback (see `AsyncEndpoints.resumeUrl`). */
  resumeUrl(callbackId: string, options?: ResumeUrlOptions): string;
  /**
   * Takes WebSocket upgrades on `<basePath>/async/ws` of a Node server (what `serve()` of
   * `@hono/node-server` returns); returns the detacher.
   */
  attach(server: NodeServerLike): () => void;
  /** Closes connections and stops watching (not the host). */
  close(): Promise<void>;
}

/** Creates the async endpoints for a Hono app. Options are checked now (DT606). */
export function dtasks(options: AsyncEndpointsOptions): DTasksHono {
  const endpoints = new AsyncEndpoints(options, "dtasks/hono");
  return {
    endpoints,
    middleware() {
      return async function dtasksMiddleware(c, next) {
        c.set("dtasks", endpoints);
        const response = await endpoints.fetch(c.req.raw);
        if (response !== undefined) return response;
        await next();
      };
    },
    async(fn, args) {
      checkDAsync(fn);
      return async function asyncEndpoint(c: Context) {
        const response = await endpoints.run(c.req.raw, fn, async () =>
          args === undefined ? ([] as never) : await args(c),
        );
        // undefined: the builder answered through `c` (c.res was set by a middleware-style call).
        return response ?? c.res;
      };
    },
    resumeUrl: (callbackId, urlOptions) => endpoints.resumeUrl(callbackId, urlOptions),
    attach: (server) => endpoints.attach(server as Server),
    close: () => endpoints.close(),
  };
}
