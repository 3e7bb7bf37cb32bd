/**
 * A host for one CLI command: the store from `--store`, errors the host handles by itself printed
 * as warnings on stderr (a CLI has no other place for them), closed by the command when done.
 *
 * @module
 */
import { DTaskError } from "../../core/errors.js";
import type { Host, WorkerOptions } from "../../host/index.js";
import { createHost } from "../../host/index.js";
import type { CliContext } from "../context.js";
import { openStore, type StoreSpec } from "./store.js";

export async function openHost(
  spec: StoreSpec,
  context: CliContext,
  { mustExist, leaseDuration }: { mustExist: boolean; leaseDuration?: WorkerOptions["leaseDuration"] },
): Promise<Host> {
  const store = await openStore(spec, context.cwd, { mustExist });
  return createHost({
    store,
    ...(leaseDuration === undefined ? {} : { leaseDuration }),
    onError(error, where) {
      const code = error instanceof DTaskError ? ` [${error.code}]` : "";
      const flow = where.flowId === undefined ? "" : ` (flow ${where.flowId})`;
      context.stderr(`warning: ${where.operation}${flow}${code}: ${error.message}\n`);
    },
  });
}

/** Runs `body` with a host and closes it afterwards, whatever happens. */
export async function withHost<T>(
  spec: StoreSpec,
  context: CliContext,
  options: { mustExist: boolean },
  body: (host: Host) => Promise<T>,
): Promise<T> {
  const host = await openHost(spec, context, options);
  try {
    return await body(host);
  } finally {
    await host.close();
  }
}
