/**
 * The wire contract, run against each adapter (and the bare core) over real HTTP on 127.0.0.1:
 * answers, status, resumption, push by WebSocket, SSE and webhook, and every bad request with
 * its status and problem-details body, each proven to start or lose nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createHost, type Host, memoryStore } from "dtasks";
import { callbackOf } from "./flows.js";
import {
  eventually,
  expectProblem,
  flowIds,
  JSON_HEADERS,
  receiver,
  sseConnect,
  wsConnect,
} from "./helpers.js";
import { type Kind, startServer, type TestServer } from "./servers.js";

const post = (url: string, init: RequestInit = {}) => fetch(url, { method: "POST", ...init });

async function statusOf(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("cache-control"), "no-store");
  return (await response.json()) as Record<string, unknown>;
}

/** Starts `/wait/<label>` and returns its operation id and status URL (asserting the 202). */
async function accepted(
  server: TestServer,
  label: string,
  headers: Record<string, string> = {},
  path = "/wait/",
) {
  const response = await post(`${server.url}${path}${label}`, { headers });
  const text = await response.text();
  assert.equal(response.status, 202, text);
  const { operationId } = JSON.parse(text) as { operationId: string };
  assert.match(operationId, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(response.headers.get("location"), `${server.url}/async/${operationId}/status`);
  return { operationId, statusUrl: response.headers.get("location")! };
}

async function resume(server: TestServer, label: string, value: unknown, route = "/async/resume/") {
  const callbackId = await callbackOf(label);
  return post(`${server.url}${route}${callbackId}`, {
    headers: JSON_HEADERS,
    body: JSON.stringify({ value }),
  });
}

async function finished(url: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const body = await statusOf(url);
    return body.status === "running" ? undefined : body;
  }, "the operation to finish");
}

export function contractSuite(kind: Kind): void {
  describe(`wire contract: ${kind}`, { timeout: 180_000 }, () => {
    let host: Host;
    let server: TestServer;
    let hook: Awaited<ReturnType<typeof receiver>>;
    let n = 0;
    const label = (what: string) => `${kind}-${what}-${++n}`;

    before(async () => {
      hook = await receiver();
      host = createHost({ store: memoryStore() });
      server = await startServer(kind, host, {
        resumeRoutes: ["/approvals/resume/:operationId"],
        maxBodySize: 1024,
        webhooks: { allow: [new URL(hook.url).origin], allowPrivateNetworks: true, retryDelay: 20 },
      });
    });
    after(async () => {
      await server.close();
      assert.deepEqual(server.endpoints.stats, { watching: 0, connections: 0, pushing: 0 });
      await host.close();
      await hook.close();
    });

    describe("answers", () => {
      test("a handler that finishes without suspending answers 200 with its result, for any method", async () => {
        for (const method of ["POST", "PUT", "PATCH"]) {
          const response = await fetch(`${server.url}/echo`, {
            method,
            headers: JSON_HEADERS,
            body: '{"n":1}',
          });
          assert.equal(response.status, 200, method);
          assert.match(response.headers.get("content-type")!, /^application\/json/);
          assert.deepEqual(await response.json(), { echo: { n: 1 } }, method);
        }
      });

      test("undefined is 204; BigInt, Map and Set become JSON", async () => {
        const none = await fetch(`${server.url}/nothing`);
        assert.equal(none.status, 204);
        assert.equal(await none.text(), "");
        const unusual = await fetch(`${server.url}/unusual`);
        assert.deepEqual(await unusual.json(), { big: "12345678901234567890", map: { a: 1 }, set: [1, 2] });
      });

      test("a fault before any suspension is a 500 problem with the error's message and code", async () => {
        const response = await post(`${server.url}/fail`, {
          headers: JSON_HEADERS,
          body: '{"message":"no stock"}',
        });
        const body = await expectProblem(response, 500, "E_TEST");
        assert.equal(body.detail, "no stock");
        assert.equal(body.errorName, "Error");
        assert.match(String(body.operationId), /^[A-Za-z0-9_-]{22}$/);
        assert.equal(body.stack, undefined);
      });

      test("the handler may answer instead of starting: a Response, or through the framework", async () => {
        const before = await flowIds(host);
        const refused = await post(`${server.url}/validate`, { headers: JSON_HEADERS, body: '{"ok":false}' });
        assert.equal(refused.status, 422);
        assert.deepEqual(await refused.json(), { error: "not ok" });
        const replied = await post(`${server.url}/replied`, { headers: JSON_HEADERS, body: "{}" });
        assert.equal(replied.status, 418);
        assert.deepEqual(await replied.json(), { teapot: true });
        assert.deepEqual(await flowIds(host), before, "nothing started");
        const ok = await post(`${server.url}/validate`, { headers: JSON_HEADERS, body: '{"ok":true}' });
        assert.deepEqual(await ok.json(), { echo: { ok: true } });
      });

      test("the first suspension answers 202, Location and {operationId}; the status says running, then succeeded", async () => {
        const l = label("wait");
        const { operationId, statusUrl } = await accepted(server, l);
        assert.deepEqual(await statusOf(statusUrl), { operationId, status: "running" });
        const resumed = await resume(server, l, { approved: true });
        assert.equal(resumed.status, 200);
        assert.deepEqual(await resumed.json(), { status: "resumed" });
        assert.deepEqual(await finished(statusUrl), {
          operationId,
          status: "succeeded",
          result: { label: l, value: { approved: true } },
        });
      });

      test("any method can be an async endpoint (DELETE)", async () => {
        const l = label("delete");
        const response = await fetch(`${server.url}/wait/${l}`, { method: "DELETE" });
        assert.equal(response.status, 202);
        await resume(server, l, 1);
        const { operationId } = (await response.json()) as { operationId: string };
        assert.equal((await finished(`${server.url}/async/${operationId}/status`)).status, "succeeded");
      });

      test("a flow that suspends at a yield is accepted and finished by a worker", async () => {
        const response = await post(`${server.url}/yield`, { headers: JSON_HEADERS, body: '"x"' });
        assert.equal(response.status, 202);
        const body = await finished(response.headers.get("location")!);
        assert.deepEqual(body.result, { after: "yield", value: "x" });
      });

      test("faulted after a suspension: the status carries problem details; canceled: canceled", async () => {
        const l = label("fault");
        const response = await post(`${server.url}/wait-fail/${l}`);
        const statusUrl = response.headers.get("location")!;
        await resume(server, l, "the audit");
        const body = await finished(statusUrl);
        assert.equal(body.status, "faulted");
        const error = body.error as Record<string, unknown>;
        assert.equal(error.type, "urn:dtasks:problem:operation-failed");
        assert.equal(error.status, 500);
        assert.equal(error.detail, "failed after the audit");

        const { operationId, statusUrl: canceledUrl } = await accepted(server, label("cancel"));
        await host.cancel(operationId);
        assert.deepEqual(await finished(canceledUrl), { operationId, status: "canceled" });
      });

      test("a custom resumption route resumes like the default one; resumeUrl builds it", async () => {
        const l = label("route");
        const { statusUrl } = await accepted(server, l);
        const callbackId = await callbackOf(l);
        const path = server.endpoints.resumeUrl(callbackId, { route: "/approvals/resume/:operationId" });
        assert.equal(path, `/approvals/resume/${callbackId}`);
        assert.equal(
          server.endpoints.resumeUrl(callbackId, { baseUrl: server.url }),
          `${server.url}/async/resume/${callbackId}`,
        );
        const response = await post(`${server.url}${path}`, {
          headers: JSON_HEADERS,
          body: '{"value":"via route"}',
        });
        assert.equal(response.status, 200);
        assert.equal(((await finished(statusUrl)).result as { value: string }).value, "via route");
      });
    });

    describe("bad requests start nothing and lose nothing", () => {
      const headerCases: [string, Record<string, string>, string][] = [
        ["an unknown callback type", { "async-callbacktype": "carrier-pigeon" }, "DT601"],
        ["an empty callback type", { "async-callbacktype": "" }, "DT601"],
        ["webhook without a URL", { "async-callbacktype": "webhook" }, "DT601"],
        ["a URL without webhook", { "async-callbackurl": "https://example.com/hook" }, "DT601"],
        [
          "a URL with websockets",
          {
            "async-callbacktype": "websockets",
            "async-connectionid": "A".repeat(22),
            "async-callbackurl": "https://example.com/x",
          },
          "DT601",
        ],
        ["websockets without a connection id", { "async-callbacktype": "websockets" }, "DT601"],
        ["sse without a connection id", { "async-callbacktype": "sse" }, "DT601"],
        ["a connection id without a type", { "async-connectionid": "A".repeat(22) }, "DT601"],
        [
          "a malformed connection id",
          { "async-callbacktype": "websockets", "async-connectionid": "not/an id" },
          "DT601",
        ],
        [
          "a relative callback URL",
          { "async-callbacktype": "webhook", "async-callbackurl": "/hook" },
          "DT604",
        ],
        [
          "an ftp callback URL",
          { "async-callbacktype": "webhook", "async-callbackurl": "ftp://127.0.0.1/x" },
          "DT604",
        ],
        [
          "credentials in the callback URL",
          { "async-callbacktype": "webhook", "async-callbackurl": "http://u:p@127.0.0.1/x" },
          "DT604",
        ],
        [
          "a destination outside the allowlist",
          { "async-callbacktype": "webhook", "async-callbackurl": "http://127.0.0.2:9/hook" },
          "DT604",
        ],
      ];
      for (const [what, headers, code] of headerCases) {
        test(`${what}: 400 ${code}, and neither the handler nor a flow started`, async () => {
          const flows = await flowIds(host);
          const calls = server.builderCalls;
          const response = await post(`${server.url}/echo`, {
            headers: { ...JSON_HEADERS, ...headers },
            body: "{}",
          });
          await expectProblem(response, 400, code);
          assert.equal(server.builderCalls, calls, "the handler did not run");
          assert.deepEqual(await flowIds(host), flows, "no flow started");
        });
      }

      test("the status of an unknown, malformed or non-HTTP operation is 404", async () => {
        await expectProblem(await fetch(`${server.url}/async/AAAAAAAAAAAAAAAAAAAAAA/status`), 404, "DT501");
        await expectProblem(await fetch(`${server.url}/async/not%20an%20id!/status`), 404, "DT501");
        await expectProblem(await fetch(`${server.url}/async/AAAAAAAAAAAAAAAAAAAAAA/events`), 404, "DT501");
        const { echo } = await import("./flows.js");
        const direct = await host.start(echo("not through http"), { id: "order-1" });
        await expectProblem(await fetch(`${server.url}/async/${direct.id}/status`), 404, "DT501");
      });

      test("resumption: every bad request is refused with its status, then the callback still resumes once", async () => {
        const l = label("bad-resume");
        const { statusUrl } = await accepted(server, l);
        const callbackId = await callbackOf(l);
        const url = `${server.url}/async/resume/${callbackId}`;
        const cases: [string, RequestInit, number, string][] = [
          ["invalid JSON", { headers: JSON_HEADERS, body: "{value:" }, 400, "DT602"],
          ["an empty body", { headers: JSON_HEADERS, body: "" }, 400, "DT602"],
          ["no value", { headers: JSON_HEADERS, body: '{"val":1}' }, 400, "DT602"],
          ["more than value", { headers: JSON_HEADERS, body: '{"value":1,"extra":2}' }, 400, "DT602"],
          ["an array", { headers: JSON_HEADERS, body: "[1]" }, 400, "DT602"],
          ["null", { headers: JSON_HEADERS, body: "null" }, 400, "DT602"],
          [
            "text/plain (a cross-site form could send it)",
            { headers: { "content-type": "text/plain" }, body: '{"value":1}' },
            415,
            "DT602",
          ],
          ["no content type", { body: new Uint8Array(Buffer.from('{"value":1}')) }, 415, "DT602"],
          [
            "a declared length over the limit",
            { headers: JSON_HEADERS, body: JSON.stringify({ value: "x".repeat(2000) }) },
            413,
            "DT603",
          ],
        ];
        for (const [what, init, status, code] of cases) {
          await expectProblem(await post(url, init), status, code).catch((error: Error) => {
            throw new Error(`${what}: ${error.message}`);
          });
        }
        // A chunked body (no Content-Length) is cut at the limit while being read.
        const chunks = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i < 20; i++)
              controller.enqueue(new TextEncoder().encode(i === 0 ? '{"value":"' : "y".repeat(100)));
            controller.enqueue(new TextEncoder().encode('"}'));
            controller.close();
          },
        });
        await expectProblem(
          await post(url, { headers: JSON_HEADERS, body: chunks, duplex: "half" } as RequestInit),
          413,
          "DT603",
        );
        await expectProblem(
          await post(`${server.url}/async/resume/cb_unknownunknownunknow`, {
            headers: JSON_HEADERS,
            body: '{"value":1}',
          }),
          404,
          "DT502",
        );
        await expectProblem(
          await post(`${server.url}/async/resume/bad%20id!`, { headers: JSON_HEADERS, body: '{"value":1}' }),
          404,
          "DT502",
        );
        assert.deepEqual(
          await statusOf(statusUrl),
          { operationId: statusUrl.split("/").at(-2), status: "running" },
          "nothing lost",
        );
        const ok = await post(url, {
          headers: { "content-type": "application/json; charset=utf-8" },
          body: '{"value":null}',
        });
        assert.equal(ok.status, 200);
        await expectProblem(await post(url, { headers: JSON_HEADERS, body: '{"value":2}' }), 409, "DT503");
        assert.deepEqual((await finished(statusUrl)).result, { label: l, value: null });
      });
    });

    describe("push", () => {
      test("websockets: the connection gets one message with the status body", async () => {
        const client = await wsConnect(server.url);
        try {
          const l = label("ws");
          const { operationId } = await accepted(server, l, {
            "async-callbacktype": "websockets",
            "async-connectionid": client.connectionId,
          });
          await resume(server, l, 7);
          assert.deepEqual(await client.messages.next("the completion"), {
            operationId,
            status: "succeeded",
            result: { label: l, value: 7 },
          });
        } finally {
          client.close();
        }
        await eventually(() => server.endpoints.stats.connections === 0, "the connection to be forgotten");
      });

      test("sse connection: `connected` gives the id, then one event per finished operation", async () => {
        const client = await sseConnect(`${server.url}/async/events`);
        try {
          assert.equal(client.response.headers.get("content-type"), "text/event-stream; charset=utf-8");
          const hello = await client.events.next("connected");
          assert.equal(hello.event, "connected");
          const { connectionId } = JSON.parse(hello.data) as { connectionId: string };
          const l = label("sse");
          const { operationId } = await accepted(server, l, {
            "async-callbacktype": "sse",
            "async-connectionid": connectionId,
          });
          await resume(server, l, "s");
          const message = await client.events.next("the completion");
          assert.equal(message.event, "message");
          assert.deepEqual(JSON.parse(message.data), {
            operationId,
            status: "succeeded",
            result: { label: l, value: "s" },
          });
        } finally {
          client.close();
        }
        await eventually(
          () => server.endpoints.stats.connections === 0,
          "the SSE connection to be forgotten",
        );
      });

      test("sse per operation: one event when it finishes, then the stream ends (at once if finished)", async () => {
        const l = label("op-sse");
        const { operationId } = await accepted(server, l);
        const client = await sseConnect(`${server.url}/async/${operationId}/events`);
        await resume(server, l, 3);
        const message = await client.events.next("the completion");
        assert.deepEqual(JSON.parse(message.data), {
          operationId,
          status: "succeeded",
          result: { label: l, value: 3 },
        });
        await client.ended;
        const again = await sseConnect(`${server.url}/async/${operationId}/events`);
        assert.equal(JSON.parse((await again.events.next("the finished status")).data).status, "succeeded");
        await again.ended;
      });

      test("webhook and websockets together: both are told, the webhook with its headers", async () => {
        const client = await wsConnect(server.url);
        try {
          const l = label("both");
          const { operationId } = await accepted(server, l, {
            "async-callbacktype": "webhook, websockets",
            "async-callbackurl": hook.url,
            "async-connectionid": client.connectionId,
          });
          await resume(server, l, "both");
          const expected = { operationId, status: "succeeded", result: { label: l, value: "both" } };
          assert.deepEqual(await client.messages.next("the ws completion"), expected);
          const delivery = await hook.inbox.next("the webhook");
          assert.deepEqual(delivery.body, expected);
          assert.equal(delivery.headers["content-type"], "application/json");
          assert.equal(delivery.headers["idempotency-key"], operationId);
        } finally {
          client.close();
        }
      });

      test("webhook of a faulted operation carries the problem details", async () => {
        const l = label("hook-fault");
        const { operationId } = await accepted(
          server,
          l,
          { "async-callbacktype": "webhook", "async-callbackurl": hook.url },
          "/wait-fail/",
        );
        await resume(server, l, "bad data");
        const delivery = await hook.inbox.next("the webhook");
        assert.equal(delivery.body.operationId, operationId);
        assert.equal(delivery.body.status, "faulted");
        assert.equal((delivery.body.error as { detail: string }).detail, "failed after bad data");
      });

      test("an operation that finishes without suspending answers with its result and pushes nothing", async () => {
        const received = hook.received.length;
        const response = await post(`${server.url}/echo`, {
          headers: { ...JSON_HEADERS, "async-callbacktype": "webhook", "async-callbackurl": hook.url },
          body: "1",
        });
        assert.deepEqual(await response.json(), { echo: 1 });
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(hook.received.length, received);
        assert.equal(server.endpoints.stats.watching, 0);
      });
    });
  });
}
