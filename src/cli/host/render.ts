/**
 * How flow commands print: aligned tables and readable values for people, JSON for scripts.
 * Values read from snapshots may be Dates, Maps, BigInts or errors; both renderings keep them
 * recognizable rather than failing or printing `{}`.
 *
 * @module
 */
import { inspect } from "node:util";
import { DTask } from "../../core/dtask.js";

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** A value for people: like the REPL, on one line when short. */
export function show(value: unknown): string {
  // A DTask held in a local is shown as what it is, not as its internal fields.
  if (DTask.isDTask(value)) return describeTask(value);
  return inspect(value, { depth: 6, breakLength: 100, colors: false, compact: 3 });
}

/** `DTask(delay, suspended)`; a task decoded only as a reference has no status to show. */
function describeTask(task: DTask<unknown>): string {
  const kind =
    (task as { kind?: string }).kind ??
    (
      {
        DCall: "call",
        DelayTask: "delay",
        YieldTask: "yield",
        CallbackTask: "callback",
        CompletedTask: "completed",
      } as Record<string, string>
    )[task.constructor.name] ??
    task.constructor.name.replace(/Task$/, "").replace(/^./, (c) => c.toLowerCase());
  const status = (task as { _status?: string })._status;
  return status === undefined ? `DTask(${kind})` : `DTask(${kind}, ${status})`;
}

/** ISO time, or "-". */
export function time(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "-" : new Date(ms).toISOString().replace(".000Z", "Z");
}

/** JSON for scripts: Dates as ISO strings, Maps as objects or entry lists, Sets as arrays, errors as objects. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, replacer, 2)}\n`;
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) {
    const entries = [...value.entries()];
    return entries.every(([k]) => typeof k === "string") ? Object.fromEntries(entries) : entries;
  }
  if (value instanceof Set) return [...value];
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.cause !== undefined) out.cause = value.cause;
    if (value.stack) out.stack = value.stack;
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (value === undefined) return null;
  return value;
}
