/**
 * `dtasks/fastify`: async endpoints for Fastify 5, as a plugin. It decorates the instance with
 * `fastify.dtasks`, serves the status, events and resumption routes, takes WebSocket upgrades on
 * `<basePath>/async/ws`, optionally runs a worker, and in `preClose` closes connections, stops
 * watching and stops its worker (the host stays yours to close).
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import { dtasksPlugin } from "dtasks/fastify";
 *
 * const app = Fastify();
 * await app.register(dtasksPlugin, { host, worker: true, resumeRoutes: ["/approvals/resume/:operationId"] });
 * // 200 with the result, or 202 + Location at the first durable wait; any method:
 * app.post<{ Body: ApprovalRequest }>("/approvals", app.dtasks.async(approval, (request) => [request.body]));
 * // in the flow: DTask.callback((id) => mail(app.dtasks.resumeUrl(id, { route: "/approvals/resume/:operationId" })))
 * ```
 *
 * @module
 */

import type { Readable } from "node:stream";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteGenericInterface } from "fastify";
import fp from "fastify-plugin";
import type { DAsyncFunction } from "../../core/dasync.js";
import type { WorkerOptions } from "../../host/options.js";
import type { Worker } from "../../host/types.js";
import { checkDAsync } from "../core/endpoints.js";
import {
  type AsyncArgs,
  AsyncEndpoints,
  type AsyncEndpointsOptions,
  headerReader,
  type Reply,
  type ResumeUrlOptions,
  toRequest,
} from "../core/index.js";

export * from "../core/index.js";

/** Options of {@link dtasksPlugin}: the async endpoints' options, plus a worker. */
export interface DTasksFastifyOptions extends AsyncEndpointsOptions {
  /** Runs a worker of the host in this process (`true`, or its options); stopped in `preClose`. */
  worker?: boolean | WorkerOptions;
}

/**
 * Builds the d-async function's arguments from the request; or answers instead: a `Response`, or
 * `reply` once sent (nothing starts).
 */
export type FastifyArgs<A extends unknown[], RG extends RouteGenericInterface> = (
  request: FastifyRequest<RG>,
  reply: FastifyReply,
) => AsyncArgs<A> | FastifyReply | Promise<AsyncArgs<A> | FastifyReply>;

/** `fastify.dtasks`. */
export interface DTasksDecorator {
  readonly endpoints: AsyncEndpoints;
  /** The worker started by the `worker` option. */
  readonly worker: Worker | undefined;
  /**
   * An async endpoint's handler, for any method (`app.post`, `app.put`, `app.route`…): starts
   * `fn(...args)` with the arguments `args` builds from the request (none without `args`).
   */
  async<A extends unknown[], RG extends RouteGenericInterface = RouteGenericInterface>(
    fn: DAsyncFunction<A, unknown>,
    args?: FastifyArgs<A, RG>,
  ): (request: FastifyRequest<RG>, reply: FastifyReply) => Promise<FastifyReply>;
  /** The URL resuming a callback (see `AsyncEndpoints.resumeUrl`). */
  resumeUrl(callbackId: string, options?: ResumeUrlOptions): string;
}

declare module "fastify" {
  interface FastifyInstance {
    dtasks: DTasksDecorator;
  }
}

/** Options Fastify's `register` itself takes; they are not ours to check. */
const REGISTER_KEYS = ["prefix", "logLevel", "logSerializers"];

function urlOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${request.url}`;
}

/** Sends a core reply: Fastify sends a `Response` (a stream) itself; a plain answer goes out as is. */
function send(reply: FastifyReply, answer: Reply): FastifyReply {
  if (answer instanceof Response) return reply.send(answer);
  // A Buffer, not a string: Fastify would add "; charset=utf-8" to the content type of a string.
  const body = answer.body === null ? undefined : Buffer.from(answer.body);
  return reply.code(answer.status).headers(answer.headers).send(body);
}

const plugin: FastifyPluginAsync<DTasksFastifyOptions> = async function dtasks(fastify, options) {
  const { worker: workerOption, ...rest } = options;
  const core = Object.fromEntries(Object.entries(rest).filter(([key]) => !REGISTER_KEYS.includes(key)));
  const endpoints = new AsyncEndpoints(core as unknown as AsyncEndpointsOptions, "dtasks/fastify");
  const worker = workerOption
    ? endpoints.host.startWorker(workerOption === true ? undefined : workerOption)
    : undefined;

  fastify.decorate("dtasks", {
    endpoints,
    worker,
    async<A extends unknown[], RG extends RouteGenericInterface>(
      fn: DAsyncFunction<A, unknown>,
      args?: FastifyArgs<A, RG>,
    ) {
      checkDAsync(fn);
      return async function asyncEndpoint(request: FastifyRequest<RG>, reply: FastifyReply) {
        const head = { url: urlOf(request), headers: headerReader(request.headers) };
        const response = await endpoints.reply(head, fn, async () => {
          const built: unknown = args === undefined ? [] : await args(request, reply);
          return built === reply || reply.sent ? undefined : (built as AsyncArgs<A>);
        });
        return response === undefined ? reply : send(reply, response);
      };
    },
    resumeUrl: (callbackId, urlOptions) => endpoints.resumeUrl(callbackId, urlOptions),
  } satisfies DTasksDecorator);

  // The core reads resumption bodies itself (JSON only, size limit, problem details), so its
  // routes live in a child context whose only parser hands the raw stream over.
  await fastify.register(async function dtasksRoutes(child) {
    child.removeAllContentTypeParsers();
    child.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    for (const route of endpoints.routes) {
      child.route({
        method: route.method,
        url: route.path,
        handler: async (request, reply) => {
          const body = (request.body as Readable | undefined) ?? null;
          const response = await route.handle(
            toRequest(request.raw, urlOf(request), body),
            request.params as Record<string, string>,
          );
          return send(reply, response);
        },
      });
    }
  });

  const detach = endpoints.attach(fastify.server);
  fastify.addHook("preClose", async () => {
    detach();
    await endpoints.close();
    await worker?.stop();
  });
};

/** The plugin (`fastify-plugin`, so `fastify.dtasks` is visible where it is registered). */
export const dtasksPlugin = fp(plugin, { name: "dtasks", fastify: "5.x" });

export default dtasksPlugin;
