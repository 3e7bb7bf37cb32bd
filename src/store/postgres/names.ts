/**
 * Names the store derives: the quoted schema, the LISTEN/NOTIFY channel of a store channel, and
 * prepared-statement names.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** What `schema` accepts: a plain identifier, so it never needs thinking about in SQL or in psql. */
export const SCHEMA_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The identifier quoted for SQL (case is kept). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The PostgreSQL channel that carries the store channel `channel` of `schema`. Store channels may be
 * 200 characters of anything and PostgreSQL channel names stop at 63 bytes, so the name is a hash
 * (192 bits: no collisions in practice, even chosen ones); the schema is part of it, so stores in
 * different schemas of one database never hear each other.
 */
export function pgChannel(schema: string, channel: string): string {
  return `dt_${createHash("sha256").update(`${schema}:${channel}`).digest("hex").slice(0, 48)}`;
}

/**
 * A prepared-statement name for `op`, unique per schema: node-postgres refuses one name for two
 * texts on one connection, and a pool given by the application may serve stores of several schemas.
 */
export function statementName(schema: string, op: string): string {
  return `dt_${createHash("sha256").update(schema).digest("hex").slice(0, 12)}_${op}`;
}
