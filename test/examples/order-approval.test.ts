// `npm run example` as a user runs it: three processes on one SQLite file; the flow starts in
// process 1, which exits while the flow waits; the resume is stored by the main process; process
// 2 (a worker) finishes the flow, including a durable timer, without running the start again.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { sqliteStore } from "dtasks/sqlite";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

test("order approval: started in one process, resumed from another, finished by a third", {
  timeout: 180_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "dtasks-example-"));
  const db = join(dir, "state.db");
  try {
    const run = spawnSync(
      process.execPath,
      ["--conditions=source", "--import", "./test/setup/register.mjs", "examples/order-approval/run.ts", db],
      {
        cwd: REPO,
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, DTASKS_EXAMPLE_COOLING_OFF: "500ms" },
      },
    );
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const lines = run.stdout.trimEnd().split("\n");
    const index = (pattern: RegExp) => {
      const i = lines.findIndex((line) => pattern.test(line));
      assert.ok(i >= 0, `no line matches ${pattern}:\n${run.stdout}`);
      return i;
    };
    const pidOf = (line: string) => /pid (\d+)\]/.exec(line)![1];

    const asked = index(
      /^\[process 1 · pid \d+\] {3}approveOrder: asking a reviewer to approve order A-1001/,
    );
    const suspended = index(/^\[process 1 · pid \d+\] flow order-A-1001 is suspended/);
    const exited = index(/^\[main · pid \d+\] process 1 \(pid \d+\) has exited/);
    const stored = index(
      /^\[main · pid \d+\] the store says: flow order-A-1001 is suspended, at examples\/order-approval\/workflow\.ts:\d+:\d+/,
    );
    const resumed = index(/^\[main · pid \d+\] the reviewer approves: host\.resume\("cb_[\w-]+"/);
    const approved = index(
      /^\[process 2 · pid \d+\] {3}approveOrder: approved by ada; shipping after a 500ms cooling-off period/,
    );
    const shipped = index(/^\[process 2 · pid \d+\] {3}approveOrder: cooling-off over; order A-1001 shipped/);
    const succeeded = index(
      /^\[process 2 · pid \d+\] flow order-A-1001 succeeded: \{"order":"A-1001","status":"shipped","approvedBy":"ada"\}/,
    );
    const summary = index(/nothing before the durable waits ran again \(no replay\)$/);
    assert.deepEqual(
      [asked, suspended, exited, stored, resumed, approved, shipped, succeeded, summary],
      [asked, suspended, exited, stored, resumed, approved, shipped, succeeded, summary].sort(
        (a, b) => a - b,
      ),
      "in this order",
    );
    const pids = new Set([pidOf(lines[asked]!), pidOf(lines[resumed]!), pidOf(lines[shipped]!)]);
    assert.equal(pids.size, 3, "three different processes");
    assert.ok(
      !lines.some((line) => line.startsWith("[process 2") && line.includes("asking a reviewer")),
      "not replayed",
    );
    assert.match(
      lines[stored + 1]!,
      /live locals there: .*order = \{"id":"A-1001","total":129\.9,"currency":"EUR"\}/,
    );

    const store = sqliteStore({ path: db });
    const flow = await store.getFlow("order-A-1001");
    assert.equal(flow!.status, "succeeded");
    const counts = await store.countRecords();
    assert.equal(counts.flows, 1);
    assert.equal(counts.timers, 0, "the 3-day deadline and the cooling-off timer are gone");
    assert.equal(counts.events, 0);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
