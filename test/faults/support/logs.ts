/** The log files worker processes append to (see `worker.ts`), read as they grow. */
import { closeSync, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import type { FlowStatus } from "../../../src/core/store.js";

/** One line of a worker's log. */
export interface LogLine {
  /** A flow's side effect: the flow's key, what happened, a number that goes with it. */
  k?: string;
  e?: string;
  n?: number;
  /** An acknowledged commit that finished flow `fin` with status `s` at revision `r`. */
  fin?: string;
  s?: FlowStatus;
  r?: number;
  /** A commit or renewal of flow `lost` refused (DT401) during `op`. */
  lost?: string;
  op?: string;
  /** An error the host reported (its code), during `op`. */
  err?: string;
  msg?: string;
}

/** A line with the process that wrote it. */
export type Logged = LogLine & { pid: number };

/** Tails every `<pid>.log` file of a folder, line by line (a partial last line waits for its end). */
export class LogTail {
  /** Every line so far. */
  readonly lines: Logged[] = [];
  readonly #offsets = new Map<string, number>();

  constructor(
    readonly dir: string,
    private readonly onLine: (line: Logged) => void = () => {},
  ) {}

  /** Reads what was appended since the last call; returns the new lines. */
  poll(): Logged[] {
    const fresh: Logged[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".log")) continue;
      const offset = this.#offsets.get(name) ?? 0;
      const fd = openSync(join(this.dir, name), "r");
      let text: string;
      try {
        const size = fstatSync(fd).size;
        if (size <= offset) continue;
        const buffer = Buffer.alloc(size - offset);
        readSync(fd, buffer, 0, buffer.length, offset);
        text = buffer.toString("utf8");
      } finally {
        closeSync(fd);
      }
      const end = text.lastIndexOf("\n");
      if (end < 0) continue;
      this.#offsets.set(name, offset + Buffer.byteLength(text.slice(0, end + 1)));
      const pid = Number.parseInt(name, 10);
      for (const text_ of text.slice(0, end).split("\n")) {
        const line: Logged = { ...(JSON.parse(text_) as LogLine), pid };
        this.lines.push(line);
        fresh.push(line);
        this.onLine(line);
      }
    }
    return fresh;
  }
}
