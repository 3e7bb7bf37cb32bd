/**
 * The hand-written corpus: `test/compiler/corpus/<construct>.ts`, one module per construct. Each
 * module imports `dasync`/`DTask` from "dtasks" and `log` from `../harness/corpus-log.js`, defines
 * d-async functions, and exports `cases`:
 *
 * ```ts
 * export const cases: CorpusCase[] = [
 *   { name: "sums", run: () => main(3), expect: { value: 6, log: ["a", "b"] }, fresh: true },
 * ];
 * ```
 *
 * `run` starts the call (a DCall when compiled, a promise natively); `expect` is the native
 * behaviour (checked first, so the corpus also pins what JavaScript does), and the compiled run must
 * match the native one. `fresh: true` (or `fresh: n`) also resumes the case in a new Node process
 * from its first (n-th) durable wait (see differential/fresh.test.ts).
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO_ROOT } from "./run.js";

export interface CorpusCase {
  name: string;
  run: () => unknown;
  /** The native behaviour: `value` (compared with `show`) or `throws` (`Name: message`), and the log. */
  expect: { value?: unknown; throws?: string; log?: string[] };
  /** Chaos codec after ordinary awaits. @default "identity" */
  chaos?: "copy" | "identity";
  /** Also resume in a fresh process, from the first durable wait (or the n-th). */
  fresh?: boolean | number;
  /** Minimum number of durable suspensions the compiled run must go through. */
  suspensions?: number;
}

export const CORPUS_DIR = join(REPO_ROOT, "test/compiler/corpus");

/** Every corpus module, as paths relative to the repository root (regressions included). */
export function corpusFiles(dir = CORPUS_DIR): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...corpusFiles(path));
    else if (/\.ts$/.test(entry)) out.push(relative(REPO_ROOT, path));
  }
  return out;
}

export function readCorpus(file: string): string {
  return readFileSync(join(REPO_ROOT, file), "utf8");
}
