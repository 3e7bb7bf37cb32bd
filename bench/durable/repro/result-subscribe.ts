/**
 * What `flow.result()` costs the store before it can wait: a subscription to the flow's own channel
 * (`flowChannel(id)`), then an unsubscription. W3 waits on 1,000 flows at once, so it does this
 * 1,000 times concurrently. On PostgreSQL each is a `LISTEN dt_<hash>` / `UNLISTEN` statement on
 * the store's single LISTEN connection, so they queue behind each other (node-postgres prints
 * "Calling client.query() when the client is already executing a query is deprecated" for it); on
 * Redis each is a SUBSCRIBE / UNSUBSCRIBE on the subscriber connection.
 *
 *   node --conditions=source --import ./test/setup/register.mjs bench/durable/repro/result-subscribe.ts [--flows 1000]
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flowChannel } from "../../../src/core/store.js";
import { benchConfig, engines, openStore } from "../engines.js";

const i = process.argv.indexOf("--flows");
const flows = i >= 0 ? Number(process.argv[i + 1]) : 1000;
const dir = mkdtempSync(join(tmpdir(), "dtasks-repro-"));
const all = engines(benchConfig(dir));

for (const id of ["redis", "postgres", "sqlite-full"] as const) {
  const engine = all[id];
  const why = await engine.check();
  if (why !== null) {
    console.log(`${id}: ${why}`);
    continue;
  }
  const spec = engine.spec("repro_subscribe");
  const store = openStore(spec);
  try {
    await store.listFlows({ limit: 1 }); // connected, schema ready
    for (let round = 1; round <= 3; round++) {
      const ids = Array.from({ length: flows }, (_, k) => `flow-${round}-${k}`);
      const began = performance.now();
      const unsubscribes = await Promise.all(ids.map((f) => store.subscribe(flowChannel(f), () => {})));
      const subscribed = performance.now() - began;
      await Promise.all(unsubscribes.map((u) => u()));
      const total = performance.now() - began;
      console.log(
        `${engine.label}, round ${round}: ${flows} concurrent subscribe ${subscribed.toFixed(0)} ms (${((subscribed * 1000) / flows).toFixed(0)} µs each), + unsubscribe: ${total.toFixed(0)} ms`,
      );
    }
  } finally {
    await store.close();
    await engine.cleanup(spec);
  }
}
rmSync(dir, { recursive: true, force: true });
