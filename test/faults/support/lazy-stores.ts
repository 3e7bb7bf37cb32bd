/**
 * Runs `dtasks ls` in this process on a memory, a Redis and a PostgreSQL store, in that order, and
 * prints after each which store drivers (better-sqlite3, ioredis, pg) have been loaded so far: a
 * driver must be loaded only once its store is chosen.
 */
import { createRequire } from "node:module";
import { main } from "../../../src/cli/index.js";

// Not from engines.ts: that module loads every driver.
const REDIS_URL = process.env.DTASKS_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const POSTGRES_URL = process.env.DTASKS_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const require = createRequire(import.meta.url);
const loaded = (name: string) =>
  Object.keys(require.cache).some((path) => path.includes(`/node_modules/${name}/`));
const quiet = { cwd: process.cwd(), stdout: () => {}, stderr: () => {} };
const stores = {
  memory: "memory",
  redis: `${REDIS_URL}?prefix=dtasks-lazy-check:`,
  postgres: `${POSTGRES_URL}?schema=dtasks_lazy_check`,
};
for (const [store, spec] of Object.entries(stores)) {
  // The outcome does not matter here (the PostgreSQL schema does not exist: ls says so).
  await main(["ls", "--store", spec], quiet);
  process.stdout.write(
    `${JSON.stringify({ store, sqlite: loaded("better-sqlite3"), redis: loaded("ioredis"), postgres: loaded("pg") })}\n`,
  );
}
