// A worker process for the crash and version tests: `worker.ts <db> <lease> [module…]`. It loads
// the given modules (the d-async code it can run, and nothing else), runs a worker on the SQLite file, and reports
// on stdout, one JSON line per event: flows' trace entries, errors, "ready".
import { createHost } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";

const [db, lease, ...modules] = process.argv.slice(2);
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
for (const module of modules) {
  const loaded = (await import(module)) as { setSink?: (fn: (key: string, entry: string) => void) => void };
  loaded.setSink?.((key, entry) => say({ trace: key, entry }));
}

const host = createHost({
  store: sqliteStore({ path: db!, pollInterval: 5 }),
  leaseDuration: Number(lease),
  blockedRetryDelay: 100,
  onError: (error, context) => say({ error: (error as { code?: string }).code ?? error.message, ...context }),
});
const worker = host.startWorker({ concurrency: 4, pollInterval: 20 });
say({ ready: worker.id });
process.on("SIGTERM", async () => {
  await worker.stop();
  await host.close();
  say({ stopped: worker.state });
});
