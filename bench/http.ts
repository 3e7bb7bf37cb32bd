/**
 * Async endpoints vs plain endpoints on the same framework: requests per second of an endpoint
 * that starts a flow and answers 202 (the flow suspends at once on a durable timer: a create, a
 * run and a commit per request) against a plain JSON endpoint of the same server, as a ratio from
 * one run, for each adapter (Fastify, Hono, Express) and store (memory, SQLite).
 *
 * The server runs in a child process (this file with `--http-bench-server`), autocannon in this
 * one, so the load generator does not share the server's event loop.
 *
 *   npm run bench -- --only http [--duration 3] [--connections 16]
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { createHost, DTask, dasync, memoryStore } from "dtasks";
import type { BenchContext } from "./run.js";

const SERVER_FLAG = "--http-bench-server";
const ADAPTERS = ["fastify", "hono", "express"] as const;
const STORES = ["memory", "sqlite"] as const;

/** What the async endpoint starts: it suspends at once (202), the flow stays in the store. */
const remindLater = dasync(async function remindLater(userId: string) {
  await DTask.delay("1d");
  return userId;
});

async function serve(adapter: string, store: string, dir: string): Promise<void> {
  const host = createHost({
    store:
      store === "memory"
        ? memoryStore()
        : (await import("dtasks/sqlite")).sqliteStore({ path: join(dir, "bench.db") }),
  });
  const options = { host, recover: false };
  let server: Server;
  if (adapter === "fastify") {
    const { default: Fastify } = await import("fastify");
    const { dtasksPlugin } = await import("dtasks/fastify");
    const app = Fastify();
    await app.register(dtasksPlugin, options);
    app.get("/plain", async () => ({ ok: true }));
    app.post(
      "/async",
      app.dtasks.async(remindLater, () => ["u-1"]),
    );
    await app.listen({ port: 0, host: "127.0.0.1" });
    server = app.server;
  } else if (adapter === "hono") {
    const { Hono } = await import("hono");
    const { serve: honoServe } = await import("@hono/node-server");
    const { dtasks } = await import("dtasks/hono");
    const d = dtasks(options);
    const app = new Hono();
    app.use(d.middleware());
    app.get("/plain", (c) => c.json({ ok: true }));
    app.post(
      "/async",
      d.async(remindLater, () => ["u-1"]),
    );
    server = honoServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    await new Promise((resolve) => server.once("listening", resolve));
  } else {
    const { default: express } = await import("express");
    const { dtasksRouter } = await import("dtasks/express");
    const d = dtasksRouter(options);
    const app = express();
    app.use(d);
    app.get("/plain", (_req, res) => void res.json({ ok: true }));
    app.post(
      "/async",
      d.async(remindLater, () => ["u-1"]),
    );
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  }
  console.log(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

/** Requests per second (mean) of one endpoint; every answer must have the expected status. */
async function measure(
  url: string,
  method: "GET" | "POST",
  expected: number,
  duration: number,
  connections: number,
): Promise<number> {
  const result = await autocannon({ url, method, duration, connections, pipelining: 1 });
  const good = result[`${Math.floor(expected / 100)}xx` as "2xx"];
  if (result.errors > 0 || result.non2xx > 0 || good !== result.requests.total) {
    throw new Error(
      `${method} ${url}: ${result.errors} errors, ${result.non2xx} non-2xx of ${result.requests.total}`,
    );
  }
  return result.requests.average;
}

function startServer(
  adapter: string,
  store: string,
  dir: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, new URL(import.meta.url).pathname, SERVER_FLAG, adapter, store, dir],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    child.kill("SIGKILL");
    await exited;
  };
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const url = /^READY (\S+)/.exec(line)?.[1];
      if (url) resolve({ url, stop });
    });
  });
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export async function run({ args, log }: BenchContext): Promise<void> {
  const duration = option(args, "duration", 3);
  const connections = option(args, "connections", 16);
  log(`autocannon, ${connections} connections, ${duration} s per endpoint; server in a child process`);
  log("async: POST starting a flow that suspends on a 1-day timer (answered 202 + Location)");
  log('plain: GET answering {"ok":true} on the same server\n');
  log("| adapter | store | plain req/s | async (202) req/s | async / plain |");
  log("|---|---|---:|---:|---:|");
  for (const store of STORES) {
    for (const adapter of ADAPTERS) {
      const dir = mkdtempSync(join(tmpdir(), "dtasks-bench-http-"));
      const server = await startServer(adapter, store, dir);
      try {
        // Warm-up of both routes (JIT, SQLite page cache), then the measured runs, side by side.
        await measure(`${server.url}/plain`, "GET", 200, 1, connections);
        await measure(`${server.url}/async`, "POST", 202, 1, connections);
        const plain = await measure(`${server.url}/plain`, "GET", 200, duration, connections);
        const async = await measure(`${server.url}/async`, "POST", 202, duration, connections);
        log(
          `| ${adapter} | ${store} | ${Math.round(plain)} | ${Math.round(async)} | ${(async / plain).toFixed(3)} |`,
        );
      } finally {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

if (process.argv[2] === SERVER_FLAG) {
  const [adapter, store, dir] = process.argv.slice(3);
  await serve(adapter!, store!, dir!);
}
