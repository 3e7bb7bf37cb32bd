/**
 * Process 2: a worker. It claims the flow (the reviewer's decision made it runnable), resumes it
 * from its snapshot, runs it to the timer, fires the timer when it is due, and finishes the flow.
 */
import { createHost } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";
import { say } from "./workflow.js";

const [db, flowId] = process.argv.slice(2);
const host = createHost({ store: sqliteStore({ path: db! }) });
const worker = host.startWorker();
say(`worker started (${worker.id})`);
const result = await host.flow(flowId!).result();
say(`flow ${flowId} succeeded: ${JSON.stringify(result)}`);
await worker.stop();
await host.close();
