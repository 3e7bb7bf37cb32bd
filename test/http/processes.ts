/**
 * Child processes of the cross-process tests and of the sample tests: spawned with this
 * repository's loader (as `npm run` does), their output collected and waited on by pattern, and
 * always stopped.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));

export interface ServerProcess {
  url: string;
  pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

export function spawnServer(
  db: string,
  kind: string,
  worker: boolean,
  instance: string,
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "./test/setup/register.mjs",
      "test/http/children/server.ts",
      db,
      kind,
      worker ? "yes" : "no",
      instance,
    ],
    { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`server ${kind}/${instance} did not start`));
    }, 60_000);
    child.once("exit", (code) => reject(new Error(`server ${kind}/${instance} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const url = /^READY (\S+)/.exec(line)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url, pid: child.pid!, stop });
      }
    });
  });
}

export interface Child {
  lines: string[];
  /** Resolves with the first match of `pattern` in a line (past or future). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM (SIGKILL after 10 s); resolves with the exit code. */
  stop(): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

const running = new Set<Child>();

/** Stops every child still running (call it in `after`). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop()));
}

export function start(script: string, args: string[], env: Record<string, string> = {}): Child {
  const proc: ChildProcess = spawn(
    process.execPath,
    ["--conditions=source", "--import", "./test/setup/register.mjs", script, ...args],
    { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const onLine = (line: string) => {
    lines.push(line);
    if (process.env.DTASKS_TEST_VERBOSE) console.log(line);
    for (const listener of [...listeners]) listener();
  };
  createInterface({ input: proc.stdout! }).on("line", onLine);
  createInterface({ input: proc.stderr! }).on("line", (line) => onLine(`stderr: ${line}`));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const child: Child = {
    lines,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (const line of lines) {
            const match = pattern.exec(line);
            if (match) {
              done();
              resolve(match);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${script}: no line matched ${pattern} in ${timeoutMs} ms:\n${lines.join("\n")}`));
        }, timeoutMs);
        const onExit = () => {
          if (check()) return;
          done();
          reject(new Error(`${script} exited before a line matched ${pattern}:\n${lines.join("\n")}`));
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(listener);
          proc.off("exit", onExit);
        };
        const listener = () => void check();
        if (check()) return;
        listeners.add(listener);
        proc.once("exit", onExit);
      });
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
      return proc.exitCode;
    },
  };
  running.add(child);
  void exited.then(() => running.delete(child));
  return child;
}

/** A free port on 127.0.0.1. */
export { freePort } from "../faults/support/servers.js";

export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 30_000,
): Promise<Exclude<T, undefined | false | null>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null)
      return value as Exclude<T, undefined | false | null>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
