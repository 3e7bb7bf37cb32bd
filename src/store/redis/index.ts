/**
 * The Redis store (`dtasks/redis`): any number of worker processes on any number of machines
 * share one Redis 7 server. Every state change is one Lua script (atomic on the server), timers and
 * schedules are sorted sets, and pub/sub wakes up workers and `flow.result()` without polling.
 * Built on ioredis; the layout of the keys is in docs/stores.md.
 *
 * @example
 * import { createHost } from "dtasks";
 * import { redisStore } from "dtasks/redis";
 *
 * const host = createHost({ store: redisStore({ url: "redis://127.0.0.1:6379", prefix: "shop:" }) });
 *
 * @module
 */
import type { Redis, RedisOptions } from "ioredis";
import type { Duration } from "../../core/duration.js";
import type { Store } from "../../core/store.js";
import {
  checkOptionKeys,
  DEFAULT_RETENTION_MS,
  durationOption,
  optionError,
  stringOption,
} from "../shared/options.js";
import { RedisStore } from "./store.js";

/** Where {@link redisStore} connects when given neither `url` nor `client`. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** The default key prefix (and pub/sub channel prefix). */
export const DEFAULT_REDIS_PREFIX = "dtasks:";

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * The server: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. The store
   * opens two connections (commands, and a subscriber opened on first `subscribe`) and closes them
   * in `close()`. Not together with `client`.
   * @default "redis://127.0.0.1:6379"
   */
  url?: string;
  /**
   * An ioredis client to use instead of opening one from `url`. The store defines its scripts on it
   * (`defineCommand`), opens its subscriber connection with `client.duplicate()`, and never closes
   * the client itself. Give it `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`
   * (what the store uses for its own connections) so that a command in flight when the connection
   * drops fails at once instead of being sent again after the reconnection.
   */
  client?: Redis;
  /**
   * Prefix of every key and pub/sub channel of this store: stores with different prefixes share a
   * server without seeing each other. Two prefixes must not be prefixes of one another (`"a:"` and
   * `"a:b:"` would overlap); a client's own ioredis `keyPrefix` is added in front.
   * @default "dtasks:"
   */
  prefix?: string;
  /**
   * How long a finished flow is kept before `sweep` deletes it: milliseconds or a string such as
   * `"7d"`; `Infinity` keeps finished flows forever. A commit may override it.
   * @default "7d"
   */
  retention?: Duration;
  /**
   * How long a command may wait for its reply before it fails with DT402 (the server is stuck or
   * the network silently dropped the connection). Applies to the connections the store opens.
   * @default "10s"
   */
  commandTimeout?: Duration;
  /**
   * More ioredis options for the connections the store opens (TLS, `connectTimeout`,
   * `retryStrategy`, `connectionName`…). They override the store's own settings, so leave
   * `maxRetriesPerRequest` and `autoResendUnfulfilledCommands` alone unless you mean it.
   */
  redisOptions?: RedisOptions;
}

/** Resolved {@link RedisStoreOptions}. `url` and `redisOptions` are non-enumerable (they may hold passwords). */
export interface ResolvedRedisStoreOptions {
  readonly url: string;
  readonly client: Redis | null;
  readonly prefix: string;
  readonly retentionMs: number;
  readonly commandTimeoutMs: number;
  readonly redisOptions: RedisOptions;
}

const FACTORY = "redisStore";

const KNOWN = [
  "url",
  "client",
  "prefix",
  "retention",
  "commandTimeout",
  "redisOptions",
] as const satisfies readonly (keyof RedisStoreOptions)[];

/** The longest accepted prefix, in characters. */
const MAX_PREFIX_LENGTH = 100;

export function resolveRedisStoreOptions(options: RedisStoreOptions | undefined): ResolvedRedisStoreOptions {
  const o = checkOptionKeys(FACTORY, options, KNOWN);
  const client = (o.client ?? null) as Redis | null;
  if (client !== null) {
    if (o.url !== undefined) {
      throw optionError(FACTORY, "client", "cannot be given together with 'url': pass one or the other");
    }
    if (o.redisOptions !== undefined) {
      throw optionError(
        FACTORY,
        "redisOptions",
        "cannot be given together with 'client': configure the client you pass instead",
      );
    }
    const c = client as unknown as Record<string, unknown>;
    if (
      typeof client !== "object" ||
      typeof c.defineCommand !== "function" ||
      typeof c.duplicate !== "function"
    ) {
      throw optionError(
        FACTORY,
        "client",
        "must be an ioredis client (new Redis(...)); a Cluster is not supported",
      );
    }
    if (c.status === "end") throw optionError(FACTORY, "client", "is closed (quit): pass an open client");
  }
  let url = DEFAULT_REDIS_URL;
  if (o.url !== undefined) {
    // Never echo the value: it may carry a password.
    if (typeof o.url !== "string" || !/^rediss?:\/\/[^\s]*$/i.test(o.url)) {
      throw optionError(FACTORY, "url", "must be a redis:// or rediss:// URL");
    }
    url = o.url;
  }
  const prefix = stringOption(FACTORY, "prefix", o.prefix, DEFAULT_REDIS_PREFIX);
  if (prefix.length > MAX_PREFIX_LENGTH) {
    throw optionError(FACTORY, "prefix", `must be at most ${MAX_PREFIX_LENGTH} characters`);
  }
  const redisOptions = o.redisOptions ?? {};
  if (typeof redisOptions !== "object" || redisOptions === null || Array.isArray(redisOptions)) {
    throw optionError(FACTORY, "redisOptions", "must be an object of ioredis options");
  }
  const resolved = {
    client,
    prefix,
    retentionMs: durationOption(FACTORY, "retention", o.retention, DEFAULT_RETENTION_MS, {
      allowInfinity: true,
    }),
    commandTimeoutMs: durationOption(FACTORY, "commandTimeout", o.commandTimeout, 10_000, { min: 1 }),
  } as ResolvedRedisStoreOptions;
  // Secrets stay out of logs and JSON: readable, not enumerable.
  Object.defineProperty(resolved, "url", { value: url, enumerable: false });
  Object.defineProperty(resolved, "redisOptions", { value: redisOptions, enumerable: false });
  return resolved;
}

/**
 * Creates a Redis {@link Store}. Nothing is sent until the first call (the connection is lazy).
 * Invalid options throw DT404 naming the option; a server that cannot be reached makes each call
 * fail with DT402 (retryable), and calls work again once ioredis has reconnected.
 */
export function redisStore(options?: RedisStoreOptions): Store {
  return new RedisStore(resolveRedisStoreOptions(options));
}

export { RedisStore };
