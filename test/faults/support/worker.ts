/**
 * A worker process for the fault suite and the multi-worker tests: `worker.ts '<config json>'`.
 *
 * It opens the store the way the CLI does (`--store` syntax: `redis://…?prefix=`,
 * `postgres://…?schema=`, `sqlite:<path>`), loads the test flows, runs one worker, and appends to
 * `<log>/<pid>.log`, one JSON object a line, written synchronously (so a line is complete even if
 * the process is SIGKILLed right after):
 * - `{ k, e, n? }`: a flow's side effect (see `flows.ts`);
 * - `{ fin, s, r }`: a commit that finished flow `fin` with status `s` at revision `r`, acknowledged
 *   by the store;
 * - `{ lost, op }`: a commit or renewal refused because the lease or revision was lost (DT401);
 * - `{ err, op }`: an error the host reported (a store outage: DT402).
 * On stdout it says `{ ready }` once the worker runs, and `{ stopped }` after SIGTERM. A `spare`
 * loads everything, says `{ booted }` and waits for a `go` line on stdin before it opens the store
 * and starts its worker: the fault suite keeps spares ready, because loading the code under the
 * development loader takes seconds.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { createHost, DTaskError, type Store } from "dtasks";
import { openStore, parseStore } from "../../../src/cli/host/store.js";
import { isFinishedStatus } from "../../../src/core/store.js";
import { setEffects } from "./flows.js";

export interface WorkerConfig {
  /** As `--store`. */
  store: string;
  /** The folder of the log files. */
  log: string;
  concurrency?: number;
  /** Lease length, ms. */
  lease?: number;
  /** Poll interval, ms. */
  poll?: number;
  /** Sweep interval, ms (default: none). */
  sweep?: number;
  /** Retention of finished flows, ms. */
  retention?: number;
  /** Drain timeout on SIGTERM, ms. */
  drain?: number;
  retry?: number;
  maxRetry?: number;
  /** Wait for `go` on stdin before starting. */
  spare?: boolean;
}

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const file = join(config.log, `${process.pid}.log`);
const log = (line: object) => appendFileSync(file, `${JSON.stringify(line)}\n`);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
setEffects((effect) => log(effect));

const problems: string[] = [];
const spec = parseStore(config.store, process.cwd(), problems);
if (spec === undefined) throw new Error(problems.join("; "));
// Nothing connects before the first operation: a spare only loads the driver.
const store = recording(await openStore(spec, process.cwd(), { mustExist: false }));

// Orphaned (the test process died): go too.
process.stdin.on("end", () => process.exit(1)).resume();
if (config.spare) {
  say({ booted: process.pid });
  await new Promise<void>((resolve) => {
    let text = "";
    process.stdin.on("data", (chunk) => {
      text += chunk;
      if (text.includes("go\n")) resolve();
    });
  });
}

const host = createHost({
  store,
  ...(config.retention === undefined ? {} : { retention: config.retention }),
  ...(config.lease === undefined ? {} : { leaseDuration: config.lease }),
  onError: (error, context) => {
    const code = error instanceof DTaskError ? error.code : error.message;
    if (code === "DT401") log({ lost: context.flowId, op: context.operation });
    else log({ err: code, op: context.operation, msg: error.message.slice(0, 300) });
  },
});
const worker = host.startWorker({
  concurrency: config.concurrency ?? 8,
  pollInterval: config.poll ?? 500,
  sweepInterval: config.sweep ?? Infinity,
  drainTimeout: config.drain ?? 30_000,
  retryDelay: config.retry ?? 50,
  maxRetryDelay: config.maxRetry ?? 1_000,
});
say({ ready: worker.id, pid: process.pid });

process.once("SIGTERM", async () => {
  await worker.stop();
  const state = worker.state;
  await host.close();
  say({ stopped: state });
  process.exit(0);
});

/** The store, with every acknowledged finishing commit and every refused one logged. */
function recording(inner: Store): Store {
  return new Proxy(inner, {
    get(target, name) {
      if (name === "commit") {
        return async (input: Parameters<Store["commit"]>[0]) => {
          try {
            const result = await target.commit(input);
            if (isFinishedStatus(input.status))
              log({ fin: input.flowId, s: input.status, r: result.revision });
            return result;
          } catch (error) {
            if (error instanceof DTaskError && error.code === "DT401")
              log({ lost: input.flowId, op: "commit" });
            throw error;
          }
        };
      }
      if (name === "renewLease") {
        return async (input: Parameters<Store["renewLease"]>[0]) => {
          try {
            return await target.renewLease(input);
          } catch (error) {
            if (error instanceof DTaskError && error.code === "DT401")
              log({ lost: input.flowId, op: "renew" });
            throw error;
          }
        };
      }
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
