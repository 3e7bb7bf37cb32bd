/**
 * `--store`: which store the flow commands use (or `$DTASKS_STORE`; default `sqlite:.dtasks/state.db`):
 *
 * - `sqlite:<path>`: the embedded store, one file;
 * - `memory`: one process only (useful with `run`);
 * - `redis://…` / `rediss://…`, with an optional `?prefix=<key prefix>`;
 * - `postgres://…` / `postgresql://…`, with an optional `?schema=<schema>`.
 *
 * A store's driver (better-sqlite3, ioredis, pg) is imported only when that store is opened, so a
 * CLI on Redis never loads the SQLite binding and the other way round.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import type { Store } from "../../core/store.js";
import { memoryStore } from "../../store/memory/index.js";
import { CommandFailure } from "../failure.js";

export type StoreSpec =
  | { kind: "memory" }
  | { kind: "sqlite"; path: string }
  /** `url` without the `prefix` parameter. */
  | { kind: "redis"; url: string; prefix?: string }
  /** `connectionString` without the `schema` parameter. */
  | { kind: "postgres"; connectionString: string; schema?: string };

export const DEFAULT_STORE = "sqlite:.dtasks/state.db";

export const STORE_HELP = `where flows are kept: sqlite:<path>, memory, redis://host[:port][/db][?prefix=p] or postgres://user@host/db[?schema=s] (default: $DTASKS_STORE, else ${DEFAULT_STORE})`;

/** What `postgresStore` accepts as a schema (kept in step with `src/store/postgres/names.ts`). */
const SCHEMA_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Parses a `--store` value; a problem is pushed onto `problems` (reported with the others). */
export function parseStore(
  value: string | undefined,
  cwd: string,
  problems: string[],
): StoreSpec | undefined {
  const given = value ?? process.env.DTASKS_STORE ?? DEFAULT_STORE;
  const where = value === undefined && process.env.DTASKS_STORE !== undefined ? "DTASKS_STORE" : "--store";
  if (given === "memory") return { kind: "memory" };
  if (given.startsWith("sqlite:") && given.length > "sqlite:".length) {
    return { kind: "sqlite", path: resolve(cwd, given.slice("sqlite:".length)) };
  }
  const scheme = /^(\w+):/.exec(given)?.[1]?.toLowerCase();
  if (scheme === "redis" || scheme === "rediss") return parseRedis(given, where, problems);
  if (scheme === "postgres" || scheme === "postgresql") return parsePostgres(given, where, problems);
  if (/\.(db|sqlite3?)$/.test(given)) {
    problems.push(`${where} ${given}: write sqlite:${given}`);
  } else {
    problems.push(
      `${where} ${JSON.stringify(redact(given))} is not a store; use sqlite:<path>, memory, redis://… or postgres://…`,
    );
  }
  return undefined;
}

function parseUrl(given: string, where: string, problems: string[]): URL | undefined {
  try {
    if (!given.includes("://")) throw new TypeError("no //");
    return new URL(given);
  } catch {
    problems.push(`${where} ${JSON.stringify(redact(given))} is not a valid URL`);
    return undefined;
  }
}

function parseRedis(given: string, where: string, problems: string[]): StoreSpec | undefined {
  const url = parseUrl(given, where, problems);
  if (url === undefined) return undefined;
  const prefixes = url.searchParams.getAll("prefix");
  url.searchParams.delete("prefix");
  if (prefixes.length > 1) problems.push(`${where}: give ?prefix= once (got ${prefixes.length})`);
  const prefix = prefixes[0];
  if (prefix !== undefined && prefix.length === 0) {
    problems.push(`${where}: ?prefix= must not be empty (keys would mix with everything else on the server)`);
    return undefined;
  }
  const spec: StoreSpec = { kind: "redis", url: url.toString() };
  if (prefix !== undefined) spec.prefix = prefix;
  return spec;
}

function parsePostgres(given: string, where: string, problems: string[]): StoreSpec | undefined {
  const url = parseUrl(given, where, problems);
  if (url === undefined) return undefined;
  const schemas = url.searchParams.getAll("schema");
  url.searchParams.delete("schema");
  if (schemas.length > 1) problems.push(`${where}: give ?schema= once (got ${schemas.length})`);
  const schema = schemas[0];
  if (schema !== undefined && !SCHEMA_PATTERN.test(schema)) {
    problems.push(
      `${where}: ?schema=${schema} is not a plain identifier (a letter or _, then letters, digits or _; at most 63)`,
    );
    return undefined;
  }
  const spec: StoreSpec = { kind: "postgres", connectionString: url.toString() };
  if (schema !== undefined) spec.schema = schema;
  return spec;
}

/**
 * Opens the store. Commands that only read or deliver (`ls`, `show`, `resume`, `cancel`) pass
 * `mustExist`, so a mistyped path is an error rather than a new, empty database (on PostgreSQL:
 * the schema is checked, not created).
 */
export async function openStore(
  spec: StoreSpec,
  cwd: string,
  { mustExist }: { mustExist: boolean },
): Promise<Store> {
  switch (spec.kind) {
    case "memory":
      return memoryStore();
    case "redis": {
      const { redisStore } = await import("../../store/redis/index.js");
      return redisStore(
        spec.prefix === undefined ? { url: spec.url } : { url: spec.url, prefix: spec.prefix },
      );
    }
    case "postgres": {
      const { postgresStore } = await import("../../store/postgres/index.js");
      return postgresStore({
        connectionString: spec.connectionString,
        ...(spec.schema === undefined ? {} : { schema: spec.schema }),
        ...(mustExist ? { migrate: false } : {}),
      });
    }
    case "sqlite": {
      if (mustExist && !existsSync(spec.path)) {
        throw new CommandFailure(
          `no dtasks database at ${displayPath(spec.path, cwd)}; start a flow first, or pass --store sqlite:<path>`,
        );
      }
      const { sqliteStore } = await import("../../store/sqlite/index.js");
      return sqliteStore({ path: spec.path });
    }
  }
}

/** The store for people: paths relative to `cwd`, passwords never shown. */
export function describeStore(spec: StoreSpec, cwd: string): string {
  switch (spec.kind) {
    case "memory":
      return "memory";
    case "sqlite":
      return `sqlite:${displayPath(spec.path, cwd)}`;
    case "redis":
      return `${redact(spec.url)}${spec.prefix === undefined ? "" : ` (prefix ${spec.prefix})`}`;
    case "postgres":
      return `${redact(spec.connectionString)}${spec.schema === undefined ? "" : ` (schema ${spec.schema})`}`;
  }
}

/** A URL with its password replaced by `***`, so that it can be printed. */
export function redact(text: string): string {
  try {
    const url = new URL(text);
    if (url.password === "") return text;
    url.password = "***";
    return url.toString();
  } catch {
    return text.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@");
  }
}

export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === "" ? "." : rel.startsWith(`..${sep}`) || isAbsolute(rel) ? path : rel;
}
