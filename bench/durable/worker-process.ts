/**
 * A worker process of the W3 scale-out measurement: opens the store named by its argument, loads
 * the workloads, runs a worker until the parent says "stop" (or goes away), then stops it
 * gracefully and exits. Started by `bench/durable/dtasks.ts` with the bench's own loader flags.
 *
 * @module
 */
import { createHost } from "dtasks";
import { openStore, type StoreSpec } from "./engines.js";
import "./workloads.js";

const { spec, concurrency } = JSON.parse(process.argv[2]!) as { spec: StoreSpec; concurrency: number };
const host = createHost({ store: openStore(spec) });
const worker = host.startWorker({ concurrency });

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await worker.stop();
  await host.close();
  process.disconnect?.();
  process.exit(0);
}
process.on("message", (message) => {
  if (message === "stop") void stop();
});
process.on("disconnect", () => void stop());

// Open the store (connections, schema) before saying ready, so the first timed claim is not a connect.
await host.list({ limit: 1 });
process.send!({ ready: true, pid: process.pid });
