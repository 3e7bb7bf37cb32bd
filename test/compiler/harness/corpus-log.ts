/**
 * The side-effect log of corpus programs: a module-level list that a corpus module imports
 * (`import { log } from "../harness/corpus-log.js"`). The corpus runner empties it before each run;
 * in the fresh-process test each process reports what it logged.
 *
 * @module
 */

const entries: string[] = [];

export function log(...values: unknown[]): void {
  entries.push(values.map(String).join(" "));
}

/** The entries so far, emptying the log. */
export function takeLog(): string[] {
  return entries.splice(0, entries.length);
}
