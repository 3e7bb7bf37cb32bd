/**
 * Resume in a fresh Node process: every corpus case marked `fresh` runs in two processes, each
 * importing the corpus module through the dtasks loader — process 1 starts it and writes the
 * snapshot at its first durable wait (or its n-th, with `fresh: n`), process 2 resumes that
 * snapshot and runs to the end. Nothing survives between them but the snapshot text, so reliance
 * on module state, on identity with the first process or on the in-process chaos path shows. The
 * result and the concatenated logs must equal the native run's. (Two processes per case, not one
 * per wait: a process with the dev loader costs seconds of CPU.)
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type CorpusCase, corpusFiles, readCorpus } from "../harness/corpus.js";
import { takeLog } from "../harness/corpus-log.js";
import type { FreshRequest, FreshResponse } from "../harness/fresh-child.js";
import { loadNative, observeNative, REPO_ROOT } from "../harness/run.js";

const CHILD = join(REPO_ROOT, "test/compiler/harness/fresh-child.ts");
const REGISTER = join(REPO_ROOT, "test/setup/register.mjs");
const work = mkdtempSync(join(tmpdir(), "dtasks-fresh-"));
after(() => rmSync(work, { recursive: true, force: true }));

let files = 0;

function runSegment(request: FreshRequest): Promise<FreshResponse> {
  const n = files++;
  const requestFile = join(work, `request-${n}.json`);
  const outputFile = join(work, `output-${n}.json`);
  writeFileSync(requestFile, JSON.stringify(request));
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=source", "--import", REGISTER, CHILD, requestFile, outputFile],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) {
        reject(new Error(`segment process exited with ${code}:\n${stderr}`));
        return;
      }
      resolve(JSON.parse(readFileSync(outputFile, "utf8")) as FreshResponse);
    });
  });
}

for (const file of corpusFiles()) {
  const source = readCorpus(file);
  if (!/fresh: (true|\d)/.test(source)) continue;
  test(`fresh processes: ${file}`, async (t) => {
    const native = await loadNative(source, file);
    const cases = native.cases as CorpusCase[];
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      if (!c.fresh) continue;
      await t.test(c.name, async () => {
        takeLog();
        const expected = { ...(await observeNative(c.run, [])), log: takeLog() };
        const module = join(REPO_ROOT, file);
        const stopAt = typeof c.fresh === "number" ? c.fresh : 1;
        const first = await runSegment({ module, caseIndex: i, stopAt });
        assert.equal(first.status, "suspended", `the case did not reach durable wait ${stopAt} in process 1`);
        if (first.status !== "suspended") return;
        const response = await runSegment({ module, caseIndex: i, snapshot: first.snapshot });
        assert.notEqual(first.pid, response.pid);
        assert.equal(response.status, "done");
        const log = [...first.log, ...response.log];
        assert.equal(
          response.result,
          expected.result,
          "the result after fresh-process resumes differs from native",
        );
        assert.deepEqual(log, expected.log, "the log across processes differs from native");
      });
    }
  });
}
