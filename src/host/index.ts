/**
 * The dtasks host: start flows, resume their callbacks, cancel them, inspect them, and run the
 * workers that carry them through timers, yields, resumes and crashes.
 *
 * @example
 * ```ts
 * import { createHost, dasync, DTask } from "dtasks";
 *
 * const approve = dasync(async function approve(orderId: string) {
 *   const decision = await DTask.callback<boolean>((callbackId) => notifyReviewer(orderId, callbackId));
 *   await DTask.delay("1h");
 *   return decision ? "shipped" : "refused";
 * });
 *
 * const host = createHost();                       // SQLite at ./.dtasks/state.db
 * const worker = host.startWorker({ concurrency: 8 });
 * const flow = await host.start(approve("o-1"));   // runs until the callback, stores it
 * // … later, in any process: await host.resume(callbackId, true);
 * console.log(await flow.result());                // "shipped", an hour after the resume
 * await worker.stop();
 * await host.close();
 * ```
 *
 * @module
 */
import { HostImpl } from "./host.js";
import type { HostOptions } from "./options.js";
import type { Host } from "./types.js";

export type { HostErrorContext, HostOptions, WorkerOptions } from "./options.js";
export type {
  ChannelListener,
  FlowHandle,
  FlowInfo,
  FlowList,
  GetOptions,
  Host,
  ListOptions,
  StartedFlow,
  StartOptions,
  UnreadablePart,
  Worker,
  WorkerState,
} from "./types.js";

/**
 * Creates a host. Options are checked now (DT505 names a wrong one); the store is opened on first
 * use. Without a store, the embedded SQLite store at `./.dtasks/state.db` is used.
 */
export function createHost(options?: HostOptions): Host {
  return new HostImpl(options);
}
