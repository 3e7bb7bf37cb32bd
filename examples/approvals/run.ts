/**
 * `npm run example:approvals [-- --store redis]`: the approval workflow of the .NET sample, as two
 * services started by this one command:
 *
 * - the approvals service (dtasks + Fastify, port 5033): `POST /approvals` e-mails the approver
 *   (to its `/outbox` page) and waits, up to 7 days, for the click;
 * - the users service (plain HTTP, port 5017), which asks for approvals and is told the outcome by
 *   webhook. Open http://127.0.0.1:5017 and press the button, then the outbox.
 *
 * State lives in `.dtasks/approvals` (SQLite) or Redis (`--store redis`, `--redis-url`): stop the
 * services between the e-mail and the click and start them again; the click still works and the
 * users service is still told. Ports: `--approvals-port`, `--users-port` (0: any free port).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { storeKind } from "./store.js";

const { values } = parseArgs({
  options: {
    store: { type: "string", default: "sqlite" },
    "redis-url": { type: "string" },
    data: { type: "string", default: ".dtasks/approvals" },
    "approvals-port": { type: "string", default: "5033" },
    "users-port": { type: "string", default: "5017" },
  },
});
const kind = storeKind(values.store);
const data = resolve(values.data!);

/** A port to listen on: the one asked for, or a free one for 0. */
async function port(asked: string): Promise<number> {
  if (Number(asked) !== 0) return Number(asked);
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

const approvalsPort = await port(values["approvals-port"]!);
const usersPort = await port(values["users-port"]!);
const approvalsUrl = `http://127.0.0.1:${approvalsPort}`;
const usersUrl = `http://127.0.0.1:${usersPort}`;

const children: ChildProcess[] = [];
function service(script: string, args: string[]): Promise<void> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, resolve(import.meta.dirname, script), ...args],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.push(child);
  child.once("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${script} exited (${signal ?? code}); stopping`);
      void stop(1);
    }
  });
  return new Promise((ready) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      console.log(line);
      if (line.includes("listening on")) ready();
    });
  });
}

let stopping = false;
async function stop(code: number): Promise<void> {
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once("exit", () => done());
          child.kill("SIGTERM");
        }),
    ),
  );
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop(0));

console.log(`dtasks example: approvals (store: ${kind}, data: ${data})`);
await Promise.all([
  service("users.ts", ["--port", String(usersPort), "--approvals-url", approvalsUrl, "--data", data]),
  service("approvals.ts", [
    "--port",
    String(approvalsPort),
    "--users-url",
    usersUrl,
    "--data",
    data,
    "--store",
    kind,
    ...(values["redis-url"] ? ["--redis-url", values["redis-url"]] : []),
  ]),
]);
console.log(
  `ready: ask for an approval at ${usersUrl}, then open ${approvalsUrl}/outbox (Ctrl-C stops both)`,
);
