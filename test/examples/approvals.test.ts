// The approvals sample, driven for real: the users service asks, the approvals service e-mails
// (its outbox page), the approver clicks through the decision page, and the users service is told
// by webhook. On SQLite with the one command (`run.ts`), with a restart of the approvals service
// between the e-mail and the click, with the timeout winning, and on Redis (`--store redis`).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import { redisPrefix } from "../../examples/approvals/store.js";
import { type Child, eventually, freePort, start, stopAll } from "../http/processes.js";

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "dtasks-approvals-"));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await stopAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const decode = (html: string) =>
  html
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

interface Services {
  approvals: string;
  users: string;
}

/** Asks for an approval through the users service; returns the operation id and status URL. */
async function ask(
  services: Services,
  approverId?: string,
): Promise<{ operationId: string; statusUrl: string }> {
  const response = await fetch(`${services.users}/approvals/start`, {
    method: "POST",
    body: JSON.stringify({ requestor: "bob@example.com", approverId }),
  });
  const body = (await response.json()) as { operationId: string; statusUrl: string };
  assert.equal(response.status, 202, JSON.stringify(body));
  assert.equal(body.statusUrl, `${services.approvals}/async/${body.operationId}/status`);
  return body;
}

/** The link of `choice` in the newest e-mail of the outbox page (waiting for it to be there). */
async function mailLink(services: Services, choice: "approve" | "reject"): Promise<string> {
  return eventually(async () => {
    const html = await (await fetch(`${services.approvals}/outbox`)).text();
    const href = new RegExp(`href="([^"]*choice=${choice}[^"]*)"`).exec(html)?.[1];
    return href ? decode(href) : undefined;
  }, "the e-mail in the outbox");
}

/** Does what the approver does: opens the link, then confirms (the page's script POSTs this). */
async function click(link: string): Promise<Response> {
  const page = await fetch(link);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<button id="confirm"/);
  const resume = decode(/data-resume="([^"]+)"/.exec(html)![1]!);
  const choice = /data-choice="([^"]+)"/.exec(html)![1]!;
  assert.match(resume, /\/approvals\/resume\/cb_[\w-]{22}\?exp=\d+&sig=[\w-]{43}$/);
  return fetch(resume, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ value: choice }),
  });
}

async function status(
  statusUrl: string,
): Promise<{ status: string; result?: { outcome: string; approver: string } }> {
  return (await fetch(statusUrl)).json() as never;
}

/** What the users service was told by webhook about `operationId`. */
async function told(services: Services, operationId: string) {
  return eventually(async () => {
    const list = (await (await fetch(`${services.users}/approvals`)).json()) as {
      operationId: string;
      status: string;
      result?: { outcome: string };
    }[];
    const entry = list.find((e) => e.operationId === operationId);
    return entry && entry.status !== "running" ? entry : undefined;
  }, "the users service to be told");
}

async function oneCommand(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ run: Child; services: Services }> {
  const run = start(
    "examples/approvals/run.ts",
    ["--approvals-port", "0", "--users-port", "0", ...args],
    env,
  );
  const [, users, approvals] = await run.waitFor(
    /^ready: ask for an approval at (\S+), then open (\S+)\/outbox/,
  );
  return { run, services: { users: users!, approvals: approvals! } };
}

describe("approvals sample", { timeout: 300_000 }, () => {
  test("one command on SQLite: asked, e-mailed, approved by a click, told by webhook", async () => {
    const data = dataDir();
    const { run, services } = await oneCommand(["--data", data]);
    const { operationId, statusUrl } = await ask(services);
    assert.equal((await status(statusUrl)).status, "running");
    const resumed = await click(await mailLink(services, "approve"));
    assert.equal(resumed.status, 200);
    const entry = await told(services, operationId);
    assert.equal(entry.status, "succeeded");
    assert.deepEqual(entry.result, {
      outcome: "approved",
      approver: "ada@example.com",
      resourceUri: "https://example.com/reports",
    });
    assert.deepEqual(await status(statusUrl), { operationId, status: "succeeded", result: entry.result });
    // A second click is refused (the callback was resumed), and the page says so.
    const again = await click(await mailLink(services, "reject"));
    assert.equal(again.status, 409);
    // An unknown approver is a 400 from the async endpoint, and no e-mail goes out.
    const before = await (await fetch(`${services.approvals}/outbox`)).text();
    const refused = await fetch(`${services.users}/approvals/start`, {
      method: "POST",
      body: '{"approverId":"nobody"}',
    });
    assert.equal(refused.status, 400);
    assert.equal(await (await fetch(`${services.approvals}/outbox`)).text(), before);
    assert.ok(
      run.lines.some((l) =>
        /\[users\] approval .* finished: succeeded, approved \(ada@example.com\)/.test(l),
      ),
      run.lines.join("\n"),
    );
    assert.equal(await run.stop(), 0);
  });

  test("the approvals service restarts between the e-mail and the click; the click and the webhook still work", async () => {
    const data = dataDir();
    const [approvalsPort, usersPort] = [await freePort(), await freePort()];
    const services = {
      approvals: `http://127.0.0.1:${approvalsPort}`,
      users: `http://127.0.0.1:${usersPort}`,
    };
    const users = start("examples/approvals/users.ts", [
      "--port",
      String(usersPort),
      "--approvals-url",
      services.approvals,
      "--data",
      data,
    ]);
    const approvalsArgs = ["--port", String(approvalsPort), "--users-url", services.users, "--data", data];
    let approvals = start("examples/approvals/approvals.ts", approvalsArgs);
    await Promise.all([users.waitFor(/listening on/), approvals.waitFor(/listening on/)]);

    const { operationId, statusUrl } = await ask(services);
    const link = await mailLink(services, "reject");
    assert.equal(await approvals.stop(), 0, approvals.lines.join("\n"));
    await assert.rejects(fetch(`${services.approvals}/outbox`), "the service is down");

    approvals = start("examples/approvals/approvals.ts", approvalsArgs);
    await approvals.waitFor(/listening on/);
    assert.equal((await status(statusUrl)).status, "running");
    const resumed = await click(link);
    assert.equal(resumed.status, 200, await resumed.text());
    const entry = await told(services, operationId);
    assert.deepEqual(entry.result, {
      outcome: "rejected",
      approver: "ada@example.com",
      resourceUri: "https://example.com/reports",
    });
    // The restarted process ran the rest of the flow: nothing before the durable wait ran again.
    assert.ok(approvals.lines.some((l) => l.includes("request for https://example.com/reports: rejected")));
    assert.ok(!approvals.lines.some((l) => l.includes("e-mailed")), approvals.lines.join("\n"));
    await Promise.all([approvals.stop(), users.stop()]);
  });

  test("nobody clicks: the timeout wins, the users service is told 'expired', and a late click is refused", async () => {
    const data = dataDir();
    const { run, services } = await oneCommand(["--data", data], { APPROVAL_TIMEOUT: "1s" });
    const { operationId } = await ask(services, "7d444840-9dc0-11d1-b245-5ffdce74fad2");
    const link = await mailLink(services, "approve");
    const entry = await told(services, operationId);
    assert.deepEqual(entry.result, {
      outcome: "expired",
      approver: "grace@example.com",
      resourceUri: "https://example.com/reports",
    });
    const late = await click(link);
    assert.equal(late.status, 404);
    assert.equal(((await late.json()) as { code: string }).code, "DT502");
    await run.stop();
  });

  test("on Redis with --store redis", async () => {
    const data = dataDir();
    const { run, services } = await oneCommand(["--data", data, "--store", "redis"]);
    try {
      assert.ok(
        run.lines.some((l) => l.includes("(store: redis")),
        run.lines.join("\n"),
      );
      const { operationId } = await ask(services);
      assert.equal((await click(await mailLink(services, "approve"))).status, 200);
      assert.equal((await told(services, operationId)).result?.outcome, "approved");
    } finally {
      await run.stop();
      const redis = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
      const keys = await redis.keys(`${redisPrefix(data)}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
