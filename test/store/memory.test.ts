import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { memoryStore } from "../../src/store/memory/index.js";
import { storeConformance } from "./conformance.js";

storeConformance("memory", () => ({ store: memoryStore() }), { connections: false });

describe("memoryStore options", () => {
  it("accepts a retention as milliseconds, a duration string or Infinity", async () => {
    for (const [retention, expiresAt] of [
      [60_000, 60_010],
      ["1h", 3_600_010],
      [Infinity, null],
    ] as const) {
      const store = memoryStore({ retention });
      const created = await store.createFlow({
        id: "f",
        rootFunctionId: "r#f",
        owner: "w",
        leaseMs: 100,
        now: 0,
      });
      await store.commit({
        flowId: "f",
        revision: 0,
        leaseToken: created.lease.token,
        now: 10,
        status: "succeeded",
      });
      assert.equal((await store.getFlow("f"))?.expiresAt, expiresAt);
      await store.close();
    }
  });

  it("rejects bad options with DT404, naming the option", () => {
    const cases: [unknown, RegExp][] = [
      [{ retension: "1d" }, /unknown option 'retension'\. Did you mean 'retention'\?/],
      [{ retention: "soon" }, /option 'retention' must be a duration/],
      [{ retention: -5 }, /option 'retention' must be a duration/],
      ["7d", /options must be an object/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => memoryStore(options as any),
        (e: { code?: string; message: string }) => {
          assert.equal(e.code, "DT404");
          assert.match(e.message, message);
          return true;
        },
      );
    }
  });
});
