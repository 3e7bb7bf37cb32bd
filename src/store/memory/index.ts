/**
 * The in-memory store: for tests and single-process demos. Same semantics as the durable engines,
 * leases and fencing included, so code tested against it behaves the same on SQLite; nothing
 * survives the process.
 *
 * @example
 * import { createHost, memoryStore } from "dtasks";
 *
 * const host = createHost({ store: memoryStore({ retention: "1h" }) });
 *
 * @module
 */
import type { Duration } from "../../core/duration.js";
import type { Store } from "../../core/store.js";
import { checkOptionKeys, DEFAULT_RETENTION_MS, durationOption } from "../shared/options.js";
import { MemoryStore } from "./store.js";

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How long a finished flow is kept before {@link Store.sweep} deletes it: milliseconds or a
   * string such as `"7d"`; `Infinity` keeps finished flows forever. A commit may override it.
   * @default "7d"
   */
  retention?: Duration;
}

/** Resolved {@link MemoryStoreOptions}. */
export interface ResolvedMemoryStoreOptions {
  retentionMs: number;
}

const KNOWN = ["retention"] as const satisfies readonly (keyof MemoryStoreOptions)[];

export function resolveMemoryStoreOptions(
  options: MemoryStoreOptions | undefined,
): ResolvedMemoryStoreOptions {
  const o = checkOptionKeys("memoryStore", options, KNOWN);
  return {
    retentionMs: durationOption("memoryStore", "retention", o.retention, DEFAULT_RETENTION_MS, {
      allowInfinity: true,
    }),
  };
}

/** Creates an in-memory {@link Store}. Invalid options throw DT404 naming the option. */
export function memoryStore(options?: MemoryStoreOptions): Store {
  return new MemoryStore(resolveMemoryStoreOptions(options));
}

export { MemoryStore };
