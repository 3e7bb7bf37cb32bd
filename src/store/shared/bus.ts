/**
 * In-process pub/sub: the listeners of one store instance. Every engine keeps one; messages
 * published by this instance reach them without a round trip, and the engine feeds in messages
 * from other processes (SQLite's poller, Redis pub/sub, PostgreSQL NOTIFY).
 *
 * Listeners run on a microtask, never inside a store operation: a listener that calls the store
 * back cannot see (or break) a half-done write, and a throwing listener cannot fail the publisher.
 *
 * @module
 */
import type { MessageListener } from "../../core/store.js";

export class LocalBus {
  readonly #channels = new Map<string, Set<{ listener: MessageListener }>>();

  /** Adds a listener; returns its remover (idempotent). The same function may be added twice. */
  add(channel: string, listener: MessageListener): () => void {
    let set = this.#channels.get(channel);
    if (set === undefined) this.#channels.set(channel, (set = new Set()));
    const entry = { listener };
    set.add(entry);
    return () => {
      const current = this.#channels.get(channel);
      if (current?.delete(entry) && current.size === 0) this.#channels.delete(channel);
    };
  }

  /** Queues `message` for every listener of `channel` (those subscribed at this moment). */
  emit(channel: string, message: string): void {
    const set = this.#channels.get(channel);
    if (set === undefined) return;
    for (const entry of [...set]) {
      queueMicrotask(() => {
        try {
          entry.listener(message, channel);
        } catch (error) {
          process.emitWarning(`a dtasks store listener on channel "${channel}" threw: ${String(error)}`, {
            type: "DTasksListenerWarning",
          });
        }
      });
    }
  }

  has(channel: string): boolean {
    return this.#channels.has(channel);
  }

  /** Number of channels with at least one listener. */
  get size(): number {
    return this.#channels.size;
  }

  clear(): void {
    this.#channels.clear();
  }
}
