/**
 * `dtasks run <file> [args…]`: runs a module's d-async function as a flow, with a worker in this
 * process, until the flow finishes; prints its result. The function is the module's default
 * export, or its `main` export; `args` are passed to it as strings (after `--` if they start with
 * a dash). The flow is durable: stopped with Ctrl-C while it waits, it stays in the store, and
 * `dtasks worker --import <file>` (here or elsewhere) finishes it.
 */
import type { Command } from "commander";
import type { DCall } from "../../core/dtask.js";
import type { CliContext } from "../context.js";
import { CommandFailure } from "../failure.js";
import { explained, finishChecks, integer, operands } from "../host/args.js";
import { checkModules, importModules } from "../host/modules.js";
import { openHost } from "../host/open.js";
import { json, show } from "../host/render.js";
import { displayPath, parseStore, STORE_HELP } from "../host/store.js";

interface RunOptions {
  id?: string;
  wait?: boolean;
  import?: string[];
  concurrency?: string;
  store?: string;
  json?: boolean;
}

type DAsyncExport = ((...args: unknown[]) => DCall<unknown>) & { descriptor: { id: string } };

export function runCommand(program: Command, context: CliContext): void {
  program
    .command("run")
    .description(
      "run a module's d-async function (default export or main) as a flow, with a worker, and print its result",
    )
    // Optional for commander, required by the action: so every problem is reported at once.
    .argument("[file]", "the module (.ts compiled on the fly)")
    .argument("[args...]", "arguments for the function, as strings (after -- when they start with -)")
    .usage("<file> [args...] [options]")
    .option("--id <id>", "the flow id (default: 128 random bits)")
    .option("--no-wait", "start the flow, print its id, and exit (a worker finishes it)")
    .option("--import <module...>", "other modules to load first")
    .option("-c, --concurrency <n>", "flows the worker runs at once, 1–1024 (default 8)")
    .option("--store <store>", STORE_HELP)
    .option("--json", "print JSON: { flowId, status, result | error }")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async function (this: Command) {
      const problems: string[] = [];
      const [file, ...args] = operands(this, problems, { required: ["the module <file>"], rest: true });
      const o = this.opts<RunOptions>();
      const modules = checkModules(o.import ?? [], context.cwd, problems);
      modules.push(...checkModules(file === undefined ? [] : [file], context.cwd, problems, "<file>"));
      const concurrency = integer(o.concurrency, "--concurrency", 1, 1024, problems);
      if (o.id !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(o.id)) {
        problems.push(`--id ${JSON.stringify(o.id)}: use 1–128 characters of A–Z, a–z, 0–9, _ and -`);
      }
      const store = parseStore(o.store, context.cwd, problems);
      finishChecks(this, problems);
      const loaded = await importModules(modules);
      const fn = entryPoint(loaded.at(-1)!, file!, context);
      await explained(async () => {
        const host = await openHost(store!, context, { mustExist: false });
        const worker =
          o.wait === false ? undefined : host.startWorker(concurrency === undefined ? {} : { concurrency });
        let interrupted = false;
        const onSignal = () => {
          interrupted = true;
          void worker?.stop();
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        try {
          const flow = await host.start(fn(...args), o.id === undefined ? {} : { id: o.id });
          if (o.wait === false) {
            context.stdout(o.json ? json({ flowId: flow.id, status: await flow.status() }) : `${flow.id}\n`);
            return;
          }
          if (!o.json) context.stderr(`flow ${flow.id} started (${fn.descriptor.id})\n`);
          const outcome = await Promise.race([
            flow.result().then(
              (result) => ({ status: "succeeded" as const, result }),
              (error: unknown) => ({ status: "failed" as const, error }),
            ),
            worker!.done.then(() => ({ status: "stopped" as const })),
          ]);
          if (outcome.status === "stopped" || interrupted) {
            // The flow is not lost: it waits in the store for any worker.
            const status = await flow.status();
            throw new CommandFailure(
              `stopped; flow ${flow.id} is ${status} in the store: \`dtasks worker --import ${displayPath(modules.at(-1)!, context.cwd)}\` finishes it`,
            );
          }
          if (outcome.status === "succeeded") {
            context.stdout(
              o.json
                ? json({ flowId: flow.id, status: "succeeded", result: outcome.result })
                : `${show(outcome.result)}\n`,
            );
            return;
          }
          const status = await flow.status();
          if (o.json) context.stdout(json({ flowId: flow.id, status, error: outcome.error }));
          throw new CommandFailure(
            `flow ${flow.id} ${status === "canceled" ? "was canceled" : "failed"}: ${show(outcome.error)}`,
          );
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          await worker?.stop();
          await host.close();
        }
      });
    });
}

function entryPoint(module: Record<string, unknown>, file: string, context: CliContext): DAsyncExport {
  const candidate = module.default ?? module.main;
  const isDAsync =
    typeof candidate === "function" && typeof (candidate as { descriptor?: unknown }).descriptor === "object";
  if (!isDAsync) {
    const what =
      candidate === undefined
        ? "exports neither a default nor a main function"
        : "exports a default/main that is not a d-async function";
    throw new CommandFailure(
      `${displayPath(file, context.cwd)} ${what}: export the flow to run, e.g. \`export default dasync(async function main() { … })\``,
    );
  }
  return candidate as DAsyncExport;
}
