/** Running the CLI in process (fast, for every argument path) and as a child process (for real). */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/index.js";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
export const BOOTSTRAP = fileURLToPath(new URL("../setup/register.mjs", import.meta.url));
export const APP = fileURLToPath(new URL("./app/", import.meta.url));

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** `dtasks <args>` in this process, with its output captured. */
export async function cli(args: string[], cwd: string): Promise<CliRun> {
  let out = "";
  let err = "";
  const code = await main(args, {
    cwd,
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
  });
  return { code, out, err };
}

export interface CliChild {
  /** Lines of stdout so far. */
  lines: string[];
  stderr(): string;
  waitForLine(match: RegExp): Promise<string>;
  signal(name: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; out: string; err: string }>;
}

/** `dtasks <args>` as a child process under the development loader, in `cwd`. */
export function cliChild(args: string[], cwd: string): CliChild {
  const child = spawn(process.execPath, ["--conditions=source", "--import", BOOTSTRAP, BIN, ...args], {
    cwd,
  });
  const lines: string[] = [];
  let err = "";
  const waiters: { match: RegExp; resolve: (line: string) => void }[] = [];
  child.stderr.on("data", (chunk) => {
    err += chunk;
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    child.on("exit", (code) => setImmediate(() => resolve({ code, out: lines.join("\n"), err })));
  });
  return {
    lines,
    stderr: () => err,
    signal: (name) => child.kill(name),
    exited,
    waitForLine(match) {
      const found = lines.find((line) => match.test(line));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(({ code }) =>
          reject(
            new Error(
              `dtasks ${args.join(" ")} exited (${code}) before printing ${match}\nstdout: ${lines.join("\n")}\nstderr: ${err}`,
            ),
          ),
        );
      });
    },
  };
}
