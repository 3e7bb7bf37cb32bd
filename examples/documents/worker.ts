/**
 * The worker process: it runs the processing flows the web server accepted (their state comes
 * from the store), and nothing else. Start as many as you like.
 *
 *   node --import dtasks/register worker.ts [--store redis]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createHost } from "dtasks";
import { Documents } from "./documents.js";
import { configureDocuments } from "./processing.js";
import { openStore, storeKind } from "./store.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: ".dtasks/documents" },
    store: { type: "string" },
    "redis-url": { type: "string" },
  },
});
const data = resolve(values.data!);
configureDocuments(new Documents(data));
const host = createHost({ store: await openStore(storeKind(values.store), data, values["redis-url"]) });
const worker = host.startWorker({ pollInterval: "250ms" });
console.log(`[worker ${process.pid}] ready (${worker.id})`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await worker.stop();
    await host.close();
    process.exit(0);
  });
}
