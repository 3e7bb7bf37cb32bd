/**
 * One claimer of the multi-process store tests: claims flows and finishes each (result = `owner`)
 * until three claims in a row find nothing, and says which flows it finished. Used by the test
 * processes and by their child processes alike, so every engine's test exercises the same loop.
 */
import type { Store } from "../../../src/core/store.js";

export interface ClaimLoopOptions {
  /** How many flows to ask for, given how many were claimed so far. @default 1 */
  limit?: (claimedSoFar: number) => number;
}

export async function claimUntilIdle(
  store: Store,
  owner: string,
  now: number,
  { limit = () => 1 }: ClaimLoopOptions = {},
): Promise<string[]> {
  const claimed: string[] = [];
  for (let idle = 0; idle < 3; ) {
    const batch = await store.claim({ owner, leaseMs: 600_000, limit: limit(claimed.length), now });
    if (batch.length === 0) {
      idle += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      continue;
    }
    idle = 0;
    for (const flow of batch) {
      claimed.push(flow.id);
      await store.commit({
        flowId: flow.id,
        revision: flow.revision,
        leaseToken: flow.lease.token,
        now,
        status: "succeeded",
        result: owner,
      });
    }
    // On a synchronous store the loop never waits otherwise: let other work of this process run.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return claimed;
}
