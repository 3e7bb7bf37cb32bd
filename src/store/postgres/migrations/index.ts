/**
 * The ordered list of schema migrations. Migration `n` (1-based) takes a schema from version
 * `n - 1` to `n`. Append only: a shipped migration is never edited (its checksum is recorded when it
 * is applied, and a test pins the checksums of shipped ones).
 *
 * They are TypeScript modules exporting SQL text, so the store needs no `.sql` file at run time,
 * from `src/` and from the compiled `dist/` alike.
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as m0001 from "./0001-initial.js";
import * as m0002 from "./0002-queue.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** sha256 of `sql`, hex: recorded with the version when applied. */
  checksum: string;
}

export const MIGRATIONS: readonly Migration[] = [m0001, m0002].map((m, i) => ({
  version: i + 1,
  name: m.name,
  sql: m.sql,
  checksum: createHash("sha256").update(m.sql).digest("hex"),
}));

/** The schema version this code reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
