/**
 * `npm run example:documents [-- --store redis]`: the document-processing sample of the .NET
 * original, as a web server and a worker process started by this one command. Open the page,
 * choose a document, and watch "processed" appear when the worker has finished and the server
 * has pushed the completion over the page's WebSocket.
 *
 * State lives in `.dtasks/documents` (SQLite) or Redis (`--store redis`, `--redis-url`); the port
 * is `--port` (5262; 0 for any free port).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { storeKind } from "./store.js";

const { values } = parseArgs({
  options: {
    store: { type: "string", default: "sqlite" },
    "redis-url": { type: "string" },
    data: { type: "string", default: ".dtasks/documents" },
    port: { type: "string", default: "5262" },
  },
});
const kind = storeKind(values.store);
const data = resolve(values.data!);
const common = [
  "--data",
  data,
  "--store",
  kind,
  ...(values["redis-url"] ? ["--redis-url", values["redis-url"]] : []),
];

const children: ChildProcess[] = [];
let stopping = false;

function child(script: string, args: string[], ready: RegExp): Promise<RegExpExecArray> {
  const proc = spawn(process.execPath, [...process.execArgv, resolve(import.meta.dirname, script), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(proc);
  proc.once("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${script} exited (${signal ?? code}); stopping`);
      void stop(1);
    }
  });
  return new Promise((done) => {
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      console.log(line);
      const match = ready.exec(line);
      if (match) done(match);
    });
  });
}

async function stop(code: number): Promise<void> {
  stopping = true;
  await Promise.all(
    children.map(
      (proc) =>
        new Promise<void>((done) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return done();
          proc.once("exit", () => done());
          proc.kill("SIGTERM");
        }),
    ),
  );
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop(0));

console.log(`dtasks example: documents (store: ${kind}, data: ${data})`);
// The server first: on a new SQLite file it creates the schema.
const [, url] = await child("server.ts", ["--port", values.port!, ...common], /listening on (\S+)/);
await child("worker.ts", common, /ready/);
console.log(`ready: open ${url} (Ctrl-C stops the server and the worker)`);
