/**
 * One segment of a corpus case in a fresh Node process (see differential/fresh.test.ts): imports
 * the corpus module through the dtasks loader (so it is compiled the way an application's code
 * is), then either starts the case and runs it to its `stopAt`-th durable wait (resuming earlier
 * ones in process, through text), or resumes a snapshot written by an earlier process and runs it
 * to the end (again through text at every later wait). Writes `{ status, snapshot | result, log }`
 * as JSON to the output file.
 *
 * Usage: node --conditions=source --import <repo>/test/setup/register.mjs fresh-child.ts <request.json> <output.json>
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { DCall } from "../../../src/core/dtask.js";
import { type Outcome, resume, type StackSnapshot, snapshotOf, start } from "../../../src/runtime/local.js";
import { chaosCodec, marshalCodec } from "./codec.js";
import type { CorpusCase } from "./corpus.js";
import { takeLog } from "./corpus-log.js";
import { wakeOf } from "./run.js";
import { show, showThrown } from "./show.js";

export interface FreshRequest {
  /** Absolute path of the corpus module. */
  module: string;
  caseIndex: number;
  /** The snapshot to resume; absent to start the case. */
  snapshot?: string;
  /** When starting: the durable wait (1-based) at which to stop and hand over. */
  stopAt?: number;
}

export type FreshResponse =
  | { status: "suspended"; snapshot: string; log: string[]; pid: number }
  | { status: "done"; result: string; log: string[]; pid: number };

async function main(requestFile: string, outputFile: string): Promise<void> {
  const request = JSON.parse(readFileSync(requestFile, "utf8")) as FreshRequest;
  const module = (await import(pathToFileURL(request.module).href)) as { cases: CorpusCase[] };
  const chaos = chaosCodec("identity");
  const codec = marshalCodec();
  let outcome: Outcome;
  let stopAt: number;
  if (request.snapshot === undefined) {
    const call = module.cases[request.caseIndex]!.run();
    if (!(call instanceof DCall)) throw new Error(`${request.module} was not compiled by the loader`);
    outcome = await start(call, { chaos });
    stopAt = request.stopAt ?? 1;
  } else {
    const snapshot = codec.decode(request.snapshot) as StackSnapshot;
    outcome = await resume(snapshot, wakeOf(snapshot.wait), { chaos });
    stopAt = Number.POSITIVE_INFINITY;
  }
  for (let waits = 1; outcome.status === "suspended" && waits < stopAt; waits++) {
    const snapshot = codec.decode(codec.encode(snapshotOf(outcome))) as StackSnapshot;
    outcome = await resume(snapshot, wakeOf(snapshot.wait), { chaos });
  }
  const log = takeLog();
  let response: FreshResponse;
  if (outcome.status === "suspended") {
    response = { status: "suspended", snapshot: codec.encode(snapshotOf(outcome)), log, pid: process.pid };
  } else {
    const result =
      outcome.status === "succeeded" ? `value ${show(outcome.value)}` : `throw ${showThrown(outcome.error)}`;
    response = { status: "done", result, log, pid: process.pid };
  }
  writeFileSync(outputFile, JSON.stringify(response));
}

const [requestFile, outputFile] = process.argv.slice(2);
if (requestFile && outputFile) {
  await main(requestFile, outputFile);
}
