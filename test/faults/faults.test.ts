/**
 * The fault suite (see `support/suite.ts` for what it checks): worker processes SIGKILLed again and
 * again, and a crash and restart of the store server, on Redis and on PostgreSQL. Each store runs
 * on a private server that this file starts and removes (never the shared 6379/5432). The two run
 * one after the other, so each has the machine (shared with one other test file) to itself.
 *
 * A server that cannot be started fails the test (it never skips). `DTASKS_FAULTS_FLOWS` and
 * `DTASKS_FAULTS_KILLS` change the size (for a quick local run); `DTASKS_FAULTS_DEBUG=1` prints
 * progress and every error and refused lease the workers log.
 */
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { PrivatePostgres, PrivateRedis } from "./support/servers.js";
import { runFaultSuite } from "./support/suite.js";

const SIZE = {
  total: Number(process.env.DTASKS_FAULTS_FLOWS ?? 1000),
  workers: 3,
  spares: 2,
  kills: Number(process.env.DTASKS_FAULTS_KILLS ?? 20),
  leaseMs: 2_000,
  // Longer than the verifier can lag behind a finish: after the server's restart the workers'
  // sweeps and the verifier's reads come back together, and a 6 s retention once deleted a flow
  // finished just before the crash before the verifier read it.
  retentionMs: 15_000,
};

describe("fault suite", () => {
  test("Redis: worker processes SIGKILLed and the server crashed and restarted; every flow finishes once, nothing left", {
    timeout: 480_000,
  }, async (t) => {
    const counts = await runFaultSuite(t, {
      server: new PrivateRedis(),
      namespace: `faults:${randomBytes(4).toString("hex")}:`,
      ...SIZE,
    });
    t.diagnostic(`redis: ${JSON.stringify(counts)}`);
  });

  test("PostgreSQL: worker processes SIGKILLed and the server crashed and restarted; every flow finishes once, nothing left", {
    timeout: 480_000,
  }, async (t) => {
    const counts = await runFaultSuite(t, {
      server: new PrivatePostgres(),
      namespace: `faults_${randomBytes(4).toString("hex")}`,
      ...SIZE,
    });
    t.diagnostic(`postgres: ${JSON.stringify(counts)}`);
  });
});
