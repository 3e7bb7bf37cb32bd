/**
 * The options of `createHost` and `host.startWorker`, with their defaults and units, resolved once
 * at construction: a misspelt key, a wrong type or an out-of-range value throws DT505 naming the
 * option before anything is opened or started.
 *
 * @module
 */
import type { Duration } from "../core/duration.js";
import { DTaskError } from "../core/errors.js";
import type { Store } from "../core/store.js";
import {
  booleanOption,
  checkKeys,
  describe,
  durationOption,
  functionOption,
  integerOption,
  optionError,
} from "./check.js";

/** Where an error the host handled by itself came from (see {@link HostOptions.onError}). */
export interface HostErrorContext {
  /** What the host was doing. */
  operation: "claim" | "commit" | "run" | "renew" | "release" | "sweep" | "callback" | "subscribe" | "worker";
  /** The flow involved, if any. */
  flowId?: string;
}

/** Options of {@link createHost}. */
export interface HostOptions {
  /**
   * Where flows are kept. Without one, the host opens the embedded SQLite store at
   * `./.dtasks/state.db` on first use (better-sqlite3 is loaded only then).
   * @default sqliteStore({ path: ".dtasks/state.db" })
   */
  store?: Store;
  /**
   * Whether `host.close()` also closes the store. Turn it off when several hosts share one store
   * object (for example two test hosts standing for two processes).
   * @default true
   */
  closeStore?: boolean;
  /**
   * How long a finished flow (its status, result or error) is kept before a worker's sweep deletes
   * it: milliseconds, a string such as `"7d"`, or `Infinity` to keep finished flows forever.
   * @default the store's retention ("7d" for the built-in stores)
   */
  retention?: Duration;
  /**
   * How long a run holds its flow without renewing: milliseconds or a string such as `"30s"`.
   * A run renews its lease every third of this while it runs; if its process dies, another
   * worker recovers the flow once the lease has expired. Workers take this unless they set their own.
   * @default "30s"
   */
  leaseDuration?: Duration;
  /**
   * How long a flow that this process could not run waits before any worker tries again: its
   * snapshot names a function that changed or is not loaded here (the flow stays suspended and
   * intact, `host.get` shows why in `lastError`), or the run failed unexpectedly.
   * @default "30s"
   */
  blockedRetryDelay?: Duration;
  /**
   * How snapshots, results and errors are encoded: `"json"` (readable, tagged JSON) or
   * `"msgpack"` (smaller, binary). A store may hold both; each payload names its format.
   * @default "json"
   */
  format?: "json" | "msgpack";
  /**
   * Services stored in snapshots by token (see {@link Host.registerService}).
   * @default {}
   */
  services?: Record<string, object>;
  /**
   * Receives the errors the host deals with by itself instead of throwing them to a caller: a
   * store that is down (the worker retries with back-off), a flow that could not be run here, a
   * `DTask.callback` callback that threw.
   * @default a process warning (`process.emitWarning`) of type `DTasksHostWarning`
   */
  onError?: (error: Error, context: HostErrorContext) => void;
}

/** Options of {@link Host.startWorker}. Durations are milliseconds or strings such as `"30s"`. */
export interface WorkerOptions {
  /**
   * How many flows the worker runs at once (in this process; they interleave at ordinary awaits).
   * @default 8
   */
  concurrency?: number;
  /**
   * Lease length of the flows this worker claims (see {@link HostOptions.leaseDuration}).
   * @default the host's leaseDuration ("30s")
   */
  leaseDuration?: Duration;
  /**
   * The longest an idle worker sleeps before asking the store for work again. Workers are woken
   * early by the store's work notifications and sleep exactly until the next timer, so this only
   * bounds how late a missed notification is noticed. `Infinity` relies on notifications alone.
   * @default "1s"
   */
  pollInterval?: Duration;
  /**
   * How often the worker deletes finished flows whose retention has passed. `Infinity` turns
   * sweeping off in this worker.
   * @default "1m"
   */
  sweepInterval?: Duration;
  /**
   * How long `worker.stop()` waits for runs in progress to finish before giving their flows back
   * (releasing the leases, so another worker can take them at once).
   * @default "30s"
   */
  drainTimeout?: Duration;
  /**
   * First delay before retrying after the store failed; doubled at each failure in a row, up to
   * `maxRetryDelay`, with jitter.
   * @default "100ms"
   */
  retryDelay?: Duration;
  /** @default "30s" */
  maxRetryDelay?: Duration;
  /**
   * Who holds the leases, as `dtasks show` prints it.
   * @default "worker@<hostname>:<pid>:<random>"
   */
  id?: string;
}

export interface ResolvedHostOptions {
  store: Store | undefined;
  closeStore: boolean;
  retentionMs: number | undefined;
  leaseMs: number;
  blockedRetryMs: number;
  format: "json" | "msgpack";
  services: Record<string, object>;
  onError: (error: Error, context: HostErrorContext) => void;
}

export interface ResolvedWorkerOptions {
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  sweepMs: number;
  drainMs: number;
  retryMs: number;
  maxRetryMs: number;
  id: string | undefined;
}

const HOST = "createHost";
const WORKER = "startWorker";

export const HOST_OPTION_KEYS = [
  "store",
  "closeStore",
  "retention",
  "leaseDuration",
  "blockedRetryDelay",
  "format",
  "services",
  "onError",
] as const satisfies readonly (keyof HostOptions)[];

export const WORKER_OPTION_KEYS = [
  "concurrency",
  "leaseDuration",
  "pollInterval",
  "sweepInterval",
  "drainTimeout",
  "retryDelay",
  "maxRetryDelay",
  "id",
] as const satisfies readonly (keyof WorkerOptions)[];

/** Leases shorter than this would spend the run renewing them. */
const MIN_LEASE_MS = 10;

export function resolveHostOptions(options: HostOptions | undefined, where = HOST): ResolvedHostOptions {
  const o = checkKeys(where, options, HOST_OPTION_KEYS);
  return {
    store: storeOption(where, o.store),
    closeStore: booleanOption(where, "closeStore", o.closeStore, true),
    retentionMs:
      o.retention === undefined
        ? undefined
        : durationOption(where, "retention", o.retention, 0, { allowInfinity: true }),
    leaseMs: durationOption(where, "leaseDuration", o.leaseDuration, 30_000, { min: MIN_LEASE_MS }),
    blockedRetryMs: durationOption(where, "blockedRetryDelay", o.blockedRetryDelay, 30_000),
    format: formatOption(where, o.format),
    services: servicesOption(where, o.services),
    onError: functionOption<ResolvedHostOptions["onError"]>(where, "onError", o.onError) ?? warn,
  };
}

export function resolveWorkerOptions(
  options: WorkerOptions | undefined,
  host: ResolvedHostOptions,
): ResolvedWorkerOptions {
  const o = checkKeys(WORKER, options, WORKER_OPTION_KEYS);
  const retryMs = durationOption(WORKER, "retryDelay", o.retryDelay, 100, { min: 1 });
  const maxRetryMs = durationOption(WORKER, "maxRetryDelay", o.maxRetryDelay, Math.max(30_000, retryMs), {
    min: 1,
  });
  if (maxRetryMs < retryMs) {
    throw optionError(WORKER, "maxRetryDelay", `must not be shorter than retryDelay (${retryMs} ms)`);
  }
  if (o.id !== undefined && (typeof o.id !== "string" || o.id.length === 0 || o.id.length > 200)) {
    throw optionError(
      WORKER,
      "id",
      `must be a non-empty string of at most 200 characters (got ${describe(o.id)})`,
    );
  }
  return {
    concurrency: integerOption(WORKER, "concurrency", o.concurrency, 8, 1, 1024),
    leaseMs: durationOption(WORKER, "leaseDuration", o.leaseDuration, host.leaseMs, { min: MIN_LEASE_MS }),
    pollMs: durationOption(WORKER, "pollInterval", o.pollInterval, 1_000, { min: 1, allowInfinity: true }),
    sweepMs: durationOption(WORKER, "sweepInterval", o.sweepInterval, 60_000, {
      min: 1,
      allowInfinity: true,
    }),
    drainMs: durationOption(WORKER, "drainTimeout", o.drainTimeout, 30_000),
    retryMs,
    maxRetryMs,
    id: o.id as string | undefined,
  };
}

const STORE_METHODS = [
  "createFlow",
  "commit",
  "claim",
  "renewLease",
  "releaseLease",
  "deliver",
  "getFlow",
  "subscribe",
];

function storeOption(where: string, value: unknown): Store | undefined {
  if (value === undefined) return undefined;
  const missing =
    typeof value === "object" && value !== null
      ? STORE_METHODS.filter((m) => typeof (value as Record<string, unknown>)[m] !== "function")
      : STORE_METHODS;
  if (missing.length > 0) {
    throw optionError(
      where,
      "store",
      `must be a dtasks Store such as memoryStore() or sqliteStore({ path }) (got ${describe(value)}${typeof value === "object" && value !== null ? `, without ${missing.join(", ")}` : ""})`,
    );
  }
  return value as Store;
}

function formatOption(where: string, value: unknown): "json" | "msgpack" {
  if (value === undefined) return "json";
  if (value === "json" || value === "msgpack") return value;
  throw optionError(where, "format", `must be "json" or "msgpack" (got ${describe(value)})`);
}

function servicesOption(where: string, value: unknown): Record<string, object> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw optionError(
      where,
      "services",
      `must be an object mapping tokens to service objects (got ${describe(value)})`,
    );
  }
  for (const [token, service] of Object.entries(value)) {
    if (typeof service !== "object" || service === null) {
      throw optionError(where, "services", `entry '${token}' must be an object (got ${describe(service)})`);
    }
  }
  return value as Record<string, object>;
}

function warn(error: Error, context: HostErrorContext): void {
  const where =
    context.flowId === undefined ? context.operation : `${context.operation} of flow ${context.flowId}`;
  const code = error instanceof DTaskError ? ` [${error.code}]` : "";
  process.emitWarning(`dtasks host: ${where} failed${code}: ${error.message}`, { type: "DTasksHostWarning" });
}
