/**
 * `dtasks show <id> [--import <module…>] [--json]`: one flow in full: status, timestamps,
 * metadata, lease, last error, result or error, and for a suspended flow every task with its
 * frames: the function, the await it is suspended at, and its live locals. The await locations and
 * variable names come from the code: pass the modules that define the flow's functions with
 * `--import` (without them, frames show the function ids, versions and slot names).
 */
import type { Command } from "commander";
import type { FlowInfo } from "../../host/index.js";
import type { CliContext } from "../context.js";
import { explained, finishChecks, operands } from "../host/args.js";
import { checkModules, importModules } from "../host/modules.js";
import { withHost } from "../host/open.js";
import { json, show, time } from "../host/render.js";
import { parseStore, STORE_HELP } from "../host/store.js";

interface ShowOptions {
  import?: string[];
  store?: string;
  json?: boolean;
}

export function showCommand(program: Command, context: CliContext): void {
  program
    .command("show")
    .description("show a flow: status, result or error, and where each of its tasks is suspended")
    // Optional for commander, required by the action: so every problem is reported at once.
    .argument("[id]", "the flow id")
    .usage("<id> [--import <module...>] [--json] [--store <store>]")
    .option(
      "--import <module...>",
      "modules defining the flow's d-async functions (for await locations and variable names)",
    )
    .option("--store <store>", STORE_HELP)
    .option("--json", "print JSON")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async function (this: Command) {
      const problems: string[] = [];
      const [id] = operands(this, problems, { required: ["the flow <id>"] });
      const o = this.opts<ShowOptions>();
      const modules = checkModules(o.import ?? [], context.cwd, problems);
      const store = parseStore(o.store, context.cwd, problems);
      finishChecks(this, problems);
      await importModules(modules);
      await explained(() =>
        withHost(store!, context, { mustExist: true }, async (host) => {
          const info = await host.get(id!);
          context.stdout(o.json ? json(info) : describe(info));
        }),
      );
    });
}

function describe(info: FlowInfo): string {
  const lines: string[] = [];
  const field = (name: string, value: string) => lines.push(`${name.padEnd(10)} ${value}`);
  field("flow", info.id);
  field("status", info.status);
  field("function", info.rootFunctionId);
  field("created", time(info.createdAt));
  field("updated", time(info.updatedAt));
  if (info.finishedAt !== null) field("finished", time(info.finishedAt));
  if (info.expiresAt !== null) field("expires", time(info.expiresAt));
  if (info.readyAt !== null)
    field("runnable", info.readyAt <= Date.now() ? `now (since ${time(info.readyAt)})` : time(info.readyAt));
  if (info.metadata !== null) field("metadata", show(info.metadata));
  if (info.lease !== null) {
    const expired = info.lease.expiresAt <= Date.now() ? ", expired" : "";
    field("lease", `${info.lease.owner} until ${time(info.lease.expiresAt)}${expired}`);
  }
  if (info.lastError !== null) {
    const { code, message, functionId } = info.lastError;
    field("last error", `${code}${functionId ? ` in ${functionId}` : ""}: ${message}`);
  }
  if (info.status === "succeeded") field("result", show(info.result));
  if (info.status === "faulted" || info.status === "canceled") field("error", show(info.error));
  for (const part of info.unreadable ?? []) field("unreadable", `${part.part}: ${part.code} ${part.message}`);
  // Tasks without frames are the leaves (a callback, a delay) that framed tasks wait on: their
  // `waitingOn` already names them. `--json` lists every task.
  for (const task of (info.tasks ?? []).filter((t) => t.frames.length > 0)) {
    lines.push("");
    lines.push(`task ${task.id}  ${task.status}${task.waitingOn ? `  waiting on ${task.waitingOn}` : ""}`);
    for (const frame of task.frames) {
      lines.push(`  ${frame.functionId}  (version ${frame.version})`);
      lines.push(
        frame.await
          ? `    at ${frame.await.loc}  ${frame.await.src}`
          : "    at (an await of code not loaded here: pass --import <module>)",
      );
      const locals = Object.entries(frame.locals);
      if (locals.length === 0) lines.push("    (no live locals)");
      for (const [name, value] of locals) lines.push(`    ${name} = ${show(value)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
