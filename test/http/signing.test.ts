// Signed resume URLs: resumeUrl() signs (HMAC, expiry); a missing, forged, tampered, foreign or
// expired signature is a 403 (DT605) that touches nothing, and the signed URL then works.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createHost, type Host, memoryStore } from "dtasks";
import { signedQuery } from "../../src/http/core/signing.js";
import { callbackOf } from "./flows.js";
import { eventually, expectProblem, JSON_HEADERS } from "./helpers.js";
import { startServer, type TestServer } from "./servers.js";

const SECRET = "a-test-secret-of-at-least-32-bytes!!";
let host: Host;
let server: TestServer;

before(async () => {
  host = createHost({ store: memoryStore() });
  server = await startServer("fastify", host, {
    signing: { secret: SECRET, expiresIn: "1h" },
    publicUrl: "https://approvals.example.com",
    resumeRoutes: ["/approvals/resume/:operationId"],
  });
});
after(async () => {
  await server.close();
  await host.close();
});

test("resume URLs are signed, and only a valid, unexpired signature resumes", {
  timeout: 120_000,
}, async () => {
  const accepted = await fetch(`${server.url}/wait/signed`, { method: "POST" });
  assert.equal(accepted.status, 202);
  // publicUrl is where clients reach the service: Location uses it.
  const { operationId } = (await accepted.json()) as { operationId: string };
  assert.equal(accepted.headers.get("location"), `https://approvals.example.com/async/${operationId}/status`);

  const callbackId = await callbackOf("signed");
  const url = server.endpoints.resumeUrl(callbackId, { route: "/approvals/resume/:operationId" });
  const match =
    /^https:\/\/approvals\.example\.com\/approvals\/resume\/(cb_[\w-]+)\?exp=(\d+)&sig=([\w-]{43})$/.exec(
      url,
    );
  assert.ok(match, url);
  assert.equal(match[1], callbackId);
  const exp = Number(match[2]);
  assert.ok(Math.abs(exp - (Date.now() + 3_600_000) / 1000) < 5, "expires in an hour");

  const local = `${server.url}${new URL(url).pathname}`;
  const send = (query: string) =>
    fetch(`${local}${query}`, { method: "POST", headers: JSON_HEADERS, body: '{"value":"ok"}' });
  const secretBytes = new TextEncoder().encode(SECRET);
  const cases: [string, string, RegExp][] = [
    ["unsigned", "", /not signed/],
    ["a signature without exp", `?sig=${match[3]}`, /not signed/],
    [
      "a tampered signature",
      `?exp=${exp}&sig=${match[3]!.replace(/^./, (c) => (c === "A" ? "B" : "A"))}`,
      /does not match/,
    ],
    ["a later expiry with the old signature", `?exp=${exp + 3600}&sig=${match[3]}`, /does not match/],
    [
      "another callback's signature",
      `?${signedQuery(secretBytes, "cb_someoneelsesomeoneels", Date.now(), 60_000)}`,
      /does not match/,
    ],
    [
      "another key's signature",
      `?${signedQuery(new TextEncoder().encode("x".repeat(32)), callbackId, Date.now(), 60_000)}`,
      /does not match/,
    ],
    [
      "an expired signature",
      `?${signedQuery(secretBytes, callbackId, Date.now() - 120_000, 60_000)}`,
      /expired/,
    ],
    ["a non-numeric expiry", `?exp=soon&sig=${match[3]}`, /not a time/],
  ];
  for (const [what, query, detail] of cases) {
    const body = await expectProblem(await send(query), 403, "DT605");
    assert.match(String(body.detail), detail, what);
  }
  const status = () =>
    fetch(`${server.url}/async/${operationId}/status`).then((r) => r.json() as Promise<{ status: string }>);
  assert.equal((await status()).status, "running", "nothing was resumed");
  const ok = await send(new URL(url).search);
  assert.equal(ok.status, 200);
  await eventually(async () => (await status()).status === "succeeded", "the resumed flow to finish");
  // The signature is checked before the store: the reuse of a valid URL is the 409 of the store.
  await expectProblem(await send(new URL(url).search), 409, "DT503");
});
