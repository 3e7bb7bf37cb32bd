/**
 * Private store servers that a test starts, crashes, restarts and removes itself, on free ports and
 * in temporary folders: the shared servers on 6379 and 5432 are never touched (other tests use
 * them). Starting fails loudly (an Error saying what is missing): a suite that needs a server
 * fails, it never skips.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";

const run = promisify(execFile);

export interface PrivateServer {
  readonly name: string;
  /** What `--store` to give the workers (with the suite's prefix or schema). */
  storeSpec(namespace: string): string;
  start(): Promise<void>;
  /** A crash: SIGKILL (Redis) or `pg_ctl stop -m immediate` (PostgreSQL). */
  crash(): Promise<void>;
  /** Crashes it if running and deletes its data. Safe to call more than once. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, "close");
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Servers to stop if this process ends without its `after` hooks (a timeout, a signal): each entry
 * stops one synchronously. A signal then ends the process as it would have.
 */
const running = new Set<() => void>();
let hooked = false;
function stopOnExit(stop: () => void): () => void {
  if (!hooked) {
    hooked = true;
    const stopAll = () => {
      for (const fn of running) fn();
      running.clear();
    };
    process.once("exit", stopAll);
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      process.once(signal, () => {
        stopAll();
        process.kill(process.pid, signal);
      });
    }
  }
  running.add(stop);
  return () => running.delete(stop);
}

/**
 * `redis-server` with the durability the docs recommend (append-only file, fsync at every write), so
 * that everything it acknowledged survives a crash.
 */
export class PrivateRedis implements PrivateServer {
  readonly name = "redis";
  readonly dir = mkdtempSync(join(tmpdir(), "dtasks-faults-redis-"));
  port = 0;
  #process: ChildProcess | null = null;
  #stderr = "";

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  storeSpec(prefix: string): string {
    return `${this.url}?prefix=${encodeURIComponent(prefix)}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", ""];
    args.push("--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no");
    args.push("--loglevel", "warning", "--maxmemory-policy", "noeviction");
    const child = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    this.#process = child;
    const forget = stopOnExit(() => child.kill("SIGKILL"));
    child.once("exit", forget);
    child.stderr!.on("data", (chunk) => {
      this.#stderr += chunk;
    });
    const failed = new Promise<never>((_, reject) => {
      child.once("error", (error) =>
        reject(new Error(`cannot start redis-server (is it installed?): ${error.message}`)),
      );
      child.once("exit", (code, signal) =>
        reject(
          new Error(`redis-server exited at start (${code ?? signal}) on port ${this.port}: ${this.#stderr}`),
        ),
      );
    });
    failed.catch(() => {});
    const probe = new Redis({
      port: this.port,
      host: "127.0.0.1",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on("error", () => {});
    try {
      for (let i = 0; ; i++) {
        try {
          await Promise.race([probe.connect().then(() => probe.ping()), failed]);
          return;
        } catch (error) {
          if (child.exitCode !== null || child.signalCode !== null || i > 400) {
            throw new Error(
              `redis-server did not start on port ${this.port}: ${String(error)} ${this.#stderr}`,
            );
          }
          probe.disconnect();
          await sleep(25);
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  async crash(): Promise<void> {
    const child = this.#process;
    this.#process = null;
    if (child === null) return;
    child.kill("SIGKILL");
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
  }

  async destroy(): Promise<void> {
    await this.crash();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A PostgreSQL cluster of the test's own (`initdb` in a temporary folder, `pg_ctl` on a free port,
 * its socket in that folder), with fsync on. As root, the server programs run as `postgres`.
 */
export class PrivatePostgres implements PrivateServer {
  readonly name = "postgres";
  readonly dir = mkdtempSync(join(tmpdir(), "dtasks-faults-pg-"));
  port = 0;
  #bin = "";
  #asPostgres = false;
  #initialized = false;
  #running = false;
  #forget: () => void = () => {};

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  storeSpec(schema: string): string {
    return `${this.url}?schema=${schema}`;
  }

  async #exec(command: string, args: string[]): Promise<void> {
    const file = join(this.#bin, command);
    try {
      // initdb and postgres refuse to run as root.
      if (this.#asPostgres) await run("runuser", ["-u", "postgres", "--", file, ...args]);
      else await run(file, args);
    } catch (error) {
      const e = error as Error & { stderr?: string; stdout?: string };
      throw new Error(
        `${command} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`,
      );
    }
  }

  async #init(): Promise<void> {
    try {
      this.#bin = (await run("pg_config", ["--bindir"])).stdout.trim();
    } catch (error) {
      throw new Error(`cannot find the PostgreSQL server programs (pg_config --bindir): ${String(error)}`);
    }
    this.#asPostgres = process.getuid?.() === 0;
    if (this.#asPostgres) await run("chown", ["postgres", this.dir]);
    this.port = await freePort();
    const args = ["-D", join(this.dir, "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"];
    await this.#exec("initdb", args);
    this.#initialized = true;
  }

  async start(): Promise<void> {
    if (!this.#initialized) await this.#init();
    const options =
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on ` +
      "-c max_connections=120 -c shared_buffers=32MB";
    await this.#exec("pg_ctl", [
      "-D",
      join(this.dir, "data"),
      "-o",
      options,
      "-l",
      join(this.dir, "log"),
      "-w",
      "start",
    ]);
    this.#running = true;
    this.#forget = stopOnExit(() => {
      const stop = [join(this.#bin, "pg_ctl"), "-D", join(this.dir, "data"), "-m", "immediate", "stop"];
      if (this.#asPostgres) spawnSync("runuser", ["-u", "postgres", "--", ...stop]);
      else spawnSync(stop[0]!, stop.slice(1));
      rmSync(this.dir, { recursive: true, force: true });
    });
    // Ready for connections (pg_ctl -w waits for that, but say so clearly if not).
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
    } finally {
      await client.end().catch(() => {});
    }
  }

  async crash(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#forget();
    await this.#exec("pg_ctl", ["-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"]);
  }

  async destroy(): Promise<void> {
    await this.crash().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}
