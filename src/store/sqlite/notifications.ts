/**
 * Cross-process pub/sub over the `notifications` table. Publishing inserts a row (inside the
 * writing transaction when a store operation publishes, so a message about a commit exists iff
 * the commit does). While this store has subscribers, a timer checks `PRAGMA data_version`, which
 * changes only when another connection committed, and only then reads the rows it has not seen.
 * An idle poll therefore costs one pragma read and touches no table.
 *
 * @module
 */
import type { LocalBus } from "../shared/bus.js";
import type { NotificationRow, Statements } from "./statements.js";

export class NotificationPoller {
  readonly #statements: Statements;
  readonly #bus: LocalBus;
  readonly #origin: string;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | null = null;
  #lastSeq = 0;
  #lastVersion = 0;

  constructor(options: {
    statements: Statements;
    bus: LocalBus;
    origin: string;
    intervalMs: number;
    onError: (error: unknown) => void;
  }) {
    this.#statements = options.statements;
    this.#bus = options.bus;
    this.#origin = options.origin;
    this.#intervalMs = options.intervalMs;
    this.#onError = options.onError;
  }

  /**
   * Starts polling if it is not running. Rows already in the table are not delivered: only messages
   * committed after this call are (seq grows with commit order, since SQLite has one writer).
   */
  start(): void {
    if (this.#timer !== null) return;
    this.#lastVersion = this.#statements.dataVersion.get() as number;
    this.#lastSeq = this.#statements.lastNotification.get() as number;
    // unref: a process whose only work is waiting for a message may still exit.
    this.#timer = setInterval(() => this.poll(), this.#intervalMs).unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  get running(): boolean {
    return this.#timer !== null;
  }

  /** One check; public so that a test (or a caller that knows something changed) can force it. */
  poll(): void {
    if (this.#timer === null) return;
    try {
      const version = this.#statements.dataVersion.get() as number;
      if (version === this.#lastVersion) return;
      this.#lastVersion = version;
      const rows = this.#statements.newNotifications.all(this.#lastSeq) as NotificationRow[];
      for (const row of rows) {
        this.#lastSeq = row.seq;
        // This instance told its own listeners when it published.
        if (row.origin !== this.#origin) this.#bus.emit(row.channel, row.message);
      }
    } catch (error) {
      this.#onError(error);
    }
  }
}
