/**
 * The PostgreSQL store across processes: claimers in separate processes (and separate pools in
 * this one) never get the same flow, and completions reach the other processes through
 * LISTEN/NOTIFY; an idle store does not keep its process alive.
 *
 * This file is also the child program: run with DTASKS_PG_CHILD set, it plays the role named
 * there instead of registering tests.
 */
import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { flowChannel } from "../../src/core/store.js";
import { type PostgresStore, postgresStore } from "../../src/store/postgres/index.js";
import { suspended } from "./conformance/harness.js";
import { claimUntilIdle } from "./helpers/claim-loop.js";

const self = fileURLToPath(import.meta.url);
// The helpers file registers a test of its own: the child program must not import it.
const TEST_URL = process.env.DTASKS_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const root = fileURLToPath(new URL("../..", import.meta.url));

/** Claims one flow at a time and finishes it (result = owner) until none is left; returns the ids. */

async function child(role: string, schema: string, owner: string): Promise<void> {
  const store = postgresStore({ connectionString: TEST_URL, schema, poolSize: 2 }) as PostgresStore;
  if (role === "claimer") {
    await store.ready();
    process.stdout.write("ready\n");
    await once(process.stdin, "data");
    const claimed = await claimUntilIdle(store, owner, 1_000, { limit: (n) => 1 + (n % 3) });
    process.stdout.write(`${JSON.stringify(claimed)}\n`);
    await store.close();
  } else if (role === "idle") {
    // Subscribed, pool open, never closed: the process must still end by itself.
    await store.subscribe("idle-channel", () => {});
    await store.countRecords();
    process.stdout.write("idle\n");
  }
}

if (process.env.DTASKS_PG_CHILD) {
  const [role, schema, owner] = process.env.DTASKS_PG_CHILD.split(":");
  await child(role!, schema!, owner ?? "");
} else {
  const { dropSchema, eventually, freshSchema, requireServer } = await import("./postgres-helpers.test.js");
  before(requireServer);
  const schemas: string[] = [];
  after(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });
  const start = (role: string, schema: string, owner = ""): ChildProcessByStdio<Writable, Readable, null> =>
    spawn(process.execPath, ["--import", "tsx", self], {
      cwd: root,
      // Without the runner's context: the child is a plain program, not a test file.
      env: { ...withoutTestContext(process.env), DTASKS_PG_CHILD: `${role}:${schema}:${owner}` },
      stdio: ["pipe", "pipe", "inherit"],
    });

  function output(childProcess: ChildProcessByStdio<Writable, Readable, null>) {
    let text = "";
    childProcess.stdout.setEncoding("utf8");
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    childProcess.stdout.on("data", (chunk: string) => {
      text += chunk;
      const parts = text.split("\n");
      text = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters.splice(0)) w();
    });
    const exited = once(childProcess, "exit") as Promise<[number | null, string | null]>;
    return {
      lines,
      exited,
      async line(n: number): Promise<string> {
        while (lines.length <= n) {
          const more = new Promise<void>((resolve) => waiters.push(resolve));
          await Promise.race([
            more,
            exited.then(([code]) => Promise.reject(new Error(`child exited (${code})`))),
          ]);
        }
        return lines[n]!;
      },
    };
  }

  describe("postgresStore across processes", () => {
    it("never grants one flow twice to claimers in three processes and two pools; completions are heard everywhere", {
      timeout: 120_000,
    }, async () => {
      const schema = freshSchema("procs");
      schemas.push(schema);
      const store = postgresStore({ connectionString: TEST_URL, schema, poolSize: 3 });
      const second = postgresStore({ connectionString: TEST_URL, schema, poolSize: 2 });
      const total = 400;
      for (let i = 0; i < total; i++) await suspended(store, { id: `p-${i}`, runnableAt: i % 10 });
      const heard = new Map<string, string>();
      for (let i = 0; i < total; i++)
        await store.subscribe(flowChannel(`p-${i}`), (message) => heard.set(`p-${i}`, message));

      const children = ["child-1", "child-2"].map((owner) => {
        const proc = start("claimer", schema, owner);
        return { owner, proc, io: output(proc) };
      });
      for (const c of children) assert.equal(await c.io.line(0), "ready");
      const theirsDone = children.map(async (c) => {
        const json = await c.io.line(1);
        const [code] = await c.io.exited;
        assert.equal(code, 0, `${c.owner} exited with ${code}`);
        return JSON.parse(json) as string[];
      });
      // Go: both children and two pools here claim at once.
      for (const c of children) c.proc.stdin.end("go\n");
      const mine = await Promise.all([
        claimUntilIdle(store, "parent-a", 1_000, { limit: (n) => 1 + (n % 3) }),
        claimUntilIdle(second, "parent-b", 1_000, { limit: (n) => 1 + (n % 3) }),
      ]);
      const theirs = await Promise.all(theirsDone);
      const all = [...mine.flat(), ...theirs.flat()];
      assert.equal(all.length, total, `claimed ${all.length} times for ${total} flows`);
      assert.equal(new Set(all).size, total, "no flow claimed twice");
      assert.ok(theirs.flat().length > 0 && mine.flat().length > 0, "every process took part");

      const owners = new Map<string, string>();
      for (const [n, list] of [...mine, ...theirs].entries())
        for (const flowId of list) owners.set(flowId, ["parent-a", "parent-b", "child-1", "child-2"][n]!);
      const { flows } = await store.listFlows({ limit: 1000 });
      assert.equal(flows.length, total);
      for (const flow of flows) {
        assert.equal(flow.status, "succeeded");
        assert.equal(flow.revision, 2, "one claim, one commit");
        assert.equal((await store.getFlow(flow.id))?.result, owners.get(flow.id));
      }
      // Finished in other processes (and by the other pool): announced here through NOTIFY.
      await eventually(() => heard.size === total, 10_000, "every completion");
      assert.ok([...heard.values()].every((m) => m === "succeeded"));
      await Promise.all([store.close(), second.close()]);
    });

    it("does not keep an idle process alive: pool, LISTEN socket and timers are unref'd", {
      timeout: 30_000,
    }, async () => {
      const schema = freshSchema("idle");
      schemas.push(schema);
      const io = output(start("idle", schema));
      assert.equal(await io.line(0), "idle");
      const timer = setTimeout(() => {}, 15_000);
      const [code] = await Promise.race([
        io.exited,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error("the idle process did not exit within 10 s")), 10_000),
        ),
      ]);
      clearTimeout(timer);
      assert.equal(code, 0);
    });
  });
}

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...rest } = env;
  return rest;
}
