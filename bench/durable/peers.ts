/**
 * The peer harness (`../shared/bench/peers`, read its README): DBOS Transact on PostgreSQL and
 * Restate, run here with the same workload sizes as dtasks, their `RESULT …` lines parsed.
 *
 * The harness folder is read-only (shared), so, as its README says for a read-only copy, it runs
 * from a writable copy of itself: `.bench-out/peers` (git-ignored), refreshed from the source at
 * every run (node_modules kept). `npm ci` runs in a peer's folder when its `node_modules` is
 * missing or was installed from another `package-lock.json`. The harness's `run-all.sh` is not
 * used: its `setup-services.sh` installs apt packages and sets the `postgres` user's password,
 * which is not the bench's business on a shared server. Each peer's `bench.mjs` is run directly,
 * with the PostgreSQL URLs pointed at the bench's server (`DTASKS_BENCH_PG`).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export type PeerId = "dbos" | "restate";
export const PEER_IDS: readonly PeerId[] = ["dbos", "restate"];

/** One `RESULT key=value …` line. */
export type PeerResult = Record<string, string>;

export interface PeerRun {
  /** Null when the run went through; otherwise why it did not (exit code, last lines of output). */
  error: string | null;
  results: PeerResult[];
  notes: string[];
  ms: number;
}

const SKIP = new Set(["node_modules", ".data", "results", ".wf-build", ".swc"]);

/** Copies `from` into `to` (writable), skipping installs and outputs; unchanged files are left alone. */
function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  chmodSync(to, statSync(to).mode | 0o700);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) copyTree(source, target);
    else if (entry.isFile()) {
      const content = readFileSync(source);
      const mode = (statSync(source).mode & 0o777) | 0o200;
      if (existsSync(target)) {
        chmodSync(target, statSync(target).mode | 0o200);
        if (!readFileSync(target).equals(content)) writeFileSync(target, content);
      } else writeFileSync(target, content);
      chmodSync(target, mode);
    }
  }
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number; onLine?: (line: string) => void },
): Promise<{
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}> {
  return new Promise((resolve) => {
    // Its own process group, so that a timeout also stops what it started (restate-server).
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    let timedOut = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) options.onLine?.(line);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, options.timeoutMs);
    child.on("error", (error) => {
      stderr += `\n${error.message}`;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (pending) options.onLine?.(pending);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function tail(text: string, lines = 6): string {
  return text
    .trim()
    .split("\n")
    .filter((line) => !/DeprecationWarning|--trace-deprecation/.test(line))
    .slice(-lines)
    .join(" ⏎ ");
}

export interface PeerSetup {
  dir: string;
  /** Peers that cannot run, with why (install failed, harness missing). */
  unavailable: Partial<Record<PeerId, string>>;
}

/** Copies the harness to `work` and installs the given peers. Never throws: failures are reported. */
export async function preparePeers(
  source: string,
  work: string,
  peers: readonly PeerId[],
  progress: (line: string) => void,
): Promise<PeerSetup> {
  const unavailable: PeerSetup["unavailable"] = {};
  if (!existsSync(join(source, "common", "harness.mjs"))) {
    for (const peer of peers) unavailable[peer] = `peer harness not found at ${source}`;
    return { dir: work, unavailable };
  }
  try {
    copyTree(source, work);
  } catch (error) {
    for (const peer of peers)
      unavailable[peer] = `could not copy the harness to ${work}: ${(error as Error).message}`;
    return { dir: work, unavailable };
  }
  for (const peer of peers) {
    const folder = join(work, peer);
    const lock = readFileSync(join(folder, "package-lock.json"));
    const stamp = createHash("sha256").update(lock).digest("hex");
    const stampFile = join(folder, "node_modules", ".dtasks-bench-lock");
    if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) continue;
    progress(`peers: npm ci in ${folder}`);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const installed = await run(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: folder,
      timeoutMs: 10 * 60_000,
    });
    if (installed.code !== 0) {
      unavailable[peer] =
        `npm ci failed (exit ${installed.code}${installed.timedOut ? ", timed out" : ""}): ${tail(installed.stderr)}`;
      continue;
    }
    writeFileSync(stampFile, stamp);
  }
  return { dir: work, unavailable };
}

export interface PeerSizes {
  w1Steps: number;
  w2Ns: number[];
  w3Count: number;
  w3Steps: number;
  workloads: string[];
}

/** Runs one peer's `bench.mjs` once (REPS=1: the bench interleaves rounds itself). */
export async function runPeer(dir: string, peer: PeerId, sizes: PeerSizes, pgUrl: string): Promise<PeerRun> {
  const admin = new URL(pgUrl);
  admin.pathname = "/postgres";
  const system = new URL(pgUrl);
  system.pathname = "/dbos_bench_sys"; // the harness drops and recreates exactly this database
  const workloads = sizes.workloads.filter((w) => w !== "W2" || sizes.w2Ns.length > 0);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REPS: "1",
    W1_STEPS: String(sizes.w1Steps),
    W2_NS: sizes.w2Ns.join(","),
    W2_SLEEP_MS: "1",
    W3_COUNT: String(sizes.w3Count),
    W3_STEPS: String(sizes.w3Steps),
    WORKLOADS: workloads.join(",") || "none",
    PG_ADMIN_URL: admin.href,
    DBOS_SYSTEM_DATABASE_URL: system.href,
    NODE_OPTIONS: "",
  };
  const began = performance.now();
  const results: PeerResult[] = [];
  const notes: string[] = [];
  const out = await run(process.execPath, ["bench.mjs"], {
    cwd: join(dir, peer),
    env,
    timeoutMs: 10 * 60_000,
    onLine(line) {
      if (line.startsWith("RESULT ")) results.push(parseResult(line));
      else if (line.startsWith("NOTE ")) notes.push(line.slice(5));
    },
  });
  const ms = performance.now() - began;
  let error: string | null = null;
  if (out.timedOut) error = `timed out after 10 min: ${tail(out.stderr || out.stdout)}`;
  else if (out.code !== 0)
    error = `bench.mjs exited with ${out.code ?? out.signal}: ${tail(`${out.stdout}\n${out.stderr}`)}`;
  return { error, results, notes, ms };
}

function parseResult(line: string): PeerResult {
  const result: PeerResult = {};
  for (const part of line.slice("RESULT ".length).split(" ")) {
    const eq = part.indexOf("=");
    if (eq > 0) result[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return result;
}
