// What each adapter does beyond the contract: the Fastify plugin's worker and preClose clean-up,
// its decorator and encapsulation; Express with a body parser mounted before the router; Hono's
// c.var.dtasks; mounting under a basePath.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createHost, memoryStore } from "dtasks";
import { dtasksRouter } from "dtasks/express";
import { dtasksPlugin } from "dtasks/fastify";
import { dtasks } from "dtasks/hono";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { callbackOf, waitFor, yieldThen } from "./flows.js";
import { eventually, JSON_HEADERS, sseConnect, wsConnect } from "./helpers.js";

test("fastify: the plugin's worker runs flows and stops in preClose, with the connections", {
  timeout: 120_000,
}, async () => {
  const host = createHost({ store: memoryStore() });
  const app = Fastify();
  await app.register(dtasksPlugin, { host, worker: { pollInterval: 10 }, basePath: "/api" });
  app.post(
    "/yield",
    app.dtasks.async(yieldThen, () => ["w"]),
  );
  // The plugin's raw-body parser stays inside its own routes: JSON still parses here.
  app.post("/json", async (request) => ({ got: request.body }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const response = await fetch(`${url}/yield`, { method: "POST" });
  assert.equal(response.status, 202);
  assert.match(response.headers.get("location")!, /\/api\/async\/[\w-]{22}\/status$/);
  await eventually(
    async () =>
      ((await (await fetch(response.headers.get("location")!)).json()) as { status: string }).status ===
      "succeeded",
    "the worker",
  );
  assert.deepEqual(
    await (await fetch(`${url}/json`, { method: "POST", headers: JSON_HEADERS, body: '{"a":1}' })).json(),
    { got: { a: 1 } },
  );

  const ws = await wsConnect(url, "/api/async/ws");
  const sse = await sseConnect(`${url}/api/async/events`);
  await sse.events.next("connected");
  assert.equal(app.dtasks.endpoints.stats.connections, 2);
  assert.equal(app.dtasks.worker?.state === "idle" || app.dtasks.worker?.state === "running", true);
  await app.close();
  assert.equal(app.dtasks.worker?.state, "stopped");
  assert.equal(await ws.closed, 1001, "going away");
  await sse.ended;
  assert.deepEqual(app.dtasks.endpoints.stats, { watching: 0, connections: 0, pushing: 0 });
  await host.close();
});

test("express: resumption still works when a body parser ran before the router", {
  timeout: 120_000,
}, async () => {
  const host = createHost({ store: memoryStore() });
  const worker = host.startWorker({ pollInterval: 10 });
  const d = dtasksRouter({ host });
  const app = express();
  app.use(express.json());
  app.use(d);
  app.post(
    "/wait/:label",
    d.async(waitFor, (req) => [req.params.label as string]),
  );
  // Express's own error answer, without its default logging of the parser's error.
  app.use(
    (
      error: { status?: number },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.status(error.status ?? 500).end();
    },
  );
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const accepted = await fetch(`${url}/wait/parsed`, { method: "POST" });
    const resumed = await fetch(`${url}/async/resume/${await callbackOf("parsed")}`, {
      method: "POST",
      headers: JSON_HEADERS,
      body: '{"value":"ok"}',
    });
    assert.equal(resumed.status, 200, await resumed.text());
    const statusUrl = accepted.headers.get("location")!;
    await eventually(
      async () => ((await (await fetch(statusUrl)).json()) as { status: string }).status === "succeeded",
      "the flow",
    );
    // The parser's own refusals are its own (Express's 400), before the router.
    const bad = await fetch(`${url}/async/resume/cb_x`, {
      method: "POST",
      headers: JSON_HEADERS,
      body: "{nope",
    });
    assert.equal(bad.status, 400);
  } finally {
    await d.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await worker.stop();
    await host.close();
  }
});

test("hono: the middleware passes other routes on and sets c.var.dtasks", { timeout: 120_000 }, async () => {
  const host = createHost({ store: memoryStore() });
  const d = dtasks({ host, basePath: "/v1" });
  const app = new Hono();
  app.use(d.middleware());
  app.get("/who", (c) => c.json({ basePath: c.var.dtasks.basePath }));
  assert.deepEqual(await (await app.request("/who")).json(), { basePath: "/v1" });
  assert.equal((await app.request("/v1/async/AAAAAAAAAAAAAAAAAAAAAA/status")).status, 404);
  assert.equal((await app.request("/async/AAAAAAAAAAAAAAAAAAAAAA/status")).status, 404);
  assert.equal(
    (await app.request("/v1/async/AAAAAAAAAAAAAAAAAAAAAA/status")).headers.get("content-type"),
    "application/problem+json",
  );
  await d.close();
  await host.close();
});
