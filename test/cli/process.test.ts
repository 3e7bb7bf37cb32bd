// The CLI as users run it: child processes on one SQLite file. `run` waits for a callback that
// another `dtasks resume` process delivers; `run` stopped with Ctrl-C leaves the flow in the
// store, and a `dtasks worker` process finishes it; SIGTERM stops the worker gracefully.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { tempDir } from "../host/helpers.js";
import { APP, cli, cliChild } from "./helpers.js";

describe("dtasks CLI processes", { timeout: 180_000 }, () => {
  test("run waits on a callback; `dtasks resume` from another process completes it; run prints the result", async () => {
    const cwd = tempDir("cli-run");
    const run = cliChild(["run", join(APP, "approve.ts"), "o-2"], cwd);
    const { callbackId } = JSON.parse(await run.waitForLine(/callbackId/));
    const resume = cliChild(["resume", callbackId, '{"approved":true}'], cwd);
    const resumed = await resume.exited;
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, /^resumed callback cb_\S+ of flow \S+; a worker will run it$/);
    const finished = await run.exited;
    assert.equal(finished.code, 0, finished.err);
    assert.match(finished.err, /^flow \S+ started \(test\/cli\/app\/approve#main\)$/m);
    assert.equal(finished.out.split("\n").at(-1), "{ order: 'o-2', approved: true }");
  });

  test("run stopped by SIGINT leaves the flow suspended; a worker process finishes it after a resume; SIGTERM stops the worker", async () => {
    const cwd = tempDir("cli-worker");
    const run = cliChild(["run", join(APP, "approve.ts"), "o-3"], cwd);
    const { callbackId } = JSON.parse(await run.waitForLine(/callbackId/));
    run.signal("SIGINT");
    const stopped = await run.exited;
    assert.equal(stopped.code, 1);
    assert.match(
      stopped.err,
      /error: stopped; flow (\S+) is suspended in the store: `dtasks worker --import \S+approve\.ts` finishes it/,
    );
    const flowId = /flow (\S+) is suspended/.exec(stopped.err)![1]!;

    const worker = cliChild(["worker", "--import", join(APP, "approve.ts"), "--poll", "50ms"], cwd);
    await worker.waitForLine(
      /^worker \S+ on sqlite:\.dtasks\/state\.db \(1 module loaded\); Ctrl-C to stop$/,
    );
    assert.equal((await cli(["resume", callbackId, '{"approved":false}'], cwd)).code, 0);
    for (;;) {
      const info = JSON.parse((await cli(["show", flowId, "--json"], cwd)).out);
      if (info.status === "succeeded") {
        assert.deepEqual(info.result, { order: "o-3", approved: false });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100)); // another process: only polling can tell
    }
    worker.signal("SIGTERM");
    const exited = await worker.exited;
    assert.equal(exited.code, 0, exited.err);
    assert.match(
      exited.out,
      /SIGTERM: stopping \(finishing runs in progress; again to exit at once\)\nworker stopped$/,
    );
  });
});
