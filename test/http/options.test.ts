// Options are checked once, at construction (DT606 naming the option, "did you mean"); a route
// registered with something other than a compiled d-async function is DT608 at registration; a
// resumeUrl() for a route that is not served is DT609.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as api from "dtasks";
import { createHost, memoryStore } from "dtasks";
import { dtasksRouter } from "dtasks/express";
import { dtasksPlugin } from "dtasks/fastify";
import { dtasks } from "dtasks/hono";
import Fastify from "fastify";
import { createAsyncEndpoints } from "../../src/http/core/index.js";
import { echo } from "./flows.js";

const host = createHost({ store: memoryStore() });
const code = (c: string, message?: RegExp) => (error: Error & { code?: string }) => {
  assert.equal(error.code, c, error.message);
  if (message) assert.match(error.message, message);
  return true;
};

test("bad options are DT606, naming the option", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ host, bsePath: "/x" }, /unknown option 'bsePath' \(did you mean 'basePath'\?\)/],
    [{}, /option 'host' must be a dtasks host/],
    [{ host, basePath: "api" }, /basePath/],
    [{ host, basePath: "/api/" }, /basePath/],
    [{ host, publicUrl: "api.example.com" }, /publicUrl/],
    [{ host, publicUrl: "https://x.example.com/?a=1" }, /publicUrl/],
    [{ host, resumeRoutes: ["/approvals/:id"] }, /must be named :operationId/],
    [{ host, resumeRoutes: ["/a/:operationId/:other"] }, /exactly one parameter/],
    [{ host, resumeRoutes: ["/a/:operationId?"] }, /optional/],
    [{ host, resumeRoutes: ["/a/*"] }, /wildcard/],
    [{ host, resumeRoutes: ["a/:operationId"] }, /is a path/],
    [{ host, resumeRoutes: ["/a/x:operationId"] }, /whole path segment/],
    [{ host, maxBodySize: -1 }, /maxBodySize/],
    [{ host, signing: { secret: "short" } }, /at least 32 bytes/],
    [{ host, signing: { secret: "s".repeat(32), ttl: "1d" } }, /unknown option 'ttl'/],
    [{ host, webhooks: { attempts: 0 } }, /webhooks\.attempts/],
    [{ host, webhooks: { alow: [] } }, /did you mean 'allow'/],
    [{ host, webhooks: { retryDelay: "soon" } }, /webhooks\.retryDelay/],
    [{ host, pollInterval: "fast" }, /pollInterval/],
    [{ host, instance: "has space" }, /instance/],
    [{ host, onError: "log" }, /onError/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => createAsyncEndpoints(options as never),
      code("DT606", message),
      JSON.stringify(Object.keys(options)),
    );
  }
  assert.throws(
    () => dtasks({ host, nope: 1 } as never),
    code("DT606", /^dtasks\/hono: unknown option 'nope'/),
  );
  assert.throws(() => dtasksRouter({ host, nope: 1 } as never), code("DT606", /^dtasks\/express: /));
});

test("the Fastify plugin checks its options at registration and leaves Fastify's own alone", {
  timeout: 120_000,
}, async () => {
  const app = Fastify();
  await assert.rejects(
    async () => {
      await app.register(dtasksPlugin, { host, resumeRoute: [] } as never);
      await app.ready();
    },
    code("DT606", /^dtasks\/fastify: unknown option 'resumeRoute' \(did you mean 'resumeRoutes'\?\)/),
  );
  const ok = Fastify();
  await ok.register(dtasksPlugin, { host, prefix: "/ignored", recover: false } as never);
  await ok.ready();
  assert.equal(typeof ok.dtasks.resumeUrl, "function");
  await ok.close();
});

test("an endpoint needs a compiled d-async function (DT608 when the route is declared)", {
  timeout: 120_000,
}, async () => {
  const endpoints = createAsyncEndpoints({ host, recover: false });
  const plain = async function plain() {
    return 1;
  };
  // Through an alias the compiler does not see the call: what an uncompiled module looks like.
  const mark = api.dasync;
  const uncompiled = mark(async function neverCompiled() {});
  const d = dtasks({ host, recover: false });
  for (const fn of [plain, uncompiled, "echo", undefined]) {
    assert.throws(() => d.async(fn as never), code("DT608", /needs a d-async function/));
  }
  // A builder that returns neither arguments nor a Response is a bug of the route: DT608.
  await assert.rejects(
    endpoints.run({ url: "http://x/", headers: new Headers() }, echo, () => "oops" as never),
    code("DT608", /returned "oops"; return the array of the function's arguments/),
  );
  await Promise.all([endpoints.close(), d.close()]);
});

test("resumeUrl() refuses an id that is not a callback id and a route that is not served (DT609)", {
  timeout: 120_000,
}, async () => {
  const endpoints = createAsyncEndpoints({ host, recover: false, basePath: "/api" });
  assert.equal(endpoints.resumeUrl("cb_abc"), "/api/async/resume/cb_abc");
  assert.throws(() => endpoints.resumeUrl("cb/../x"), code("DT609", /not a callback id/));
  assert.throws(
    () => endpoints.resumeUrl("cb_abc", { route: "/other/:operationId" }),
    code("DT609", /is not served; add it to the resumeRoutes option/),
  );
  assert.deepEqual(
    endpoints.routes.map((r) => `${r.method} ${r.path}`),
    [
      "GET /api/async/events",
      "GET /api/async/:operationId/status",
      "GET /api/async/:operationId/events",
      "POST /api/async/resume/:operationId",
    ],
  );
  await endpoints.close();
  await host.close();
});
