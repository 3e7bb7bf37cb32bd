// Several processes on one SQLite file: a worker killed with SIGKILL in the middle of runs (every
// flow still finishes, exactly once), a worker stopped with SIGTERM (gracefully), and flows that a
// process cannot run because their code changed or is missing (kept intact, with lastError, and
// finished by a process that runs matching code).
import assert from "node:assert/strict";
import { join } from "node:path";
import { beforeEach, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { createHost } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";
import { spawnTs } from "./children/spawn.js";
import * as flows from "./flows.js";
import { collectErrors, tempDir } from "./helpers.js";
import { review } from "./versions/v1.js";

const WORKER = join(import.meta.dirname, "children/worker.ts");
const FLOWS = pathToFileURL(join(import.meta.dirname, "flows.ts")).href;

describe("processes", { timeout: 300_000 }, () => {
  beforeEach(() => flows.reset());

  test("a worker killed with SIGKILL mid-run: another process finishes every flow, each exactly once", async () => {
    const db = join(tempDir("crash"), "state.db");
    const host = createHost({ store: sqliteStore({ path: db, pollInterval: 5 }), leaseDuration: 500 });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await host.start(flows.counts(`k${i}`, 5, 20))).id);

    const child = spawnTs(WORKER, [db, "500", FLOWS]);
    // Kill it once it is well into the runs: several flows have done steps, none has finished.
    let steps = 0;
    await child.waitFor((line) => line.entry !== undefined && ++steps >= 8);
    child.process.kill("SIGKILL");
    assert.equal((await child.exited).signal, "SIGKILL");
    const killedAt = (await host.list({ status: ["succeeded"] })).flows.length;
    assert.ok(killedAt < 6, "killed before every flow finished");

    const worker = host.startWorker({ pollInterval: 20 });
    const results = await Promise.all(ids.map((id) => host.flow(id).result()));
    assert.deepEqual(results, [5, 5, 5, 5, 5, 5], "every flow counted each durable step once");
    for (const id of ids) {
      const info = await host.get(id);
      assert.equal(info.status, "succeeded");
      assert.equal(info.lastError, null);
    }
    // Steps are at-least-once: those of the killed process's unfinished segments ran again here.
    for (let i = 0; i < 6; i++) {
      const here = flows.trace.get(`k${i}`) ?? [];
      const there = child.lines.filter((l) => l.trace === `k${i}`).map((l) => l.entry);
      for (let step = 0; step < 5; step++)
        assert.ok([...there, ...here].includes(`step ${step}`), `k${i} step ${step}`);
    }
    await worker.stop();
    await host.close();
  });

  test("SIGTERM stops a worker process gracefully: runs in progress commit, leases are released", async () => {
    const db = join(tempDir("term"), "state.db");
    const host = createHost({ store: sqliteStore({ path: db, pollInterval: 5 }) });
    const flow = await host.start(flows.counts("t", 3, 150));
    const child = spawnTs(WORKER, [db, "30000", FLOWS]);
    await child.waitFor((line) => line.trace === "t");
    child.process.kill("SIGTERM");
    await child.waitFor((line) => line.stopped === "stopped");
    assert.equal((await child.exited).code, 0);
    const record = await (await import("dtasks/sqlite")).sqliteStore({ path: db }).getFlow(flow.id);
    assert.equal(record!.lease, null, "no lease left behind (no 30 s wait for a successor)");
    assert.ok(record!.revision >= 2, "the run in progress committed before the process exited");
    const worker = host.startWorker({ pollInterval: 20 });
    assert.equal(await flow.result(), 3);
    await worker.stop();
    await host.close();
  });

  test("changed code: the flow stays suspended and intact with lastError (DT208, both versions); matching code resumes it", async () => {
    const db = join(tempDir("version"), "state.db");
    const { errors, onError } = collectErrors();
    const host = createHost({ store: sqliteStore({ path: db, pollInterval: 5 }), onError });
    const flow = await host.start(review("r1"));
    const [callbackId] = flows.callbacks.get("r1")!;
    const before = await host.get(flow.id);
    await host.resume(callbackId!, "approved");

    const v2 = spawnTs(WORKER, [db, "1000", pathToFileURL(join(import.meta.dirname, "versions/v2.ts")).href]);
    const blocked = await v2.waitFor((line) => line.operation === "run");
    assert.equal(blocked.error, "DT208");
    v2.process.kill("SIGTERM");
    await v2.exited;

    const info = await host.get(flow.id);
    assert.equal(info.status, "suspended");
    assert.equal(info.lastError!.code, "DT208");
    assert.equal(info.lastError!.functionId, "tests.review");
    assert.match(
      info.lastError!.message,
      /'tests\.review' changed since the snapshot was taken \(snapshot version \w+, code version \w+\)/,
    );
    const details = info.lastError!.details as { snapshotVersion: string; codeVersion: string };
    assert.equal(details.snapshotVersion, review.descriptor!.version);
    assert.notEqual(details.codeVersion, details.snapshotVersion);
    assert.deepEqual(info.tasks, before.tasks, "the snapshot is unchanged");
    assert.equal((await sqliteStore({ path: db }).countRecords()).events, 1, "the resume is still pending");

    // This process runs version 1: its worker resumes the flow with the stored resume.
    const worker = host.startWorker({ pollInterval: 20 });
    assert.equal(await flow.result(), "v1 reviewed r1: approved");
    assert.equal((await host.get(flow.id)).lastError, null, "cleared by the next commit");
    assert.deepEqual(errors, []);
    await worker.stop();
    await host.close();
  });

  test("missing code: a process that does not load the function records DT207 and leaves the flow intact", async () => {
    const db = join(tempDir("missing"), "state.db");
    const host = createHost({ store: sqliteStore({ path: db, pollInterval: 5 }) });
    const flow = await host.start(flows.yieldsOnce("m"));
    const bare = spawnTs(WORKER, [db, "1000"]);
    const blocked = await bare.waitFor((line) => line.operation === "run");
    assert.equal(blocked.error, "DT207");
    bare.process.kill("SIGTERM");
    await bare.exited;
    const info = await host.get(flow.id);
    assert.equal(info.status, "suspended");
    assert.equal(info.lastError!.code, "DT207");
    assert.equal(info.lastError!.functionId, "test/host/flows#yieldsOnce");
    assert.match(info.lastError!.message, /not loaded in this process; import its module/);
    const worker = host.startWorker({ pollInterval: 20 });
    assert.equal(await flow.result(), 42);
    await worker.stop();
    await host.close();
  });
});
