/**
 * The web server (Hono on Node, no worker): the page, uploads, and the async endpoint that
 * starts processing. `POST /documents/:id/process` answers 202 as soon as the processing reaches
 * its checkpoint; the worker process finishes it; this server observes the completion through the
 * store and pushes it to the page's WebSocket.
 *
 *   node --import dtasks/register server.ts --port 5262 [--store redis]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { createHost } from "dtasks";
import { dtasks } from "dtasks/hono";
import { Hono } from "hono";
import { Documents } from "./documents.js";
import { PAGE } from "./page.js";
import { configureDocuments, processDocument } from "./processing.js";
import { openStore, storeKind } from "./store.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "5262" },
    data: { type: "string", default: ".dtasks/documents" },
    store: { type: "string" },
    "redis-url": { type: "string" },
  },
});
const data = resolve(values.data!);
const documents = new Documents(data);
configureDocuments(documents);
const store = await openStore(storeKind(values.store), data, values["redis-url"]);
const host = createHost({ store });
const d = dtasks({ host, pollInterval: "2s" });
const MAX_UPLOAD = 5 * 1024 * 1024;

const app = new Hono();
app.use(d.middleware());
app.get("/", (c) => c.html(PAGE));
app.put("/documents", async (c) => {
  if (Number(c.req.header("content-length") ?? 0) > MAX_UPLOAD) return c.json({ error: "too large" }, 413);
  const content = new Uint8Array(await c.req.arrayBuffer());
  if (content.byteLength > MAX_UPLOAD) return c.json({ error: "too large" }, 413);
  const name = decodeURIComponent(c.req.header("x-filename") ?? "document");
  return c.json(documents.save(name, content), 201);
});
app.post(
  "/documents/:id/process",
  d.async(processDocument, (c) => {
    const id = c.req.param("id")!;
    if (!documents.info(id)) {
      return c.json(
        {
          type: "urn:example:unknown-document",
          title: "Unknown document",
          status: 404,
          detail: `no document ${id}`,
        },
        404,
      );
    }
    return [id];
  }),
);

const server = serve({ fetch: app.fetch, port: Number(values.port), hostname: "127.0.0.1" }, (info) => {
  console.log(`[server ${process.pid}] listening on http://127.0.0.1:${info.port} (store: ${store.engine})`);
});
const detach = d.attach(server);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    detach();
    await d.close();
    server.close();
    await host.close();
    process.exit(0);
  });
}
