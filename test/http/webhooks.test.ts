// Webhook delivery against a real local receiver: retries with exponential back-off on failures
// that may pass, none on those that will not, Retry-After, redirects not followed, giving up
// with DT607; and the destination guard (allowlist, non-public addresses, DNS) at acceptance and
// at delivery.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createHost, type Host, memoryStore } from "dtasks";
import { deliverWebhook } from "../../src/http/core/webhooks/deliver.js";
import {
  checkDestination,
  guardedLookup,
  isNonPublicAddress,
} from "../../src/http/core/webhooks/destinations.js";
import { resolveWebhookOptions } from "../../src/http/core/webhooks/options.js";
import { callbackOf } from "./flows.js";
import { eventually, expectProblem, JSON_HEADERS, type Receiver, receiver } from "./helpers.js";
import { startServer, type TestServer } from "./servers.js";

const options = (extra: Record<string, unknown> = {}) =>
  resolveWebhookOptions(
    { allowPrivateNetworks: true, retryDelay: 40, maxRetryDelay: 1000, timeout: 2000, ...extra },
    "test",
  );

const delivery = (url: string, body = '{"operationId":"op"}') => ({
  url,
  body,
  operationId: "op",
  signal: new AbortController().signal,
});

describe("webhook delivery", { timeout: 60_000 }, () => {
  let hook: Receiver;
  before(async () => {
    hook = await receiver();
  });
  after(() => hook.close());

  test("retries 503s and network errors with doubling delays, then delivers", async () => {
    hook.received.length = 0;
    hook.statuses.push(503, 500, 502);
    const tries = await deliverWebhook(delivery(hook.url), options());
    assert.equal(tries, 4);
    assert.equal(hook.received.length, 4);
    const gaps = hook.received.slice(1).map((r, i) => r.at - hook.received[i]!.at);
    // 40, 80, 160 ms, each ±20 %.
    assert.ok(gaps[0]! >= 30 && gaps[0]! < 1_000, `first gap ${gaps[0]}`);
    assert.ok(gaps[1]! >= 60, `second gap ${gaps[1]}`);
    assert.ok(gaps[2]! >= 125, `third gap ${gaps[2]}`);
    assert.ok(gaps[2]! > gaps[0]!, `back-off grows: ${gaps.join(", ")}`);
    // Every try is the same delivery: the receiver de-duplicates on the idempotency key.
    assert.ok(hook.received.every((r) => r.headers["idempotency-key"] === "op"));

    const closed = await receiver();
    const url = closed.url;
    await closed.close();
    await assert.rejects(
      deliverWebhook(delivery(url), options({ attempts: 3 })),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "DT607");
        assert.match(error.message, /was not delivered: .*ECONNREFUSED/);
        assert.ok(
          !error.message.includes("/hook"),
          "the path (which may hold secrets) is not in the message",
        );
        return true;
      },
    );
  });

  test("honours Retry-After on 429, up to maxRetryDelay", async () => {
    hook.received.length = 0;
    hook.statuses.push(429, 429);
    // The receiver answers 429 with Retry-After: 1 (second); the back-off alone would be 40 ms.
    await deliverWebhook(delivery(hook.url), options({ maxRetryDelay: 1500 }));
    assert.equal(hook.received.length, 3);
    const gap = hook.received[1]!.at - hook.received[0]!.at;
    assert.ok(gap >= 950 && gap < 3_000, `waited ${gap} ms`);
    // …but never longer than maxRetryDelay.
    hook.received.length = 0;
    hook.statuses.push(429);
    await deliverWebhook(delivery(hook.url), options({ maxRetryDelay: 100 }));
    assert.ok(hook.received[1]!.at - hook.received[0]!.at < 1_500);
  });

  test("gives up at once on a 4xx other than 408/425/429, and on a redirect (not followed)", async () => {
    for (const status of [400, 404, 410, 301, 307]) {
      hook.received.length = 0;
      hook.statuses.push(status);
      await assert.rejects(
        deliverWebhook(delivery(hook.url), options()),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, "DT607");
          assert.match(error.message, new RegExp(`answered ${status}`));
          return true;
        },
      );
      assert.equal(hook.received.length, 1, `one try for ${status}`);
    }
  });

  test("gives up after `attempts` tries", async () => {
    hook.received.length = 0;
    hook.statuses.push(503, 503, 503, 503);
    await assert.rejects(deliverWebhook(delivery(hook.url), options({ attempts: 3 })), /answered 503/);
    assert.equal(hook.received.length, 3);
    hook.statuses.length = 0;
  });

  test("stops waiting for the next try when the server closes", async () => {
    hook.statuses.push(503);
    const abort = new AbortController();
    const started = Date.now();
    const pending = deliverWebhook(
      { ...delivery(hook.url), signal: abort.signal },
      options({ retryDelay: 60_000 }),
    );
    await eventually(() => hook.received.length > 0, "the first try");
    abort.abort();
    await assert.rejects(pending, /closed before the next try/);
    assert.ok(Date.now() - started < 5_000);
  });

  test("signs the body when a secret is set", async () => {
    hook.received.length = 0;
    const secret = new TextEncoder().encode("s".repeat(32));
    const body = '{"operationId":"op","status":"succeeded"}';
    await deliverWebhook({ ...delivery(hook.url, body), secret }, options());
    const header = String(hook.received[0]!.headers["dtasks-signature"]);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)!;
    assert.equal(v1, createHmac("sha256", secret).update(`${t}.${body}`).digest("hex"));
  });
});

describe("webhook destinations (server-side request forgery)", { timeout: 60_000 }, () => {
  test("non-public addresses are recognised, IPv4 and IPv6, mapped and NAT64 forms included", () => {
    for (const address of [
      "127.0.0.1",
      "127.255.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "255.255.255.255",
      "::1",
      "::",
      "fd00::1",
      "fc12::3",
      "fe80::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.0.0.1",
      "64:ff9b::a9fe:a9fe",
      "ff02::1",
    ])
      assert.equal(isNonPublicAddress(address), true, address);
    for (const address of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
      assert.equal(isNonPublicAddress(address), false, address);
  });

  test("the allowlist: origins, host names, wildcards, RegExps and predicates", async () => {
    const allow = (rules: unknown[]) =>
      resolveWebhookOptions({ allow: rules, allowPrivateNetworks: true }, "test");
    const ok = async (url: string, rules: unknown[]) => (await checkDestination(url, allow(rules))).href;
    const refused = (url: string, rules: unknown[]) =>
      assert.rejects(
        checkDestination(url, allow(rules)),
        (e: Error & { code?: string }) => e.code === "DT604",
      );
    await ok("http://127.0.0.1:5017/x", ["http://127.0.0.1:5017"]);
    await refused("http://127.0.0.1:5018/x", ["http://127.0.0.1:5017"]);
    await refused("https://127.0.0.1:5017/x", ["http://127.0.0.1:5017"]);
    await ok("http://hooks.localhost/x", ["hooks.localhost"]);
    await ok("http://a.b.localhost/x", ["*.localhost"]);
    await refused("http://localhost/x", ["*.localhost"]);
    await refused("http://evil-localhost/x", ["*.localhost"]);
    await ok("http://127.0.0.1/hooks/1", [/^http:\/\/127\.0\.0\.1\/hooks\//]);
    await ok("http://127.0.0.1/y", [(url: URL) => url.pathname === "/y"]);
    await refused("http://127.0.0.1/z", [(url: URL) => url.pathname === "/y"]);
    assert.throws(() => allow(["not a rule!"]), /DT606|webhooks\.allow/);
  });

  test("loopback and private destinations are refused unless allowed, also by name (DNS)", async () => {
    const guard = resolveWebhookOptions({}, "test");
    for (const url of [
      "http://127.0.0.1/x",
      "http://[::1]/x",
      "http://169.254.169.254/latest/meta-data",
      "http://localhost:8080/x",
      "http://10.0.0.1/x",
    ]) {
      await assert.rejects(checkDestination(url, guard), (e: Error & { code?: string }) => {
        assert.equal(e.code, "DT604", url);
        assert.match(e.message, /not a public address|non-public/);
        return true;
      });
    }
    // At delivery the socket's own lookup refuses it too (a name that resolves differently later).
    const lookup = guardedLookup(guard);
    const error = await new Promise<Error | null>((resolve) => lookup("localhost", {}, (e) => resolve(e)));
    assert.equal((error as Error & { code?: string })?.code, "DT604");
    const allowed = guardedLookup(resolveWebhookOptions({ allowPrivateNetworks: true }, "test"));
    const address = await new Promise<string>((resolve) =>
      allowed("localhost", {}, (_e, a) => resolve(String(a))),
    );
    assert.ok(isNonPublicAddress(address));
  });

  test("a delivery re-checks the destination: refused at once, not retried", async () => {
    await assert.rejects(
      deliverWebhook(delivery("http://127.0.0.1:1/x"), resolveWebhookOptions({}, "test")),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "DT607");
        assert.match(e.message, /not a public address/);
        return true;
      },
    );
  });
});

describe("webhooks through an async endpoint", { timeout: 60_000 }, () => {
  let host: Host;
  let server: TestServer;
  let hook: Receiver;
  const errors: { error: Error; operationId?: string }[] = [];

  before(async () => {
    hook = await receiver();
    host = createHost({ store: memoryStore() });
    server = await startServer("core", host, {
      webhooks: {
        allow: [new URL(hook.url).origin],
        allowPrivateNetworks: true,
        retryDelay: 30,
        attempts: 3,
      },
      onError: (error, context) => errors.push({ error, operationId: context.operationId }),
    });
  });
  after(async () => {
    await server.close();
    await host.close();
    await hook.close();
  });

  test("a private destination is a 400 without allowPrivateNetworks, and nothing starts", async () => {
    const strict = await startServer("core", host, { worker: false });
    try {
      const response = await fetch(`${strict.url}/wait/strict`, {
        method: "POST",
        headers: { "async-callbacktype": "webhook", "async-callbackurl": hook.url },
      });
      const body = await expectProblem(response, 400, "DT604");
      assert.match(String(body.detail), /not a public address/);
      assert.equal(strict.builderCalls, 0);
    } finally {
      await strict.close();
    }
  });

  test("a receiver failing twice gets the completion on the third try; one that never recovers is reported (DT607)", async () => {
    hook.statuses.push(503, 503);
    const response = await fetch(`${server.url}/wait/retry`, {
      method: "POST",
      headers: { "async-callbacktype": "webhook", "async-callbackurl": hook.url },
    });
    const { operationId } = (await response.json()) as { operationId: string };
    await fetch(`${server.url}/async/resume/${await callbackOf("retry")}`, {
      method: "POST",
      headers: JSON_HEADERS,
      body: '{"value":1}',
    });
    await eventually(
      () => hook.received.filter((r) => r.body.operationId === operationId).length === 3,
      "three tries",
    );
    assert.equal(hook.statuses.length, 0);
    await eventually(() => server.endpoints.stats.pushing === 0, "the push to end");
    assert.equal(errors.length, 0);

    hook.statuses.push(500, 500, 500);
    const failing = await fetch(`${server.url}/wait/never`, {
      method: "POST",
      headers: { "async-callbacktype": "webhook", "async-callbackurl": hook.url },
    });
    const failed = ((await failing.json()) as { operationId: string }).operationId;
    await fetch(`${server.url}/async/resume/${await callbackOf("never")}`, {
      method: "POST",
      headers: JSON_HEADERS,
      body: '{"value":1}',
    });
    const reported = await eventually(() => errors.find((e) => e.operationId === failed), "the DT607 report");
    assert.equal((reported.error as Error & { code?: string }).code, "DT607");
    // The operation itself succeeded: the status says so whatever the webhook did.
    const status = (await (await fetch(`${server.url}/async/${failed}/status`)).json()) as { status: string };
    assert.equal(status.status, "succeeded");
  });
});
