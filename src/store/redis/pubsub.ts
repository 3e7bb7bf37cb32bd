/**
 * Cross-process pub/sub over Redis: one subscriber connection per store, opened on the first
 * `subscribe` (a connection in subscriber mode can send nothing else). Every message on the wire is
 * `<origin>:<message>` on the channel `<prefix><channel>`; the origin identifies the publishing
 * store instance, which told its own listeners when it published, so its echo is dropped here.
 *
 * The server keeps subscriptions per connection. This class keeps the wanted set itself (with
 * ioredis' `autoResubscribe` off), subscribes again after a reconnection, and only then gives the
 * work channel's listeners a wake-up: messages published while the connection was down are lost
 * (pub/sub is not durable), so idle workers look for work once instead of waiting for the next one.
 *
 * @module
 */
import type { Redis } from "ioredis";
import { WORK_CHANNEL } from "../../core/store.js";
import type { LocalBus } from "../shared/bus.js";

/** Origins are 12 base64url characters (9 random bytes). */
const TAGGED = /^[A-Za-z0-9_-]{12}:/;

export class Subscriber {
  readonly #open: () => Redis;
  readonly #channelPrefix: string;
  readonly #origin: string;
  readonly #bus: LocalBus;
  #connection: Redis | null = null;
  /** Listener count per channel (the bus holds the listeners themselves). */
  readonly #wanted = new Map<string, number>();
  /** Channels subscribed on the current connection. */
  readonly #active = new Set<string>();
  /** Per channel, the last SUBSCRIBE/UNSUBSCRIBE change, so that changes never interleave. */
  readonly #chains = new Map<string, Promise<void>>();
  /** Bumped on every disconnection: a reply from an older connection proves nothing. */
  #epoch = 0;
  #everReady = false;
  #closed = false;

  constructor(options: { open: () => Redis; channelPrefix: string; origin: string; bus: LocalBus }) {
    this.#open = options.open;
    this.#channelPrefix = options.channelPrefix;
    this.#origin = options.origin;
    this.#bus = options.bus;
  }

  /** The wire form of a message published by this store instance. */
  wire(message: string): string {
    return `${this.#origin}:${message}`;
  }

  #connect(): Redis {
    if (this.#connection !== null) return this.#connection;
    const connection = this.#open();
    connection.on("message", (channel: string, message: string) => this.#receive(channel, message));
    connection.on("close", () => {
      this.#epoch += 1;
      this.#active.clear();
    });
    connection.on("ready", () => {
      if (!this.#everReady) {
        this.#everReady = true;
        return;
      }
      void this.#resubscribe();
    });
    this.#connection = connection;
    return connection;
  }

  #receive(channel: string, message: string): void {
    if (!channel.startsWith(this.#channelPrefix)) return;
    const name = channel.slice(this.#channelPrefix.length);
    if (TAGGED.test(message)) {
      if (message.startsWith(this.#origin)) return; // our own: already delivered locally
      this.#bus.emit(name, message.slice(13));
    } else {
      this.#bus.emit(name, message); // published by something other than a dtasks store
    }
  }

  async #resubscribe(): Promise<void> {
    await Promise.allSettled([...this.#wanted.keys()].map((channel) => this.#sync(channel)));
    if (!this.#closed && this.#wanted.has(WORK_CHANNEL)) this.#bus.emit(WORK_CHANNEL, "0");
  }

  /**
   * Registers a listener and resolves once the server has confirmed the subscription. On failure
   * the listener is removed again and the error is thrown (the caller wraps it).
   */
  async add(channel: string, remove: () => void): Promise<() => Promise<void>> {
    this.#wanted.set(channel, (this.#wanted.get(channel) ?? 0) + 1);
    let removed = false;
    const off = async () => {
      if (removed) return;
      removed = true;
      remove();
      const left = (this.#wanted.get(channel) ?? 1) - 1;
      if (left > 0) this.#wanted.set(channel, left);
      else this.#wanted.delete(channel);
      // Best effort: if this fails the connection is gone, and with it the subscription.
      await this.#sync(channel).catch(() => {});
    };
    try {
      await this.#sync(channel);
    } catch (error) {
      await off();
      throw error;
    }
    return off;
  }

  /** Brings the server's subscription to `channel` in line with the listeners, one change at a time. */
  #sync(channel: string): Promise<void> {
    const previous = this.#chains.get(channel) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(async () => {
        if (this.#closed) return;
        const want = this.#wanted.has(channel);
        const connection = this.#connect();
        const epoch = this.#epoch;
        if (want && !this.#active.has(channel)) {
          await connection.subscribe(this.#channelPrefix + channel);
          if (epoch === this.#epoch) this.#active.add(channel);
        } else if (!want && this.#active.has(channel)) {
          this.#active.delete(channel);
          await connection.unsubscribe(this.#channelPrefix + channel);
        }
      });
    this.#chains.set(channel, next);
    void next
      .finally(() => {
        if (this.#chains.get(channel) === next) this.#chains.delete(channel);
      })
      .catch(() => {});
    return next;
  }

  /** Closes the subscriber connection (always the store's own). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wanted.clear();
    const connection = this.#connection;
    this.#connection = null;
    if (connection !== null) await closeConnection(connection);
  }
}

/** QUIT when connected (replies in flight still arrive), else drop the socket at once. */
export async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status === "ready") {
    try {
      await connection.quit();
      return;
    } catch {
      // fall through: the connection broke while quitting
    }
  }
  connection.disconnect();
}
