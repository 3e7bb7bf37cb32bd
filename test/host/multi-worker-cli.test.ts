/**
 * Store selection in the CLI: `--store redis://…?prefix=…`, `--store postgres://…?schema=…` and
 * `$DTASKS_STORE`, for every flow command, with the store's driver loaded only when it is chosen.
 * On Redis and PostgreSQL: `dtasks worker` processes run flows started elsewhere, `dtasks ls`,
 * `show`, `resume` and `cancel` work on the same store, and SIGTERM stops a worker gracefully (the
 * run in progress commits).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createHost, type Host } from "dtasks";
import { cli, cliChild } from "../cli/helpers.js";
import {
  type EngineName,
  type Namespace,
  namespace,
  POSTGRES_URL,
  requireServers,
} from "../faults/support/engines.js";
import * as flows from "../faults/support/flows.js";
import { spawnTs } from "./children/spawn.js";

const FLOWS = join(import.meta.dirname, "../faults/support/flows.ts");
const LAZY = join(import.meta.dirname, "../faults/support/lazy-stores.ts");
const PRINT_EFFECTS = join(import.meta.dirname, "children/print-effects.ts");
const cwd = process.cwd();

before(requireServers);

/** Callback ids announced in this process, by flow key. */
const announced = new Map<string, string>();
flows.setEffects((effect) => {
  if (effect.e.startsWith("callback ")) announced.set(effect.k, effect.e.slice("callback ".length));
});

describe("--store parsing", () => {
  test("bad Redis and PostgreSQL stores are usage errors naming the problem (exit 2), passwords never shown", async () => {
    const cases: [string, RegExp][] = [
      ["redis://127.0.0.1?prefix=", /--store: \?prefix= must not be empty/],
      ["redis://127.0.0.1?prefix=a&prefix=b", /give \?prefix= once/],
      [`${POSTGRES_URL}?schema=no-dashes`, /\?schema=no-dashes is not a plain identifier/],
      ["postgres:nothing", /--store "postgres:nothing" is not a valid URL/],
      ["mysql://db/app", /is not a store; use sqlite:<path>, memory, redis:\/\/… or postgres:\/\/…/],
    ];
    for (const [spec, message] of cases) {
      const run = await cli(["ls", "--store", spec], cwd);
      assert.equal(run.code, 2, spec);
      assert.match(run.err, message);
    }
    const secret = await cli(["ls", "--store", "mysql://ada:s3cret@db/app"], cwd);
    assert.doesNotMatch(secret.err, /s3cret/);
    assert.match(secret.err, /ada:\*\*\*@db/);
  });

  test("a store's driver is loaded only when that store is chosen", async () => {
    const child = spawnTs(LAZY, []);
    const { code } = await child.exited;
    assert.equal(code, 0, child.stderr());
    assert.deepEqual(child.lines, [
      { store: "memory", sqlite: false, redis: false, postgres: false },
      { store: "redis", sqlite: false, redis: true, postgres: false },
      { store: "postgres", sqlite: false, redis: true, postgres: true },
    ]);
  });
});

for (const engine of ["redis", "postgres"] as EngineName[]) {
  describe(`the CLI on ${engine}`, { timeout: 90_000 }, () => {
    let ns: Namespace;
    let host: Host;
    before(() => {
      ns = namespace(engine);
      host = createHost({ store: ns.open() });
    });
    after(async () => {
      await host.close();
      await ns.dispose();
    });

    test("two `dtasks worker --store` processes run the flows; ls, show, resume, cancel use the same store; SIGTERM stops a worker gracefully", async () => {
      const args = [
        "worker",
        "--store",
        ns.spec,
        "--import",
        FLOWS,
        PRINT_EFFECTS,
        "--concurrency",
        "4",
        "--lease",
        "2s",
        "--poll",
        "200ms",
      ];
      const workers = [cliChild(args, cwd), cliChild(args, cwd)] as const;
      try {
        for (const worker of workers) {
          const banner = await worker.waitForLine(/^worker /);
          assert.match(
            banner,
            engine === "redis"
              ? /on redis:\/\/127\.0\.0\.1:6379 \(prefix dtasks-mw:/
              : /on postgres:\/\/postgres@127\.0\.0\.1:5432\/test \(schema dtasks_mw_/,
          );
        }
        const job = await host.start(flows.job(`cli-${engine}`, 5, "race"), { id: `cli-${engine}` });
        const approval = await host.start(flows.approve(`cli-${engine}-approve`));
        const doomed = await host.start(flows.approve(`cli-${engine}-doomed`));
        assert.equal(await job.result(), flows.expectedJob(5, "race"));

        const listed = await cli(["ls", "--json", "--store", ns.spec], cwd);
        assert.equal(listed.code, 0, listed.err);
        assert.deepEqual(
          (JSON.parse(listed.out) as { flows: { id: string }[] }).flows.map((f) => f.id).sort(),
          [approval.id, doomed.id, job.id].sort(),
        );
        const callbackId = announced.get(`cli-${engine}-approve`)!;
        // $DTASKS_STORE when --store is not given.
        process.env.DTASKS_STORE = ns.spec;
        try {
          const shown = await cli(["show", approval.id], cwd);
          assert.equal(shown.code, 0, shown.err);
          assert.match(shown.out, /^status {5}suspended$/m);
          const resumed = await cli(["resume", callbackId, '"ada"'], cwd);
          assert.equal(resumed.code, 0, resumed.err);
        } finally {
          delete process.env.DTASKS_STORE;
        }
        assert.equal(await approval.result(), "approved by ada");
        const again = await cli(["resume", callbackId, '"bob"', "--store", ns.spec], cwd);
        assert.equal(again.code, 1);
        assert.match(again.err, /DT503/);
        const canceled = await cli(["cancel", doomed.id, "--store", ns.spec], cwd);
        assert.equal(canceled.code, 0, canceled.err);
        await assert.rejects(doomed.result(), { code: "DT210" });

        // SIGTERM: the first worker is idle and stops; the second finishes its run, then stops.
        workers[0].signal("SIGTERM");
        const first = await workers[0].exited;
        assert.equal(first.code, 0);
        assert.match(first.out, /worker stopped/);
        const flow = await host.start(flows.slowStep(`cli-${engine}-term`, 600));
        // The run has started in the worker (a claim alone is given back by a stop that comes first).
        await workers[1].waitForLine(new RegExp(`^effect .*"k":"cli-${engine}-term","e":"slow start"`));
        workers[1].signal("SIGTERM");
        const second = await workers[1].exited;
        assert.equal(second.code, 0);
        assert.match(second.out, /SIGTERM: stopping/);
        assert.match(second.out, /worker stopped/);
        const info = await host.get(flow.id);
        assert.equal(info.status, "succeeded", "the run in progress finished before the exit");
        assert.equal(info.lease, null);
      } finally {
        for (const worker of workers) worker.signal("SIGKILL");
        await Promise.all(workers.map((w) => w.exited));
      }
    });
  });
}
