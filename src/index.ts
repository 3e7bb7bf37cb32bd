/**
 * dtasks: durable, distributed async/await for TypeScript.
 *
 * @example
 * import { createHost, dasync, DTask } from "dtasks";
 *
 * export const remind = dasync(async function remind(userId: string) {
 *   await DTask.delay("7d");
 *   await sendReminder(userId);
 * });
 *
 * const host = createHost();              // embedded SQLite at ./.dtasks/state.db
 * const worker = host.startWorker();      // fires the 7-day timer, in this or any process
 * await host.start(remind("u-42"));
 *
 * @module
 */
import "./runtime/outside.js";

export { DCancellationToken, DCancellationTokenSource } from "./core/cancellation.js";
export { type DAsyncFunction, dasync } from "./core/dasync.js";
export { DTask, type DTaskRef, type DTaskStatus } from "./core/dtask.js";
export type { Duration } from "./core/duration.js";
export { DTaskCanceledError, DTaskError, type ErrorCode } from "./core/errors.js";
export type { FlowLastError, FlowStatus, FlowSummary, JsonObject, Store } from "./core/store.js";
export {
  type ChannelListener,
  createHost,
  type FlowHandle,
  type FlowInfo,
  type FlowList,
  type GetOptions,
  type Host,
  type HostErrorContext,
  type HostOptions,
  type ListOptions,
  type StartedFlow,
  type StartOptions,
  type UnreadablePart,
  type Worker,
  type WorkerOptions,
  type WorkerState,
} from "./host/index.js";
export { type Class, type ClassOptions, registerClass } from "./marshal/index.js";
export type { FrameView, TaskView } from "./runtime/engine.js";
export { type MemoryStoreOptions, memoryStore } from "./store/memory/index.js";
