/**
 * `dtasks cancel <id>`: asks for a flow to be canceled. A worker applies it: the flow's durable
 * waits reject with DTaskCanceledError at their awaits and its `finally` blocks run.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { explained, finishChecks, operands } from "../host/args.js";
import { withHost } from "../host/open.js";
import { json } from "../host/render.js";
import { parseStore, STORE_HELP } from "../host/store.js";

const SAID = {
  requested: (id: string) => `cancel requested for flow ${id}; a worker will apply it`,
  pending: (id: string) => `a cancel request for flow ${id} is already waiting for a worker`,
  finished: (id: string) => `flow ${id} had already finished; nothing to cancel`,
};

export function cancelCommand(program: Command, context: CliContext): void {
  program
    .command("cancel")
    .description(
      "cancel a flow (a worker applies it: its waits throw DTaskCanceledError, finally blocks run)",
    )
    // Optional for commander, required by the action: so every problem is reported at once.
    .argument("[id]", "the flow id")
    .usage("<id> [--json] [--store <store>]")
    .option("--store <store>", STORE_HELP)
    .option("--json", "print JSON: { flowId, outcome }")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async function (this: Command) {
      const problems: string[] = [];
      const [id] = operands(this, problems, { required: ["the flow <id>"] });
      const o = this.opts<{ store?: string; json?: boolean }>();
      const store = parseStore(o.store, context.cwd, problems);
      finishChecks(this, problems);
      await explained(() =>
        withHost(store!, context, { mustExist: true }, async (host) => {
          const { outcome } = await host.cancel(id!);
          context.stdout(o.json ? json({ flowId: id, outcome }) : `${SAID[outcome](id!)}\n`);
        }),
      );
    });
}
