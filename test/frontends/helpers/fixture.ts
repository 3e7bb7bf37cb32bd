/**
 * Temporary copies of the front-end fixture app, and ways to run Node on them. Each copy lives
 * in the OS temp folder with a `node_modules/dtasks` link to this checkout, so the fixture
 * imports `dtasks` as an application would (through the `source` export condition, since the
 * checkout is not built).
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "");
export const BOOTSTRAP = join(REPO, "test/setup/register.mjs");
const FIXTURE = fileURLToPath(new URL("../fixtures/app", import.meta.url));

/** A fresh temp folder; remove it with {@link removeDir}. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `dtasks-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface FixtureOptions {
  /** What `node_modules/dtasks` links to. @default this checkout */
  dtasks?: string;
  /** The stack driver module the fixture imports. @default this checkout's `src/runtime/local.js` */
  driver?: string;
}

/** Copies the fixture app into a new temp folder, with `dtasks` and its dependencies linked in. */
export function copyFixture(prefix: string, options: FixtureOptions = {}): string {
  const dir = tempDir(prefix);
  cpSync(FIXTURE, dir, { recursive: true });
  const driver = options.driver ?? join(REPO, "src/runtime/local.js");
  for (const name of readdirSync(join(dir, "src"))) {
    const path = join(dir, "src", name);
    writeFileSync(path, readFileSync(path, "utf8").replaceAll("__DTASKS_DRIVER__", driver));
  }
  // An installed app: dtasks and, beside it, its dependencies (and this checkout's tools).
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(options.dtasks ?? REPO, join(dir, "node_modules", "dtasks"), "dir");
  for (const name of readdirSync(join(REPO, "node_modules"))) {
    if (!name.startsWith("."))
      symlinkSync(join(REPO, "node_modules", name), join(dir, "node_modules", name), "dir");
  }
  return dir;
}

/** Writes files (path relative to `dir` → text), creating folders. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <args>` in `cwd`. */
export function node(cwd: string, args: string[]): Run {
  const result = spawnSync(process.execPath, args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a file through the dtasks loader (the repository's development bootstrap of `dtasks/register`). */
export function nodeWithLoader(cwd: string, args: string[]): Run {
  return node(cwd, ["--conditions=source", "--import", BOOTSTRAP, ...args]);
}

/** The one JSON line a fixture run prints; fails with the whole output when there is none. */
export function jsonOf(run: Run): any {
  const line = run.stdout.trim().split("\n").at(-1);
  try {
    return JSON.parse(line ?? "");
  } catch {
    throw new Error(
      `expected a JSON line, got status ${run.status}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
    );
  }
}
