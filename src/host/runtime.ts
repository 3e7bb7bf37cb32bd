/**
 * The runtime, loaded on first use: the host needs `runFlow` only when it runs a flow, and
 * `decodeValue` / `describeSnapshot` only when it reads one, so creating a host (for example in a
 * CLI command that only lists flows) stays cheap.
 *
 * @module
 */
import type { DecodeValue, DescribeSnapshot, RunFlow, StartSnapshot } from "../runtime/engine.js";

export interface Runtime {
  runFlow: RunFlow;
  startSnapshot: StartSnapshot;
  decodeValue: DecodeValue;
  describeSnapshot: DescribeSnapshot;
}

let loading: Promise<Runtime> | undefined;

export function loadRuntime(): Promise<Runtime> {
  loading ??= import("../runtime/flow.js").then((m) => ({
    runFlow: m.runFlow,
    startSnapshot: m.startSnapshot,
    decodeValue: m.decodeValue,
    describeSnapshot: m.describeSnapshot,
  }));
  return loading;
}
