/**
 * `dtasks ls [--status <status…>] [--limit <n>] [--after <cursor>] [--json]`: the flows of a store,
 * newest first, one line each: id, status, function, when it was created and last changed, what
 * it waits for (the next wake-up, or a lease held now), and the code of its last error.
 */
import type { Command } from "commander";
import { FLOW_STATUSES, type FlowStatus, type FlowSummary } from "../../core/store.js";
import type { CliContext } from "../context.js";
import { explained, finishChecks, integer, operands } from "../host/args.js";
import { withHost } from "../host/open.js";
import { json, table, time } from "../host/render.js";
import { parseStore, STORE_HELP } from "../host/store.js";

interface LsOptions {
  status?: string[];
  limit?: string;
  after?: string;
  store?: string;
  json?: boolean;
}

export function lsCommand(program: Command, context: CliContext): void {
  program
    .command("ls")
    .description("list flows, newest first")
    .option("-s, --status <status...>", `only flows in these statuses (${FLOW_STATUSES.join(", ")})`)
    .option("-n, --limit <n>", "at most this many flows, 1–1000 (default 50)")
    .option("--after <cursor>", "the next page (its cursor is printed under a full page)")
    .option("--store <store>", STORE_HELP)
    .option("--json", "print JSON: { flows, next }")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async function (this: Command) {
      const problems: string[] = [];
      operands(this, problems, { required: [] });
      const o = this.opts<LsOptions>();
      const statuses = (o.status ?? []).flatMap((s) => s.split(","));
      for (const status of statuses) {
        if (!FLOW_STATUSES.includes(status as FlowStatus)) {
          problems.push(`--status ${status} is not a flow status; use ${FLOW_STATUSES.join(", ")}`);
        }
      }
      const limit = integer(o.limit, "--limit", 1, 1000, problems) ?? 50;
      const store = parseStore(o.store, context.cwd, problems);
      finishChecks(this, problems);
      await explained(() =>
        withHost(store!, context, { mustExist: true }, async (host) => {
          const page = await host.list({
            limit,
            ...(statuses.length > 0 ? { status: statuses as FlowStatus[] } : {}),
            ...(o.after === undefined ? {} : { after: o.after }),
          });
          if (o.json) {
            context.stdout(json(page));
            return;
          }
          if (page.flows.length === 0) {
            context.stdout(statuses.length > 0 ? `no ${statuses.join(" or ")} flows\n` : "no flows\n");
            return;
          }
          context.stdout(
            table(["ID", "STATUS", "FUNCTION", "CREATED", "UPDATED", "NEXT", "ERROR"], page.flows.map(row)),
          );
          if (page.next !== null) context.stdout(`more: dtasks ls --after ${page.next}\n`);
        }),
      );
    });
}

function row(flow: FlowSummary): string[] {
  return [
    flow.id,
    flow.status,
    flow.rootFunctionId,
    time(flow.createdAt),
    time(flow.updatedAt),
    next(flow),
    flow.lastError?.code ?? "",
  ];
}

/** What the flow waits for, in a few characters. */
function next(flow: FlowSummary): string {
  if (flow.lease !== null && flow.lease.expiresAt > Date.now()) return `running on ${flow.lease.owner}`;
  if (flow.status === "succeeded" || flow.status === "faulted" || flow.status === "canceled") return "-";
  if (flow.readyAt === null) return "callback";
  return flow.readyAt <= Date.now() ? "now" : time(flow.readyAt);
}
