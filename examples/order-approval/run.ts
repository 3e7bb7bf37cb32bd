/**
 * `npm run example`: the order-approval workflow across three processes on one SQLite file.
 *
 * 1. Process 1 starts the flow; it runs until it waits for a reviewer, is stored, and process 1 exits.
 * 2. This process delivers the reviewer's decision (`host.resume`): stored durably, nothing runs.
 * 3. Process 2, a worker, resumes the flow from its snapshot, waits out a durable timer and finishes it.
 *
 * The state file is `.dtasks/order-approval.db` (or the path given as first argument); it is
 * started afresh on every run.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { createHost, DTask } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";
import { say } from "./workflow.js";

const here = import.meta.dirname;
const db = resolve(process.argv[2] ?? ".dtasks/order-approval.db");
mkdirSync(dirname(db), { recursive: true });
for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });

console.log(`dtasks example: order approval, across processes (state: ${db})\n`);

/** Runs a child process with this process's loader, echoing its output; resolves with its lines. */
function child(name: string, script: string, args: string[]): Promise<{ pid: number; lines: string[] }> {
  const proc = spawn(process.execPath, [...process.execArgv, join(here, script), ...args], {
    env: { ...process.env, DTASKS_EXAMPLE_PROCESS: name },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    lines.push(line);
    console.log(line);
  });
  return new Promise((done, fail) => {
    proc.on("exit", (code) => {
      if (code === 0) done({ pid: proc.pid!, lines });
      else fail(new Error(`${name} exited with code ${code}`));
    });
  });
}

say("start process 1");
const first = await child("process 1", "start.ts", [db]);
const callbackId = first.lines.map((line) => /callback id (\S+)/.exec(line)?.[1]).find(Boolean)!;
say(`process 1 (pid ${first.pid}) has exited\n`);

const host = createHost({ store: sqliteStore({ path: db }) });
const info = await host.get("order-A-1001");
const frame = info.tasks?.flatMap((task) => task.frames)[0];
say(
  `the store says: flow ${info.id} is ${info.status}, at ${frame?.await?.loc} (${frame?.await?.src.slice(0, 40)}…)`,
);
const locals = Object.entries(frame?.locals ?? {}).map(([name, value]) => `${name} = ${describe(value)}`);
say(`  live locals there: ${locals.join(", ")}`);
say(`the reviewer approves: host.resume("${callbackId}", { approved: true, by: "ada" })`);
await host.resume(callbackId, { approved: true, by: "ada" });
say("  (stored durably; no process is running the flow: it is only runnable now)");
say(
  `  the same from a shell: dtasks resume ${callbackId} '{"approved":true,"by":"ada"}' --store sqlite:${db}\n`,
);

say("start process 2, a worker");
const second = await child("process 2", "worker.ts", [db, "order-A-1001"]);
say(`process 2 (pid ${second.pid}) has exited\n`);

const done = await host.get("order-A-1001");
await host.close();
const askedAgain = second.lines.some((line) => line.includes("asking a reviewer"));
say(`flow ${done.id}: ${done.status}, result ${JSON.stringify(done.result)}`);
say(
  `started by pid ${first.pid}, finished by pid ${second.pid}; ${askedAgain ? "the start ran again (unexpected)" : "nothing before the durable waits ran again (no replay)"}`,
);

function describe(value: unknown): string {
  return DTask.isDTask(value)
    ? `DTask.${value.kind === "call" ? "call" : value.kind}(…)`
    : JSON.stringify(value);
}
