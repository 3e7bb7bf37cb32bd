/**
 * The Redis store under the real host: flows with delays, callbacks and combinators, run by the
 * host's workers on a virtual clock (`dtasks/testing`), and by two hosts sharing one prefix in real
 * time, where `flow.result()` and idle workers are woken by Redis pub/sub.
 */
import { randomBytes } from "node:crypto";
import { after, beforeEach, describe, it } from "node:test";
import { Redis } from "ioredis";
import { redisStore } from "../../src/store/redis/index.js";
import * as flows from "../host/flows.js";
import { twoHostsScenario, virtualClockScenario } from "./helpers/host-scenarios.js";

const URL_ = process.env.DTASKS_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const RUN = `dtasks-test-host:${process.pid}-${randomBytes(4).toString("hex")}:`;
const admin = new Redis(URL_, { lazyConnect: true, maxRetriesPerRequest: 0 });
let unreachable: Error | undefined;
admin.on("error", (error: Error) => {
  unreachable ??= error;
});
try {
  await admin.connect();
} catch (error) {
  admin.disconnect();
  throw new Error(
    `the Redis tests need a Redis 7 server at ${URL_} (CI always has one): ${String(unreachable ?? error)}`,
  );
}

after(async () => {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${RUN}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== "0");
  admin.disconnect();
});

let counter = 0;
const prefix = () => `${RUN}${++counter}:`;

describe("redisStore under the host", () => {
  beforeEach(() => flows.reset());

  it("runs delays, callbacks and combinators on a virtual clock, and sweeps everything after", () =>
    virtualClockScenario(redisStore({ url: URL_, prefix: prefix(), retention: "1h" })));

  it("two hosts on one prefix, real time: one starts and resumes, the other's worker runs; result() is woken by pub/sub", {
    timeout: 30_000,
  }, () => {
    const p = prefix();
    return twoHostsScenario(() => redisStore({ url: URL_, prefix: p }));
  });
});
