/**
 * The users service: a plain `node:http` service without dtasks. It asks the approvals service
 * for approvals (`POST /approvals` with `Async-CallbackType: webhook`) and is told each outcome
 * at `POST /approvals/result`, whose signature (`Dtasks-Signature`, HMAC of the body with the
 * shared secret) it checks.
 *
 *   node users.ts --port 5017 --approvals-url http://127.0.0.1:5033
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { approvers } from "./directory.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "5017" },
    "approvals-url": { type: "string", default: "http://127.0.0.1:5033" },
    data: { type: "string", default: ".dtasks/approvals" },
  },
});
const port = Number(values.port);
const approvalsUrl = values["approvals-url"]!;
const self = `http://127.0.0.1:${port}`;
const secretFile = join(resolve(values.data!), "secret");

interface Entry {
  operationId: string;
  requestor: string;
  resourceUri: string;
  statusUrl: string;
  status: string;
  result?: unknown;
}
const entries = new Map<string, Entry>();

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json"): void {
  res.writeHead(status, { "content-type": type });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

/** `t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">`, at most 5 minutes old. */
function signed(header: string | undefined, body: string): boolean {
  if (!existsSync(secretFile)) return false;
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (!match || Math.abs(Date.now() / 1000 - Number(match[1])) > 300) return false;
  const expected = createHmac("sha256", readFileSync(secretFile, "utf8").trim())
    .update(`${match[1]}.${body}`)
    .digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, "hex"));
}

async function start(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const request = JSON.parse((await readBody(req)) || "{}") as {
    requestor?: string;
    category?: string;
    resourceUri?: string;
    approverId?: string;
  };
  const details = {
    requestor: request.requestor ?? "bob@example.com",
    category: request.category ?? "Admin",
    resourceUri: request.resourceUri ?? "https://example.com/reports",
  };
  const response = await fetch(`${approvalsUrl}/approvals`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "async-callbacktype": "webhook",
      "async-callbackurl": `${self}/approvals/result`,
    },
    body: JSON.stringify({ details, approverId: request.approverId ?? approvers()[0]!.id }),
  });
  const body = (await response.json()) as { operationId?: string };
  if (response.status !== 202 || !body.operationId) return send(res, response.status, body);
  const statusUrl = response.headers.get("location")!;
  entries.set(body.operationId, {
    operationId: body.operationId,
    requestor: details.requestor,
    resourceUri: details.resourceUri,
    statusUrl,
    status: "running",
  });
  console.log(`[users] started approval ${body.operationId}; monitor it at ${statusUrl}`);
  send(res, 202, { operationId: body.operationId, statusUrl });
}

async function result(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const text = await readBody(req);
  if (!signed(req.headers["dtasks-signature"] as string | undefined, text))
    return send(res, 401, { error: "bad signature" });
  const body = JSON.parse(text) as {
    operationId: string;
    status: string;
    result?: { outcome: string; approver: string };
  };
  const entry = entries.get(body.operationId) ?? {
    operationId: body.operationId,
    requestor: "?",
    resourceUri: "?",
    statusUrl: "",
    status: "",
  };
  // A webhook may come twice (at-least-once): recording it again changes nothing.
  entries.set(body.operationId, { ...entry, status: body.status, result: body.result });
  console.log(
    `[users] approval ${body.operationId} finished: ${body.status}${body.result ? `, ${body.result.outcome} (${body.result.approver})` : ""}`,
  );
  send(res, 204, "");
}

const HOME = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Users</title></head>
<body style="font:16px system-ui;max-width:46rem;margin:2rem auto">
<h1>Users service</h1>
<p><button id="ask">Ask for Admin access to the reports</button></p>
<pre id="list"></pre>
<script>
document.getElementById("ask").onclick = () => fetch("/approvals/start", { method: "POST", body: "{}" }).then(refresh);
async function refresh() {
  document.getElementById("list").textContent = JSON.stringify(await (await fetch("/approvals")).json(), null, 2);
}
refresh(); setInterval(refresh, 2000);
</script></body></html>`;

const server = createServer((req, res) => {
  const route = `${req.method} ${req.url?.split("?")[0]}`;
  const handle =
    route === "POST /approvals/start"
      ? start(req, res)
      : route === "POST /approvals/result"
        ? result(req, res)
        : route === "GET /approvals"
          ? Promise.resolve(send(res, 200, [...entries.values()]))
          : route === "GET /"
            ? Promise.resolve(send(res, 200, HOME, "text/html"))
            : Promise.resolve(send(res, 404, { error: "not found" }));
  handle.catch((error: Error) => send(res, 502, { error: error.message }));
});
server.listen(port, "127.0.0.1", () =>
  console.log(`[users] listening on ${self}; approvals at ${approvalsUrl}`),
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
