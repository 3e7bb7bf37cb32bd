// The flow commands in process against a real SQLite file: output for people and for scripts,
// and every usage error (exit 2, all problems at once) and failure (exit 1, the reason).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { createHost, type Host } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";
import * as flows from "../host/flows.js";
import { tempDir } from "../host/helpers.js";
import { APP, cli } from "./helpers.js";

describe("dtasks ls / show / resume / cancel", { timeout: 60_000 }, () => {
  let cwd: string;
  let host: Host;
  let waiting: string;
  let callbackId: string;
  let done: string;
  let failed: string;
  before(async () => {
    flows.reset();
    cwd = tempDir("cli");
    host = createHost({ store: sqliteStore({ path: join(cwd, ".dtasks/state.db") }) });
    done = (await host.start(flows.returns42())).id;
    failed = (await host.start(flows.throwsRange("bad range"))).id;
    waiting = (
      await host.start(flows.approval("cli", { id: "o-1", total: 9.5 }), { metadata: { customer: "ada" } })
    ).id;
    callbackId = flows.callbacks.get("cli")![0]!;
  });
  after(() => host.close());
  beforeEach(() => {
    delete process.env.DTASKS_STORE;
  });

  test("ls: a table of flows, newest first", async () => {
    const run = await cli(["ls"], cwd);
    assert.equal(run.code, 0, run.err);
    const [header, ...rows] = run.out.trimEnd().split("\n");
    assert.match(header!, /^ID\s+STATUS\s+FUNCTION\s+CREATED\s+UPDATED\s+NEXT\s+ERROR$/);
    assert.equal(rows.length, 3);
    assert.match(
      rows[0]!,
      new RegExp(`^${waiting}\\s+suspended\\s+test/host/flows#approval\\s+\\S+\\s+\\S+\\s+callback`),
    );
    assert.match(rows[2]!, new RegExp(`^${done}\\s+succeeded\\s+test/host/flows#returns42`));
  });

  test("ls --status, --limit and --json; paging hint", async () => {
    const run = await cli(["ls", "--status", "faulted", "succeeded", "--json"], cwd);
    assert.equal(run.code, 0, run.err);
    const page = JSON.parse(run.out);
    assert.deepEqual(page.flows.map((f: { id: string }) => f.id).sort(), [done, failed].sort());
    assert.equal(page.next, null);
    const limited = await cli(["ls", "-n", "1"], cwd);
    assert.match(limited.out, /^more: dtasks ls --after \S+$/m);
    const after = limited.out.match(/--after (\S+)/)![1]!;
    const next = await cli(["ls", "-n", "1", "--after", after, "--json"], cwd);
    assert.equal(JSON.parse(next.out).flows.length, 1);
    assert.equal((await cli(["ls", "--status", "canceled"], cwd)).out, "no canceled flows\n");
  });

  test("ls: every usage problem at once, exit 2", async () => {
    const run = await cli(["ls", "--status", "done", "--limit", "0", "--sotre", "x", "extra"], cwd);
    assert.equal(run.code, 2);
    assert.match(run.err, /error: unknown option '--sotre' \(did you mean '--store'\?\)/);
    assert.match(
      run.err,
      /error: --status done is not a flow status; use running, suspended, succeeded, faulted, canceled/,
    );
    assert.match(run.err, /error: --limit must be an integer from 1 to 1000 \(got "0"\)/);
    assert.match(run.err, /usage: dtasks ls/);
    const extra = await cli(["ls", "extra"], cwd);
    assert.equal(extra.code, 2);
    assert.match(extra.err, /unexpected argument: extra/);
  });

  test("--store: sqlite:<path>, $DTASKS_STORE, and clear errors for anything else", async () => {
    const elsewhere = tempDir("cli-other");
    const explicit = await cli(
      ["ls", "--json", "--store", `sqlite:${join(cwd, ".dtasks/state.db")}`],
      elsewhere,
    );
    assert.equal(JSON.parse(explicit.out).flows.length, 3);
    process.env.DTASKS_STORE = `sqlite:${join(cwd, ".dtasks/state.db")}`;
    assert.equal(JSON.parse((await cli(["ls", "--json"], elsewhere)).out).flows.length, 3);
    delete process.env.DTASKS_STORE;
    const missing = await cli(["ls"], elsewhere);
    assert.equal(missing.code, 1);
    assert.match(
      missing.err,
      /error: no dtasks database at \.dtasks\/state\.db; start a flow first, or pass --store sqlite:<path>/,
    );
    // redis:// and postgres:// are stores too (test/host/multi-worker-cli.test.ts runs them); bad ones are usage errors.
    const redis = await cli(["ls", "--store", "redis://localhost?prefix="], cwd);
    assert.equal(redis.code, 2);
    assert.match(redis.err, /--store: \?prefix= must not be empty/);
    assert.match(
      (await cli(["ls", "--store", "state.db"], cwd)).err,
      /--store state\.db: write sqlite:state\.db/,
    );
    assert.match((await cli(["ls", "--store", "nope"], cwd)).err, /--store "nope" is not a store/);
    assert.equal((await cli(["ls", "--store", "memory"], cwd)).out, "no flows\n");
  });

  test("show: a suspended flow's frame, the await it is at and its live locals (with --import for names and locations)", async () => {
    const run = await cli(["show", waiting, "--import", join(import.meta.dirname, "../host/flows.ts")], cwd);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, new RegExp(`^flow {7}${waiting}$`, "m"));
    assert.match(run.out, /^status {5}suspended$/m);
    assert.match(run.out, /^metadata {3}\{ customer: 'ada' \}$/m);
    assert.match(run.out, /^task t1 {2}suspended {2}waiting on t\d+ \(callback cb_\S+\)$/m);
    assert.match(run.out, /^ {2}test\/host\/flows#approval {2}\(version \w+\)$/m);
    assert.match(run.out, /^ {4}at test\/host\/flows\.ts:\d+:\d+ {2}await DTask\.callback/m);
    assert.match(run.out, /^ {4}key = 'cli'$/m);
    assert.match(run.out, /^ {4}order = \{ id: 'o-1', total: 9\.5 \}$/m);
  });

  test("show --json; a finished flow's result and error", async () => {
    const info = JSON.parse((await cli(["show", waiting, "--json"], cwd)).out);
    assert.equal(info.status, "suspended");
    assert.deepEqual(info.tasks[0].frames[0].locals, { key: "cli", order: { id: "o-1", total: 9.5 } });
    assert.match((await cli(["show", done], cwd)).out, /^result {5}42$/m);
    const bad = await cli(["show", failed], cwd);
    assert.match(bad.out, /^error {6}RangeError: bad range/m);
    assert.equal(JSON.parse((await cli(["show", failed, "--json"], cwd)).out).error.name, "RangeError");
  });

  test("an id that starts with a dash is read after --; generated ids never start with - or _", async () => {
    const dashed = await host.start(flows.returns42(), { id: "-starts-like-an-option" });
    const asOption = await cli(["show", dashed.id], cwd);
    assert.equal(asOption.code, 2);
    assert.match(asOption.err, /unknown option '-starts-like-an-option'/);
    const literal = await cli(["show", "--json", "--", dashed.id], cwd);
    assert.equal(literal.code, 0, literal.err);
    assert.equal(JSON.parse(literal.out).result, 42);
    const ids = await Promise.all(
      Array.from({ length: 200 }, async () => (await host.start(flows.returns42())).id),
    );
    assert.deepEqual(
      ids.filter((id) => /^[-_]/.test(id) || !/^[A-Za-z0-9_-]{22}$/.test(id)),
      [],
    );
  });

  test("show: unknown flow exit 1; missing id and missing --import file exit 2", async () => {
    const unknown = await cli(["show", "nope"], cwd);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /error: no flow with id "nope" .* \[DT501\]/);
    const usage = await cli(["show", "--import", "missing.ts"], cwd);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /error: missing the flow <id>/);
    assert.match(usage.err, /error: --import missing\.ts: no such file/);
  });

  test("resume: bad JSON and conflicting options exit 2 and deliver nothing; unknown callback exit 1", async () => {
    const bad = await cli(["resume", callbackId, "{approved: true}", "--error", "x"], cwd);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /error: give a \[json\] value or --error, not both/);
    assert.match(bad.err, /error: \[json\] is not valid JSON .*; quote strings: '"yes"'/);
    const unknown = await cli(["resume", "cb_nope", "1"], cwd);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /error: no callback with id "cb_nope" .*\[DT502\]/);
    assert.equal((await host.get(waiting)).status, "suspended");
  });

  test("resume delivers the value once; a second resume exits 1 with DT503; a worker finishes the flow", async () => {
    const run = await cli(["resume", callbackId, "false"], cwd);
    assert.equal(run.code, 0, run.err);
    assert.equal(run.out, `resumed callback ${callbackId} of flow ${waiting}; a worker will run it\n`);
    const again = await cli(["resume", callbackId, "true", "--json"], cwd);
    assert.equal(again.code, 1);
    assert.match(again.err, /was already resumed; a callback is resumed once \[DT503\]/);
    const worker = host.startWorker({ pollInterval: 20 });
    assert.deepEqual(await host.flow(waiting).result(), { order: "o-1", status: "refused" });
    await worker.stop();
  });

  test("resume --error fails the wait; --json prints the flow id", async () => {
    const flow = await host.start(flows.catchesCallbackFailure("cli-fail"));
    const [id] = flows.callbacks.get("cli-fail")!;
    const run = await cli(["resume", id!, "--error", "card declined", "--json"], cwd);
    assert.deepEqual(JSON.parse(run.out), { callbackId: id, flowId: flow.id });
    const worker = host.startWorker({ pollInterval: 20 });
    assert.equal(await flow.result(), "Error: card declined");
    await worker.stop();
  });

  test("cancel: requested, then pending; finished; unknown flow exit 1", async () => {
    const flow = await host.start(flows.cancelable("cli-cancel"));
    const requested = await cli(["cancel", flow.id], cwd);
    assert.equal(
      requested.out,
      `cancel requested for flow ${flow.id}; a worker will apply it\n`,
      requested.err,
    );
    assert.deepEqual(JSON.parse((await cli(["cancel", flow.id, "--json"], cwd)).out), {
      flowId: flow.id,
      outcome: "pending",
    });
    const worker = host.startWorker({ pollInterval: 20 });
    await assert.rejects(flow.result(), { name: "DTaskCanceledError" });
    await worker.stop();
    assert.match((await cli(["cancel", flow.id], cwd)).out, /had already finished; nothing to cancel/);
    const unknown = await cli(["cancel", "nope"], cwd);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /\[DT501\]/);
  });

  test("run: a module without a d-async entry point exits 1; a missing file exits 2", async () => {
    const plain = await cli(["run", join(APP, "plain.ts")], cwd);
    assert.equal(plain.code, 1);
    assert.match(
      plain.err,
      /plain\.ts exports a default\/main that is not a d-async function: export the flow to run/,
    );
    const missing = await cli(["run", "nowhere.ts", "--concurrency", "0", "--id", "a b"], cwd);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /error: <file> nowhere\.ts: no such file/);
    assert.match(missing.err, /--concurrency must be an integer from 1 to 1024/);
    assert.match(missing.err, /--id "a b": use 1–128 characters/);
  });

  test("run: a flow that finishes prints its result; one that fails exits 1 with its error", async () => {
    const ok = await cli(["run", join(APP, "quick.ts"), "--json"], cwd);
    assert.equal(ok.code, 0, ok.err);
    const out = JSON.parse(ok.out);
    assert.equal(out.status, "succeeded");
    assert.deepEqual(out.result, { what: "ok", at: "2030-01-01T00:00:00.000Z", tags: ["a"] });
    const fail = await cli(["run", join(APP, "quick.ts"), "fail"], cwd);
    assert.equal(fail.code, 1);
    assert.match(fail.err, /error: flow \S+ failed: RangeError: asked to fail/);
    assert.equal((await host.get(out.flowId)).status, "succeeded", "run used the same store");
  });

  test("worker: bad options exit 2, all listed", async () => {
    const run = await cli(
      ["worker", "--concurrency", "x", "--lease", "10", "--poll", "soon", "--manifest", "none.json"],
      cwd,
    );
    assert.equal(run.code, 2);
    assert.match(run.err, /--concurrency must be an integer/);
    assert.match(run.err, /--lease must be at least 100ms/);
    assert.match(run.err, /--poll must be a duration such as 500ms, 30s or 5m \(got "soon"\)/);
    assert.match(run.err, /--manifest none\.json: cannot read it/);
  });
});
