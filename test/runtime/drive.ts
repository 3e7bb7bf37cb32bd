/**
 * A minimal stand-in for the host in runtime tests: runs a flow with `runFlow`, keeps its waits,
 * fires timers on a virtual clock and delivers callback resumes, exactly as a store would.
 */
import type { DCall } from "../../src/core/dtask.js";
import type { FlowEvent, WaitSpec } from "../../src/core/store.js";
import { marshal } from "../../src/marshal/index.js";
import type { RunResult } from "../../src/runtime/engine.js";
import { decodeValue, runFlow } from "../../src/runtime/flow.js";

export interface Driven {
  status: RunResult["status"];
  value?: unknown;
  error?: unknown;
  runs: number;
  snapshots: number[];
  callbacks: string[];
}

export interface DriveOptions {
  /** Answers a callback wait: a value, or `{ fail: error }`; undefined leaves it waiting. */
  answer?: (callbackId: string, index: number) => unknown;
  /** Events to add before a given run (1-based run number). */
  inject?: (run: number, waits: Map<string, WaitSpec>) => FlowEvent[];
  format?: "json" | "msgpack";
  maxRuns?: number;
  /** Each run goes on from the previous run's memory (`RunResult.live`), as a worker does after a yield. */
  live?: boolean;
}

let eventIds = 0;

export async function driveFlow(call: DCall<unknown>, options: DriveOptions = {}): Promise<Driven> {
  let now = 1_000_000;
  const waits = new Map<string, WaitSpec>();
  const callbacks: string[] = [];
  const snapshots: number[] = [];
  let result = await runFlow({ flowId: "f", start: call, events: [], now, format: options.format });
  let runs = 1;
  for (; result.status === "suspended" && runs < (options.maxRuns ?? 1000); runs++) {
    for (const w of result.addWaits) waits.set(w.id, w);
    for (const id of result.removeWaits) waits.delete(id);
    const announced: string[] = [];
    await result.afterCommit();
    for (const w of result.addWaits) if (w.kind === "callback") announced.push(w.id);
    callbacks.push(...announced);
    snapshots.push(
      typeof result.snapshot === "string" ? result.snapshot.length : (result.snapshot?.byteLength ?? 0),
    );
    const events: FlowEvent[] = [...(options.inject?.(runs + 1, waits) ?? [])];
    if (events.length === 0 && result.runnableAt === null) {
      const callback = [...waits.values()].find((w) => w.kind === "callback");
      const answer = callback ? options.answer?.(callback.id, callbacks.indexOf(callback.id)) : undefined;
      if (callback && answer !== undefined) {
        waits.delete(callback.id);
        const failure = typeof answer === "object" && answer !== null && "fail" in answer;
        events.push({
          id: `e${eventIds++}`,
          kind: failure ? "fail" : "resume",
          waitId: callback.id,
          payload: marshal(failure ? (answer as { fail: unknown }).fail : answer),
          at: now,
        });
      } else {
        const timer = [...waits.values()]
          .filter((w): w is Extract<WaitSpec, { kind: "timer" }> => w.kind === "timer")
          .sort((a, b) => a.dueAt - b.dueAt)[0];
        if (!timer) throw new Error("the flow waits for nothing that can happen");
        now = Math.max(now, timer.dueAt);
        waits.delete(timer.id);
        events.push({ id: `e${eventIds++}`, kind: "timer", waitId: timer.id, payload: null, at: now });
      }
    }
    result = await runFlow({
      flowId: "f",
      snapshot: result.snapshot,
      live: options.live ? result.live : null,
      events,
      now,
      format: options.format,
    });
  }
  for (const id of result.removeWaits) waits.delete(id);
  if (result.status !== "suspended" && waits.size > 0)
    throw new Error(`waits left behind: ${[...waits.keys()]}`);
  return {
    status: result.status,
    value: result.result === null ? undefined : decodeValue(result.result),
    error: result.error === null ? undefined : decodeValue(result.error),
    runs,
    snapshots,
    callbacks,
  };
}
