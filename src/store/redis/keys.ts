/**
 * The key families of the Redis store, and `countRecords()`: a SCAN of everything under the
 * store's prefix, each key classified by its family, so that a key the store does not know (an
 * orphan of a bug, or a foreign key under the prefix) shows up as `other` instead of hiding.
 *
 * Layout (P = the prefix; see docs/stores.md):
 *
 * | key                | type   | holds                                                    |
 * |--------------------|--------|----------------------------------------------------------|
 * | P flow:<flow>      | hash   | the flow row (status, revision, payloads, lease, times)  |
 * | P timers:<flow>    | zset   | pending timers: member timer id, score due time          |
 * | P events:<flow>    | zset   | pending events: member event id, score time              |
 * | P evdata:<flow>    | hash   | `<event>` = "kind|waitId", `<event>p` = tagged payload   |
 * | P cbs:<flow>       | set    | every callback id the flow registered (for sweep)        |
 * | P cb:<callback>    | hash   | flow, state, created/delivered times                     |
 * | P ready            | zset   | unleased flows with a readyAt, score readyAt             |
 * | P leased           | zset   | leased flows with a readyAt, score max(readyAt, expiry)  |
 * | P expiring         | zset   | finished flows with a deadline, score expiresAt          |
 * | P created          | zset   | every flow, lex member createdAt key + id (listing)      |
 * | P status:<status>  | zset   | the flows of one status, same members (filtered listing) |
 * | P seq              | string | the event id counter (deleted when the last flow is)     |
 *
 * @module
 */
import type { Redis } from "ioredis";
import type { RecordCounts } from "../../core/store.js";

/** Per-flow key families: `P<family>:<id>`. */
export const FLOW_FAMILIES = ["flow", "timers", "events", "evdata", "cbs", "cb"] as const;

/** Glob-escapes a literal for SCAN MATCH. */
export function globEscape(literal: string): string {
  return literal.replace(/[*?[\]\\^]/g, "\\$&");
}

type Counter =
  | "flows"
  | "callbacks"
  | "timers"
  | "events"
  | "leases"
  | "notifications"
  | "eventFields"
  | "callbackSets"
  | "readyIndex"
  | "leaseIndex"
  | "expiryIndex"
  | "createdIndex"
  | "statusIndex"
  | "eventSequence"
  | "other";

/**
 * Record counts: `flows`, `callbacks`, `timers` (entries), `events` (pending), `leases` (flows
 * with a lease), `notifications` (always 0: pub/sub stores nothing), plus Redis-specific ones:
 * `eventFields` (event header and payload fields), `callbackSets` (per-flow callback sets), one
 * per index (entries), `eventSequence` (the counter key), and `other` (unknown keys under the prefix).
 *
 * Not atomic (SCAN walks the keyspace while others write): for tests and diagnostics.
 */
export async function countRecords(client: Redis, serverPrefix: string): Promise<RecordCounts> {
  const keyPrefix = (client.options as { keyPrefix?: string }).keyPrefix ?? "";
  const counts: Record<Counter, number> = {
    flows: 0,
    callbacks: 0,
    timers: 0,
    events: 0,
    leases: 0,
    notifications: 0,
    eventFields: 0,
    callbackSets: 0,
    readyIndex: 0,
    leaseIndex: 0,
    expiryIndex: 0,
    createdIndex: 0,
    statusIndex: 0,
    eventSequence: 0,
    other: 0,
  };
  const seen = new Set<string>();
  let cursor = "0";
  do {
    // SCAN patterns and replies carry the full key name: ioredis adds keyPrefix only to commands.
    const [next, keys] = await client.scan(cursor, "MATCH", `${globEscape(serverPrefix)}*`, "COUNT", 1000);
    cursor = next;
    const pipeline = client.pipeline();
    const tally: Counter[] = [];
    for (const full of keys) {
      if (seen.has(full)) continue; // SCAN may return a key twice
      seen.add(full);
      const name = full.slice(serverPrefix.length);
      const key = full.slice(keyPrefix.length);
      const colon = name.indexOf(":");
      const family = colon < 0 ? name : name.slice(0, colon);
      switch (colon < 0 ? family : `${family}:`) {
        case "flow:":
          counts.flows += 1;
          pipeline.hexists(key, "ltok");
          tally.push("leases");
          break;
        case "cb:":
          counts.callbacks += 1;
          break;
        case "timers:":
          pipeline.zcard(key);
          tally.push("timers");
          break;
        case "events:":
          pipeline.zcard(key);
          tally.push("events");
          break;
        case "evdata:":
          pipeline.hlen(key);
          tally.push("eventFields");
          break;
        case "cbs:":
          counts.callbackSets += 1;
          break;
        case "status:":
          pipeline.zcard(key);
          tally.push("statusIndex");
          break;
        case "ready":
          pipeline.zcard(key);
          tally.push("readyIndex");
          break;
        case "leased":
          pipeline.zcard(key);
          tally.push("leaseIndex");
          break;
        case "expiring":
          pipeline.zcard(key);
          tally.push("expiryIndex");
          break;
        case "created":
          pipeline.zcard(key);
          tally.push("createdIndex");
          break;
        case "seq":
          counts.eventSequence += 1;
          break;
        default:
          counts.other += 1;
      }
    }
    if (tally.length > 0) {
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([error, value], i) => {
        if (error) throw error;
        counts[tally[i]!] += Number(value);
      });
    }
  } while (cursor !== "0");
  return counts;
}
