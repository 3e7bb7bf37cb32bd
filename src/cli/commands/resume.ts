/**
 * `dtasks resume <callbackId> [json] [--error <message>]`: completes a `DTask.callback` wait with
 * a JSON value (or nothing), or with `--error` fails it, durably; a worker then runs the flow.
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { explained, finishChecks, operands } from "../host/args.js";
import { withHost } from "../host/open.js";
import { json } from "../host/render.js";
import { parseStore, STORE_HELP } from "../host/store.js";

interface ResumeOptions {
  error?: string;
  store?: string;
  json?: boolean;
}

export function resumeCommand(program: Command, context: CliContext): void {
  program
    .command("resume")
    .description("resume a flow waiting on DTask.callback: with a JSON value, or failed with --error")
    // Optional for commander, required by the action: so every problem is reported at once.
    .argument("[callbackId]", "the id the flow's DTask.callback callback was given")
    .argument("[json]", "the value, as JSON (for example '{\"approved\":true}'); none = undefined")
    .usage("<callbackId> [json] [--error <message>] [--json] [--store <store>]")
    .option("--error <message>", "fail the wait instead: the flow's await throws an Error with this message")
    .option("--store <store>", STORE_HELP)
    .option("--json", "print JSON: { callbackId, flowId }")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async function (this: Command) {
      const problems: string[] = [];
      const [callbackId, text] = operands(this, problems, {
        required: ["the <callbackId>"],
        optional: ["[json]"],
      });
      const o = this.opts<ResumeOptions>();
      let value: unknown;
      if (text !== undefined) {
        if (o.error !== undefined) problems.push("give a [json] value or --error, not both");
        try {
          value = JSON.parse(text);
        } catch (error) {
          problems.push(`[json] is not valid JSON (${(error as Error).message}); quote strings: '"yes"'`);
        }
      }
      const store = parseStore(o.store, context.cwd, problems);
      finishChecks(this, problems);
      await explained(() =>
        withHost(store!, context, { mustExist: true }, async (host) => {
          const { flowId } =
            o.error === undefined
              ? await host.resume(callbackId!, value)
              : await host.fail(callbackId!, new Error(o.error));
          if (o.json) context.stdout(json({ callbackId, flowId }));
          else
            context.stdout(
              `${o.error === undefined ? "resumed" : "failed"} callback ${callbackId} of flow ${flowId}; a worker will run it\n`,
            );
        }),
      );
    });
}
