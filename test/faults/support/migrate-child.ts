/**
 * `migrate-child.ts <connection string> <schema> <application name>`: opens a PostgreSQL store and
 * makes its first call (which migrates the schema), twice. Prints one JSON line per call: the error
 * code, or `ok`. A store must report a dropped connection as DT402 and work on the next call; it
 * must never take the process down.
 */
import { DTaskError } from "dtasks";
import { postgresStore } from "../../../src/store/postgres/index.js";

const [connectionString, schema, applicationName] = process.argv.slice(2);
const store = postgresStore({
  connectionString: connectionString!,
  schema: schema!,
  applicationName: applicationName!,
});
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
for (const call of ["first", "second"]) {
  try {
    await store.countRecords();
    say({ call, outcome: "ok" });
  } catch (error) {
    say({ call, outcome: error instanceof DTaskError ? error.code : String(error) });
  }
  // The test lets the second call through once it has seen the first one's outcome.
  if (call === "first") {
    await new Promise((resolve) => process.stdin.once("data", resolve));
    process.stdin.destroy();
  }
}
await store.close();
