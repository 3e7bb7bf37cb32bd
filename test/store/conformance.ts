/**
 * The Store conformance suite: every engine runs exactly these tests (memory and SQLite here;
 * Redis and PostgreSQL against real servers). An engine's test file calls
 * `storeConformance(name, factory, features)` once.
 *
 * @example
 * storeConformance("sqlite", () => {
 *   const path = tempFile();
 *   return { store: sqliteStore({ path }), connect: () => sqliteStore({ path }), dispose: () => rm(path) };
 * }, { connections: true });
 *
 * @module
 */
import { describe } from "node:test";
import { claimTests } from "./conformance/claims.js";
import { commitTests } from "./conformance/commits.js";
import { eventTests } from "./conformance/events.js";
import type { StoreFactory, StoreFeatures } from "./conformance/harness.js";
import { lifecycleTests } from "./conformance/lifecycle.js";
import { listingTests } from "./conformance/listing.js";
import { pubsubTests } from "./conformance/pubsub.js";
import { retentionTests } from "./conformance/retention.js";

export type { StoreFactory, StoreFeatures, StoreHarness } from "./conformance/harness.js";

/** Registers the whole suite for one engine under `describe(name)`. */
export function storeConformance(name: string, factory: StoreFactory, features: StoreFeatures): void {
  describe(`${name} store conformance`, () => {
    describe("flows and commits", () => commitTests(factory));
    describe("claims and leases", () => claimTests(factory));
    describe("events", () => eventTests(factory));
    describe("listing", () => listingTests(factory));
    describe("notifications", () => pubsubTests(factory, features));
    describe("retention", () => retentionTests(factory));
    describe("lifecycle", () => lifecycleTests(factory));
  });
}
