/**
 * A claiming worker in its own process, for the SQLite multi-process tests. Opens the file given
 * as argv[2], prints "ready", waits for a line on stdin, then claims flows one at a time and
 * finishes each (result = its owner name) until there is nothing left, and prints the ids it
 * claimed as one JSON line.
 */
import { once } from "node:events";
import { sqliteStore } from "../../../src/store/sqlite/index.js";
import { claimUntilIdle } from "./claim-loop.js";

const [path, owner, nowText] = process.argv.slice(2);
if (!path || !owner || !nowText) throw new Error("usage: claimer.ts <db path> <owner> <now>");
const now = Number(nowText);
// Mutual exclusion is what is tested, not durability: skip the fsync per commit.
const store = sqliteStore({ path, busyTimeout: "20s", synchronous: "normal" });
process.stdout.write("ready\n");
await once(process.stdin, "data");

const claimed = await claimUntilIdle(store, owner, now);
process.stdout.write(`${JSON.stringify(claimed)}\n`);
await store.close();
