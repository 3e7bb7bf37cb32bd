/**
 * The PostgreSQL store under the real host: flows with delays, callbacks and combinators, run by
 * the host's workers on a virtual clock (`dtasks/testing`), and by two hosts sharing one schema in
 * real time, where `flow.result()` and idle workers are woken by LISTEN/NOTIFY, not by polling.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import { postgresStore } from "../../src/store/postgres/index.js";
import * as flows from "../host/flows.js";
import { twoHostsScenario, virtualClockScenario } from "./helpers/host-scenarios.js";
import { dropSchema, freshSchema, requireServer, TEST_URL } from "./postgres-helpers.test.js";

before(requireServer);
const schemas: string[] = [];
after(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

function schemaName(): string {
  const schema = freshSchema("host");
  schemas.push(schema);
  return schema;
}

describe("postgresStore under the host", () => {
  beforeEach(() => flows.reset());

  it("runs delays, callbacks and combinators on a virtual clock, and sweeps everything after", () =>
    virtualClockScenario(
      postgresStore({ connectionString: TEST_URL, schema: schemaName(), poolSize: 3, retention: "1h" }),
    ));

  it("two hosts on one schema, real time: one starts and resumes, the other's worker runs; result() is woken by NOTIFY", {
    timeout: 30_000,
  }, () => {
    const schema = schemaName();
    return twoHostsScenario(() => postgresStore({ connectionString: TEST_URL, schema, poolSize: 2 }));
  });
});
