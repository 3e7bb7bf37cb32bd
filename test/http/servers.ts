/**
 * The same little application on each adapter (and on the bare core behind `node:http`), so one
 * contract suite drives them all through real HTTP: async endpoints for several methods, a plain
 * endpoint, a builder that answers by itself, and a test-only route that tells a test the
 * callback ids its flows announced (the flows run in the server's process, maybe a child).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Host, WorkerOptions } from "dtasks";
import { dtasksRouter } from "dtasks/express";
import { dtasksPlugin } from "dtasks/fastify";
import { dtasks } from "dtasks/hono";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import {
  type AsyncEndpoints,
  type AsyncEndpointsOptions,
  createAsyncEndpoints,
} from "../../src/http/core/index.js";
import { sendResponse, toRequest } from "../../src/http/core/node.js";
import {
  callbacks,
  echo,
  failNow,
  nothing,
  sleepFor,
  unusual,
  waitFor,
  waitThenFail,
  yieldThen,
} from "./flows.js";

export const KINDS = ["core", "fastify", "hono", "express"] as const;
export type Kind = (typeof KINDS)[number];

export interface TestServer {
  kind: Kind;
  /** `http://127.0.0.1:<port>` */
  url: string;
  endpoints: AsyncEndpoints;
  host: Host;
  /** How many times an argument builder ran (to prove a bad request started nothing). */
  readonly builderCalls: number;
  close(): Promise<void>;
}

export type ServerOptions = Omit<AsyncEndpointsOptions, "host"> & { worker?: WorkerOptions | false };

const json = (body: unknown) =>
  body === undefined || body === null ? {} : (body as Record<string, unknown>);

/** The arguments of each async route, from the path parameter and the parsed body. */
const ROUTES = {
  echo: (_p: string, body: unknown) => [body] as [unknown],
  nothing: () => [] as [],
  unusual: () => [] as [],
  fail: (_p: string, body: unknown) => [String(json(body).message ?? "boom")] as [string],
  wait: (label: string) => [label] as [string],
  waitFail: (label: string) => [label] as [string],
  yield: (_p: string, body: unknown) => [body] as [unknown],
  sleep: (ms: string) => [Number(ms)] as [number],
};

/** Answers 422 instead of starting when the body is not `{"ok": true}`. */
function validated(body: unknown): [unknown] | Response {
  if (json(body).ok === true) return [body];
  return Response.json({ error: "not ok" }, { status: 422 });
}

export async function startServer(kind: Kind, host: Host, options: ServerOptions = {}): Promise<TestServer> {
  const { worker: workerOptions, ...endpointOptions } = options;
  const worker =
    workerOptions === false ? undefined : host.startWorker({ pollInterval: 50, ...workerOptions });
  let calls = 0;
  const count = <T>(value: T): T => {
    calls++;
    return value;
  };
  const made =
    kind === "fastify"
      ? await fastifyServer(host, endpointOptions, count)
      : kind === "hono"
        ? honoServer(host, endpointOptions, count)
        : kind === "express"
          ? expressServer(host, endpointOptions, count)
          : coreServer(host, endpointOptions, count);
  const server = made.server;
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    kind,
    url: `http://127.0.0.1:${port}`,
    endpoints: made.endpoints,
    host,
    get builderCalls() {
      return calls;
    },
    async close() {
      await made.close();
      await worker?.stop();
    },
  };
}

interface Made {
  server: Server;
  endpoints: AsyncEndpoints;
  close(): Promise<void>;
}

type Count = <T>(value: T) => T;

async function fastifyServer(
  host: Host,
  options: Omit<AsyncEndpointsOptions, "host">,
  count: Count,
): Promise<Made> {
  const app = Fastify();
  await app.register(dtasksPlugin, { host, ...options });
  type P = { Params: { p: string }; Body: unknown };
  const d = app.dtasks;
  app.post<P>(
    "/echo",
    d.async(echo, (r) => count(ROUTES.echo("", r.body))),
  );
  app.put<P>(
    "/echo",
    d.async(echo, (r) => count(ROUTES.echo("", r.body))),
  );
  app.patch<P>(
    "/echo",
    d.async(echo, (r) => count(ROUTES.echo("", r.body))),
  );
  app.get(
    "/nothing",
    d.async(nothing, () => count(ROUTES.nothing())),
  );
  app.get(
    "/unusual",
    d.async(unusual, () => count(ROUTES.unusual())),
  );
  app.post<P>(
    "/fail",
    d.async(failNow, (r) => count(ROUTES.fail("", r.body))),
  );
  app.post<P>(
    "/wait/:p",
    d.async(waitFor, (r) => count(ROUTES.wait(r.params.p))),
  );
  app.delete<P>(
    "/wait/:p",
    d.async(waitFor, (r) => count(ROUTES.wait(r.params.p))),
  );
  app.post<P>(
    "/wait-fail/:p",
    d.async(waitThenFail, (r) => count(ROUTES.waitFail(r.params.p))),
  );
  app.post<P>(
    "/yield",
    d.async(yieldThen, (r) => count(ROUTES.yield("", r.body))),
  );
  app.post<P>(
    "/sleep/:p",
    d.async(sleepFor, (r) => count(ROUTES.sleep(r.params.p))),
  );
  app.post<P>(
    "/validate",
    d.async(echo, (r) => count(validated(r.body))),
  );
  app.post<P>(
    "/replied",
    d.async(echo, async (_r, reply) => count(reply.code(418).send({ teapot: true }))),
  );
  app.get("/plain", async () => ({ plain: true }));
  app.get<P>("/test/callbacks/:p", async (r) => ({ callbackId: callbacks.get(r.params.p) ?? null }));
  await app.ready();
  await app.listen({ port: 0, host: "127.0.0.1" });
  return { server: app.server, endpoints: d.endpoints, close: () => app.close() };
}

function honoServer(host: Host, options: Omit<AsyncEndpointsOptions, "host">, count: Count): Made {
  const d = dtasks({ host, ...options });
  const app = new Hono();
  app.use(d.middleware());
  const body = async (c: { req: { raw: Request } }) => {
    const text = await c.req.raw.text();
    return text === "" ? undefined : JSON.parse(text);
  };
  app.post(
    "/echo",
    d.async(echo, async (c) => count(ROUTES.echo("", await body(c)))),
  );
  app.put(
    "/echo",
    d.async(echo, async (c) => count(ROUTES.echo("", await body(c)))),
  );
  app.patch(
    "/echo",
    d.async(echo, async (c) => count(ROUTES.echo("", await body(c)))),
  );
  app.get(
    "/nothing",
    d.async(nothing, () => count(ROUTES.nothing())),
  );
  app.get(
    "/unusual",
    d.async(unusual, () => count(ROUTES.unusual())),
  );
  app.post(
    "/fail",
    d.async(failNow, async (c) => count(ROUTES.fail("", await body(c)))),
  );
  app.post(
    "/wait/:p",
    d.async(waitFor, (c) => count(ROUTES.wait(c.req.param("p")!))),
  );
  app.delete(
    "/wait/:p",
    d.async(waitFor, (c) => count(ROUTES.wait(c.req.param("p")!))),
  );
  app.post(
    "/wait-fail/:p",
    d.async(waitThenFail, (c) => count(ROUTES.waitFail(c.req.param("p")!))),
  );
  app.post(
    "/yield",
    d.async(yieldThen, async (c) => count(ROUTES.yield("", await body(c)))),
  );
  app.post(
    "/sleep/:p",
    d.async(sleepFor, (c) => count(ROUTES.sleep(c.req.param("p")!))),
  );
  app.post(
    "/validate",
    d.async(echo, async (c) => count(validated(await body(c)))),
  );
  app.post(
    "/replied",
    d.async(echo, (c) => count(c.json({ teapot: true }, 418))),
  );
  app.get("/plain", (c) => c.json({ plain: true }));
  app.get("/test/callbacks/:p", (c) => c.json({ callbackId: callbacks.get(c.req.param("p")) ?? null }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
  const detach = d.attach(server);
  return {
    server,
    endpoints: d.endpoints,
    async close() {
      detach();
      await d.close();
      await closeServer(server);
    },
  };
}

function expressServer(host: Host, options: Omit<AsyncEndpointsOptions, "host">, count: Count): Made {
  const d = dtasksRouter({ host, ...options });
  const app = express();
  app.use(d);
  const j = express.json({ strict: false });
  app.post(
    "/echo",
    j,
    d.async(echo, (req) => count(ROUTES.echo("", req.body))),
  );
  app.put(
    "/echo",
    j,
    d.async(echo, (req) => count(ROUTES.echo("", req.body))),
  );
  app.patch(
    "/echo",
    j,
    d.async(echo, (req) => count(ROUTES.echo("", req.body))),
  );
  app.get(
    "/nothing",
    d.async(nothing, () => count(ROUTES.nothing())),
  );
  app.get(
    "/unusual",
    d.async(unusual, () => count(ROUTES.unusual())),
  );
  app.post(
    "/fail",
    j,
    d.async(failNow, (req) => count(ROUTES.fail("", req.body))),
  );
  app.post(
    "/wait/:p",
    d.async(waitFor, (req) => count(ROUTES.wait(req.params.p as string))),
  );
  app.delete(
    "/wait/:p",
    d.async(waitFor, (req) => count(ROUTES.wait(req.params.p as string))),
  );
  app.post(
    "/wait-fail/:p",
    d.async(waitThenFail, (req) => count(ROUTES.waitFail(req.params.p as string))),
  );
  app.post(
    "/yield",
    j,
    d.async(yieldThen, (req) => count(ROUTES.yield("", req.body))),
  );
  app.post(
    "/sleep/:p",
    d.async(sleepFor, (req) => count(ROUTES.sleep(req.params.p as string))),
  );
  app.post(
    "/validate",
    j,
    d.async(echo, (req) => count(validated(req.body))),
  );
  app.post(
    "/replied",
    d.async(echo, (_req, res) => count(void res.status(418).json({ teapot: true }))),
  );
  app.get("/plain", (_req, res) => void res.json({ plain: true }));
  app.get(
    "/test/callbacks/:p",
    (req, res) => void res.json({ callbackId: callbacks.get(req.params.p) ?? null }),
  );
  const server = createServer(app);
  const detach = d.attach(server);
  return {
    server,
    endpoints: d.endpoints,
    async close() {
      detach();
      await d.close();
      await closeServer(server);
    },
  };
}

/** The bare core behind `node:http`: what an adapter for another framework would do. */
function coreServer(host: Host, options: Omit<AsyncEndpointsOptions, "host">, count: Count): Made {
  const endpoints = createAsyncEndpoints({ host, ...options });
  const body = async (request: Request) => {
    const text = await request.text();
    return text === "" ? undefined : JSON.parse(text);
  };
  const server = createServer(async (req, res) => {
    const url = `http://${req.headers.host}${req.url}`;
    const request = toRequest(req, url);
    const { pathname } = new URL(url);
    const [, first, param] = pathname.split("/");
    const key = `${req.method} /${first}${param === undefined ? "" : "/:p"}`;
    let response: Response | undefined;
    const run = <A extends unknown[]>(
      fn: Parameters<typeof endpoints.run<A>>[1],
      args: () => A | Response | Promise<A | Response>,
    ) => endpoints.run(request, fn, async () => count(await args()));
    switch (key) {
      case "POST /echo":
      case "PUT /echo":
      case "PATCH /echo":
        response = await run(echo, async () => ROUTES.echo("", await body(request)));
        break;
      case "GET /nothing":
        response = await run(nothing, () => ROUTES.nothing());
        break;
      case "GET /unusual":
        response = await run(unusual, () => ROUTES.unusual());
        break;
      case "POST /fail":
        response = await run(failNow, async () => ROUTES.fail("", await body(request)));
        break;
      case "POST /wait/:p":
      case "DELETE /wait/:p":
        response = await run(waitFor, () => ROUTES.wait(decodeURIComponent(param!)));
        break;
      case "POST /wait-fail/:p":
        response = await run(waitThenFail, () => ROUTES.waitFail(decodeURIComponent(param!)));
        break;
      case "POST /yield":
        response = await run(yieldThen, async () => ROUTES.yield("", await body(request)));
        break;
      case "POST /sleep/:p":
        response = await run(sleepFor, () => ROUTES.sleep(param!));
        break;
      case "POST /validate":
        response = await run(echo, async () => validated(await body(request)));
        break;
      case "POST /replied":
        response = await run(echo, () => Response.json({ teapot: true }, { status: 418 }));
        break;
      case "GET /plain":
        response = Response.json({ plain: true });
        break;
      case "GET /test/callbacks/:p":
        response = Response.json({ callbackId: callbacks.get(decodeURIComponent(param!)) ?? null });
        break;
      default:
        response = (await endpoints.fetch(request)) ?? new Response("not found", { status: 404 });
    }
    await sendResponse(res, response!);
  });
  const detach = endpoints.attach(server);
  return {
    server,
    endpoints,
    async close() {
      detach();
      await endpoints.close();
      await closeServer(server);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
