/** Child processes under the development loader, read line by line as JSON events. */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const BOOTSTRAP = fileURLToPath(new URL("../../setup/register.mjs", import.meta.url));

export interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Every JSON line so far. */
  lines: Record<string, unknown>[];
  /** Resolves with the first line (past or future) that matches. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function spawnTs(script: string, args: string[], cwd = REPO): Child {
  const child = spawn(process.execPath, ["--conditions=source", "--import", BOOTSTRAP, script, ...args], {
    cwd,
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout }).on("line", (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text);
    } catch {
      line = { text };
    }
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  return {
    process: child,
    lines,
    exited,
    stderr: () => stderr,
    waitFor(match) {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(({ code, signal }) =>
          reject(
            new Error(
              `child exited (${code ?? signal}) before the expected line\nstderr: ${stderr}\nstdout: ${JSON.stringify(lines)}`,
            ),
          ),
        );
      });
    },
  };
}
