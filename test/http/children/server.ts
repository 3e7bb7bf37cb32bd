/**
 * A server process of the cross-process tests: one of the test applications (servers.ts) on a
 * shared SQLite file. Prints `READY <url>` once listening; closes gracefully on SIGTERM.
 *
 *   node … children/server.ts <db> <kind> <worker: yes|no> <instance>
 */
import { createHost } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";
import { type Kind, startServer } from "../servers.js";

const [db, kind, worker, instance] = process.argv.slice(2);
const host = createHost({ store: sqliteStore({ path: db!, pollInterval: 10 }) });
const server = await startServer(kind as Kind, host, {
  instance: instance!,
  worker: worker === "yes" ? { pollInterval: 20 } : false,
  pollInterval: "200ms",
  webhooks: { allowPrivateNetworks: true, retryDelay: 50 },
});
await server.endpoints.ready;
console.log(`READY ${server.url}`);

process.on("SIGTERM", async () => {
  await server.close();
  await host.close();
  process.exit(0);
});
