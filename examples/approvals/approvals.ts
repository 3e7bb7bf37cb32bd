/**
 * The approvals service: Fastify with dtasks. `POST /approvals` is an async endpoint: it looks the
 * approver up (a 400 if unknown, nothing started), starts the approval workflow, and answers 202
 * with the status URL as soon as the workflow waits; the requesting service is told the outcome
 * by webhook (`Async-CallbackType: webhook`). E-mails go to `/outbox`; their links lead to
 * `/decision`, which resumes the workflow through `POST /approvals/resume/:operationId`.
 *
 *   node --import dtasks/register approvals.ts --port 5033 --users-url http://127.0.0.1:5017 [--store redis]
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createHost } from "dtasks";
import { dtasksPlugin } from "dtasks/fastify";
import Fastify from "fastify";
import { findApprover } from "./directory.js";
import { Outbox } from "./outbox.js";
import { decisionPage, outboxPage } from "./pages.js";
import { openStore, storeKind } from "./store.js";
import { type ApprovalRequest, approval, configureMailer } from "./workflow.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "5033" },
    "users-url": { type: "string", default: "http://127.0.0.1:5017" },
    data: { type: "string", default: ".dtasks/approvals" },
    store: { type: "string" },
    "redis-url": { type: "string" },
  },
});
const data = resolve(values.data!);
const RESUME_ROUTE = "/approvals/resume/:operationId";

/** The key of signed resume URLs and webhooks, kept in the data folder so links survive a restart. */
function secret(): string {
  const file = join(data, "secret");
  mkdirSync(data, { recursive: true });
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64url"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

const store = await openStore(storeKind(values.store), data, values["redis-url"]);
const host = createHost({ store });
const app = Fastify();
const port = Number(values.port);
const publicUrl = `http://127.0.0.1:${port}`;
const outbox = new Outbox(data);

await app.register(dtasksPlugin, {
  host,
  worker: true,
  publicUrl,
  // One approvals process: it takes over the webhooks of the approvals it accepted before a restart.
  instance: "approvals",
  resumeRoutes: [RESUME_ROUTE],
  signing: { secret: secret(), expiresIn: "8d" },
  // The users service is on this machine: allow it, and only it.
  webhooks: { allow: [new URL(values["users-url"]!).origin], allowPrivateNetworks: true },
});
configureMailer({
  outbox,
  publicUrl,
  resumeUrl: (callbackId) => app.dtasks.resumeUrl(callbackId, { route: RESUME_ROUTE, baseUrl: publicUrl }),
});

interface Body {
  details: ApprovalRequest;
  approverId: string;
}

app.post<{ Body: Body }>(
  "/approvals",
  {
    schema: {
      body: {
        type: "object",
        required: ["details", "approverId"],
        properties: {
          approverId: { type: "string" },
          details: {
            type: "object",
            required: ["requestor", "category", "resourceUri"],
            properties: {
              requestor: { type: "string" },
              category: { type: "string" },
              resourceUri: { type: "string" },
            },
          },
        },
      },
    },
  },
  app.dtasks.async(approval, async (request) => {
    const approver = await findApprover(request.body.approverId);
    if (!approver) {
      return Response.json(
        {
          type: "urn:example:unknown-approver",
          title: "Unknown approver",
          status: 400,
          detail: `no approver ${request.body.approverId}`,
        },
        { status: 400, headers: { "content-type": "application/problem+json" } },
      );
    }
    const { requestor, category, resourceUri } = request.body.details;
    return [{ requestor, category, resourceUri }, approver];
  }),
);

app.get("/", async (_request, reply) => reply.redirect("/outbox"));
app.get("/outbox", async (_request, reply) => reply.type("text/html").send(outboxPage(outbox.list())));
app.get<{ Querystring: { mail?: string; choice?: string; resume?: string } }>(
  "/decision",
  async (request, reply) => {
    const { mail, choice, resume } = request.query;
    const ours =
      resume?.startsWith(`${publicUrl}/approvals/resume/`) || resume?.startsWith("/approvals/resume/");
    if ((choice !== "approve" && choice !== "reject") || !ours) {
      return reply.code(400).type("text/plain").send("this link is incomplete");
    }
    return reply.type("text/html").send(decisionPage(mail ? outbox.find(mail) : undefined, choice, resume!));
  },
);

await app.listen({ port, host: "127.0.0.1" });
console.log(
  `[approvals] listening on ${publicUrl} (store: ${store.engine}, data: ${data}); outbox: ${publicUrl}/outbox`,
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await app.close();
    await host.close();
    console.log("[approvals] stopped");
    process.exit(0);
  });
}
