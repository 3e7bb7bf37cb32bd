/**
 * `dtasks worker [--import <module…>] [--manifest <file>] [--concurrency <n>]`: a long-running
 * worker on the store: it runs due flows (timers, yields, resumes, cancel requests) and recovers
 * those whose worker died. It runs the d-async functions of the modules it loads: `--import` them
 * (TypeScript is compiled on the fly), or give the `dtasks-manifest.json` of a `dtasks build`.
 * SIGINT or SIGTERM stops it gracefully (runs in progress finish or are handed back); a second
 * signal exits at once.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { CommandFailure } from "../failure.js";
import { duration, explained, finishChecks, integer, operands } from "../host/args.js";
import { checkModules, importModules } from "../host/modules.js";
import { openHost } from "../host/open.js";
import { describeStore, parseStore, STORE_HELP } from "../host/store.js";

interface WorkerCommandOptions {
  import?: string[];
  manifest?: string;
  concurrency?: string;
  lease?: string;
  poll?: string;
  store?: string;
}

export function workerCommand(program: Command, context: CliContext): void {
  program
    .command("worker")
    .description("run due flows until stopped (SIGINT/SIGTERM: graceful stop)")
    .option("--import <module...>", "modules defining the d-async functions to run (.ts compiled on the fly)")
    .option("--manifest <file>", "a dtasks-manifest.json from `dtasks build`: import every module it lists")
    .option("-c, --concurrency <n>", "flows run at once, 1–1024 (default 8)")
    .option("--lease <duration>", "lease of each claimed flow, renewed while it runs (default 30s)")
    .option("--poll <duration>", "longest sleep without a work notification (default 1s)")
    .option("--store <store>", STORE_HELP)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async function (this: Command) {
      const problems: string[] = [];
      operands(this, problems, { required: [] });
      const o = this.opts<WorkerCommandOptions>();
      const modules = checkModules(o.import ?? [], context.cwd, problems);
      if (o.manifest !== undefined) modules.push(...manifestModules(o.manifest, context.cwd, problems));
      const concurrency = integer(o.concurrency, "--concurrency", 1, 1024, problems);
      const leaseMs = duration(o.lease, "--lease", problems);
      const pollMs = duration(o.poll, "--poll", problems);
      if (leaseMs !== undefined && leaseMs < 100) problems.push("--lease must be at least 100ms");
      const store = parseStore(o.store, context.cwd, problems);
      finishChecks(this, problems);
      await importModules(modules);
      await explained(async () => {
        const host = await openHost(store!, context, { mustExist: false });
        const worker = host.startWorker({
          ...(concurrency === undefined ? {} : { concurrency }),
          ...(leaseMs === undefined ? {} : { leaseDuration: leaseMs }),
          ...(pollMs === undefined ? {} : { pollInterval: pollMs }),
        });
        context.stdout(
          `worker ${worker.id} on ${describeStore(store!, context.cwd)} (${modules.length} module${modules.length === 1 ? "" : "s"} loaded); Ctrl-C to stop\n`,
        );
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          if (++signals > 1) process.exit(130);
          context.stdout(`${signal}: stopping (finishing runs in progress; again to exit at once)\n`);
          void worker.stop();
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        try {
          await worker.done;
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          await host.close();
        }
        if (worker.state === "failed")
          throw new CommandFailure(`the worker failed: ${worker.error?.message}`);
        context.stdout("worker stopped\n");
      });
    });
}

/** The compiled modules a build manifest lists, relative to the manifest's folder. */
function manifestModules(path: string, cwd: string, problems: string[]): string[] {
  const file = resolve(cwd, path);
  let manifest: { dtasksManifest?: unknown; functions?: Record<string, { module?: unknown }> };
  try {
    manifest = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    problems.push(`--manifest ${path}: cannot read it (${(error as Error).message})`);
    return [];
  }
  if (
    manifest.dtasksManifest !== 1 ||
    typeof manifest.functions !== "object" ||
    manifest.functions === null
  ) {
    problems.push(`--manifest ${path} is not a dtasks-manifest.json written by \`dtasks build\``);
    return [];
  }
  const modules = new Set<string>();
  for (const fn of Object.values(manifest.functions))
    if (typeof fn.module === "string") modules.add(fn.module);
  return checkModules([...modules], dirname(file), problems, `--manifest ${path} lists`);
}
