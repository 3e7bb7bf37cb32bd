/**
 * The seed of the suite's property tests. `npm test` checks the same generated inputs on every
 * run, so a landing never passes or fails on the draw; exploring new inputs is a separate,
 * deliberate run: `DTASKS_FC_SEED=random` (or any number) with `DTASKS_FC_RUNS` for how many.
 * Every failure prints its seed and path, so what an exploration finds becomes a fixed regression.
 *
 * @module
 */

/** The suite's seed (the day the CI lost a landing to a random draw). */
export const SUITE_SEED = 20261126;

export function propertySeed(): number {
  const raw = process.env.DTASKS_FC_SEED;
  if (raw === undefined || raw === "") return SUITE_SEED;
  if (raw === "random") return (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`DTASKS_FC_SEED must be an integer or "random", not ${raw}`);
  return seed;
}
