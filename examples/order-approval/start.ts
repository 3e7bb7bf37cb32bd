/**
 * Process 1: starts the flow and exits while it waits for the reviewer. `host.start` runs the flow
 * in this process up to its first durable wait, stores it, announces the callback, and returns.
 */
import { createHost } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";
import { approveOrder, say } from "./workflow.js";

const [db] = process.argv.slice(2);
const host = createHost({ store: sqliteStore({ path: db! }) });
say("start the flow for order A-1001");
const flow = await host.start(approveOrder({ id: "A-1001", total: 129.9, currency: "EUR" }), {
  id: "order-A-1001",
});
say(`flow ${flow.id} is ${await flow.status()}: its state is in the store, waiting on the reviewer`);
await host.close();
say("this process exits now; no process is running the flow");
