/**
 * The store the sample runs on: the embedded SQLite file in its data folder (the default), or a
 * Redis server with `--store redis` (its URL from `--redis-url` or `REDIS_URL`). The web server and
 * the worker process open the same one.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "dtasks";

export type StoreKind = "sqlite" | "redis";

export function storeKind(value: string | undefined): StoreKind {
  if (value === undefined || value === "sqlite" || value === "redis") return value ?? "sqlite";
  throw new Error(`--store ${value}: use sqlite (the default) or redis`);
}

/** The key prefix on Redis: the data folder's name keeps two copies of the sample apart. */
export function redisPrefix(data: string): string {
  return `dtasks-documents:${data.replace(/[^\w.-]/g, "_").slice(-60)}:`;
}

export async function openStore(kind: StoreKind, data: string, redisUrl: string | undefined): Promise<Store> {
  if (kind === "redis") {
    const { redisStore } = await import("dtasks/redis");
    return redisStore({
      url: redisUrl ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      prefix: redisPrefix(data),
    });
  }
  const { sqliteStore } = await import("dtasks/sqlite");
  mkdirSync(data, { recursive: true });
  return sqliteStore({ path: join(data, "documents.db"), pollInterval: 25 });
}
