/**
 * The store's LISTEN connection: one dedicated client (never a pool connection: a pool recycles
 * idle clients, and a LISTEN lives as long as its session), opened on the first subscription.
 *
 * - `listen(channel)` resolves once the server has executed `LISTEN` for it, so a message committed
 *   after that is delivered (the contract's "subscribe, then read, then wait").
 * - Notifications carry `<origin>:<message>`; this store's own are skipped (it told its listeners
 *   when it published), the others go to the local bus under the store channel name.
 * - When the connection drops (server restart, `pg_terminate_backend`, network), it reconnects
 *   with back-off (50 ms doubling to 5 s, timers `unref()`ed), runs `LISTEN` again for every
 *   channel, and then calls `onReconnect` so the store can replay what may have been missed.
 * - The socket is unref'd while idle (a process whose only work is listening may exit, as with the
 *   SQLite poller), and ref'd while a LISTEN/UNLISTEN is in flight.
 *
 * @module
 */
import type { Client } from "pg";
import type { LocalBus } from "../shared/bus.js";

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 5_000;

interface Entry {
  /** The store channel (what listeners subscribed to). */
  channel: string;
  /** Subscriptions that need it: UNLISTEN when the last one goes. */
  refs: number;
  /** Settles when the LISTEN for it has run (or failed). */
  listening: Promise<void>;
}

export interface ListenerOptions {
  /** Opens a new, connected client. */
  connect: () => Promise<Client>;
  /** The PostgreSQL channel of a store channel. */
  pgChannel: (channel: string) => string;
  /** This store instance's origin: its own notifications are skipped. */
  origin: string;
  bus: LocalBus;
  /** Called after a reconnect re-established every LISTEN, with the store channels listened to. */
  onReconnect: (channels: string[]) => Promise<void>;
  /** Reports a problem nobody awaits (a dropped connection, a failed reconnect). */
  warn: (message: string, error?: unknown) => void;
}

export class NotificationListener {
  readonly #options: ListenerOptions;
  /** PostgreSQL channel → entry. */
  readonly #entries = new Map<string, Entry>();
  #client: Client | null = null;
  #connecting: Promise<Client> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryMs = FIRST_RETRY_MS;
  /** True once a connection was lost: the next successful connect is a reconnect. */
  #lost = false;
  #inFlight = 0;
  /** Per client, the last batch of LISTEN/UNLISTEN statements queued on it. */
  readonly #queues = new WeakMap<Client, Promise<void>>();
  /** Per client, the batch still open for more statements (not sent yet). */
  readonly #batches = new WeakMap<Client, { texts: string[]; done: Promise<void> }>();
  #closed = false;

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  /** Whether a LISTEN connection is up right now (for tests and diagnostics). */
  get connected(): boolean {
    return this.#client !== null;
  }

  /** The server process id of the LISTEN connection, if up (for tests and diagnostics). */
  get processId(): number | null {
    return (this.#client as { processID?: number } | null)?.processID ?? null;
  }

  /**
   * Starts listening on `channel` for one more subscription; resolves once the server listens (if
   * the connection is down, once it is back). Rejects, taking nothing, if it cannot connect.
   * Every successful call is paired with one {@link unlisten}.
   */
  async listen(channel: string): Promise<void> {
    const name = this.#options.pgChannel(channel);
    let entry = this.#entries.get(name);
    if (entry === undefined) {
      const fresh: Entry = {
        channel,
        refs: 0,
        // Queued at once when connected, so a LISTEN is never sent after a later UNLISTEN.
        listening:
          this.#client !== null
            ? this.#run(this.#client, `LISTEN ${name}`)
            : this.#ensureClient().then((client) => this.#run(client, `LISTEN ${name}`)),
      };
      // Never an unhandled rejection: the callers below see it.
      fresh.listening.catch(() => {});
      this.#entries.set(name, (entry = fresh));
    }
    entry.refs++;
    try {
      await entry.listening;
      // Listened once, but the connection may be down now: wait until it is back (it re-LISTENs).
      if (this.#client === null) await this.#ensureClient();
    } catch (error) {
      this.#release(name, entry);
      throw error;
    }
  }

  /** Ends one subscription of `channel`; the last one stops listening (best effort). */
  unlisten(channel: string): void {
    const name = this.#options.pgChannel(channel);
    const entry = this.#entries.get(name);
    if (entry !== undefined) this.#release(name, entry);
  }

  #release(name: string, entry: Entry): void {
    if (--entry.refs > 0 || this.#entries.get(name) !== entry) return;
    this.#entries.delete(name);
    const client = this.#client;
    if (client !== null) this.#run(client, `UNLISTEN ${name}`).catch(() => {});
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const client = this.#client ?? (await this.#connecting?.catch(() => null)) ?? null;
    this.#client = null;
    if (client !== null) await client.end().catch(() => {});
  }

  /**
   * Runs a LISTEN/UNLISTEN with the socket ref'd, so the process waits for it. One query at a time
   * per client (pg deprecates, and pg@9 refuses, a query issued while another is running), and the
   * statements that arrive meanwhile go together in the next one ("LISTEN a; UNLISTEN b; …", in
   * order): a thousand `flow.result()` calls started at once cost a few round trips on this
   * connection, not a thousand LISTENs and then a thousand UNLISTENs one after the other.
   */
  #run(client: Client, text: string): Promise<void> {
    let batch = this.#batches.get(client);
    if (batch === undefined) {
      const texts: string[] = [];
      const previous = this.#queues.get(client) ?? Promise.resolve();
      const done = previous.then(async () => {
        // Sent from here on: what comes next goes into the next batch.
        if (this.#batches.get(client) === batch) this.#batches.delete(client);
        if (this.#inFlight++ === 0) setRef(client, true);
        try {
          await client.query(texts.join("; "));
        } finally {
          if (--this.#inFlight === 0) setRef(client, false);
        }
      });
      batch = { texts, done };
      this.#batches.set(client, batch);
      // The next batch waits for this one to settle, whatever its outcome.
      this.#queues.set(
        client,
        done.catch(() => {}),
      );
    }
    batch.texts.push(text);
    return batch.done;
  }

  #ensureClient(): Promise<Client> {
    if (this.#client !== null) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(): Promise<Client> {
    if (this.#closed) throw new Error("the listener is closed");
    const client = await this.#options.connect();
    let gone = false;
    const onGone = (error?: Error) => {
      if (gone) return;
      gone = true;
      this.#onLost(client, error);
    };
    client.on("error", onGone);
    client.on("end", () => onGone());
    client.on("notification", (n) => this.#onNotification(n.channel, n.payload));
    setRef(client, false);
    try {
      // After a loss, LISTEN again to every channel. (On a first connection each channel's own
      // LISTEN is already waiting for this client.)
      const names = this.#lost ? [...this.#entries.keys()] : [];
      if (names.length > 0) await this.#run(client, names.map((n) => `LISTEN ${n}`).join("; "));
    } catch (error) {
      gone = true;
      await client.end().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      gone = true;
      await client.end().catch(() => {});
      throw new Error("the listener is closed");
    }
    this.#client = client;
    this.#retryMs = FIRST_RETRY_MS;
    if (this.#lost) {
      this.#lost = false;
      const channels = [...this.#entries.values()].map((e) => e.channel);
      this.#options
        .onReconnect(channels)
        .catch((error) => this.#options.warn("could not replay announcements after reconnecting", error));
    }
    return client;
  }

  #onNotification(name: string, payload: string | undefined): void {
    const entry = this.#entries.get(name);
    if (entry === undefined || payload === undefined) return;
    const colon = payload.indexOf(":");
    if (colon < 0 || payload.slice(0, colon) === this.#options.origin) return;
    this.#options.bus.emit(entry.channel, payload.slice(colon + 1));
  }

  #onLost(client: Client, error: Error | undefined): void {
    if (this.#client !== client) return;
    this.#client = null;
    client.end().catch(() => {});
    if (this.#closed) return;
    if (this.#entries.size > 0) {
      this.#lost = true;
      this.#options.warn("the LISTEN connection was lost; reconnecting", error);
      this.#scheduleReconnect();
    }
  }

  #scheduleReconnect(): void {
    if (this.#retryTimer !== null || this.#closed) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    // unref: a process with nothing else to do may exit while the server is away.
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#closed || this.#client !== null || this.#entries.size === 0) return;
      this.#ensureClient().catch(() => this.#scheduleReconnect());
    }, delay).unref();
  }
}

/** ref()/unref() the client's socket (public on pg's Client, missing from its types). */
function setRef(client: Client, on: boolean): void {
  const c = client as Client & { ref?: () => void; unref?: () => void };
  try {
    if (on) c.ref?.();
    else c.unref?.();
  } catch {
    // The socket is gone; the 'end' handler deals with it.
  }
}
