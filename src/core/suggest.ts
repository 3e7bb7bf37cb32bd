/**
 * "Did you mean": the known name nearest to a mistyped one. Every option check of dtasks (host,
 * stores, marshal, HTTP, compiler front-ends, CLI) asks here, so a typo is caught the same way
 * everywhere.
 *
 * @module
 */

/**
 * The name of `known` nearest to `word` (case-insensitive Levenshtein distance), if it is within
 * `maxDistance` edits: by default 2, or a third of the word's length for longer words.
 */
export function closest(
  word: string,
  known: readonly string[],
  maxDistance = Math.max(2, Math.floor(word.length / 3)),
): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of known) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, two rows. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
