/**
 * The PostgreSQL store against the real server (127.0.0.1:5432, or DTASKS_TEST_POSTGRES_URL): the
 * shared conformance suite, each test in a fresh schema of its own that is dropped afterwards. There
 * is no skip: without a server these tests fail, loudly (CI guarantees the server).
 * PostgreSQL-specific behaviour is in postgres-*.test.ts.
 */
import { after, before } from "node:test";
import { postgresStore } from "../../src/store/postgres/index.js";
import { storeConformance } from "./conformance.js";
import { dropSchema, freshSchema, requireServer, TEST_URL } from "./postgres-helpers.test.js";

before(requireServer);
const schemas: string[] = [];
after(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

storeConformance(
  "postgres",
  () => {
    const schema = freshSchema();
    schemas.push(schema);
    const open = () => postgresStore({ connectionString: TEST_URL, schema, poolSize: 4 });
    return { store: open(), connect: open, dispose: () => dropSchema(schema) };
  },
  { connections: true },
);
