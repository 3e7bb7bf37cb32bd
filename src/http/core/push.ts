/**
 * Completion push: when a watched operation finishes, tell every target its request named. A
 * webhook is POSTed from this process (with retries); a connection (WebSocket or SSE) is told
 * through the backplane, which reaches it in whichever server process holds it.
 *
 * @module
 */
import type { FlowInfo } from "../../host/types.js";
import type { Connections } from "./connections.js";
import type { PushTarget } from "./headers.js";
import { toJson } from "./json.js";
import type { ResolvedOptions } from "./options.js";
import { type ErrorDetails, statusBody } from "./status.js";
import { deliverWebhook } from "./webhooks/deliver.js";

export class Pusher {
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly connections: Connections,
    private readonly errorDetails: ErrorDetails,
  ) {}

  /** Pushes the finished operation to its targets; failures go to `onError`. */
  push(info: FlowInfo, targets: readonly PushTarget[]): void {
    const body = toJson(statusBody(info, this.errorDetails));
    for (const target of targets) {
      const done =
        "webhook" in target
          ? deliverWebhook(
              {
                url: target.webhook,
                body,
                operationId: info.id,
                secret: this.options.signing?.secret,
                signal: this.#abort.signal,
              },
              this.options.webhooks,
            )
          : this.connections.notify(target.connection, info.id);
      const operation = "webhook" in target ? "webhook" : "push";
      const tracked = done.catch((error: Error) =>
        this.options.onError(error, { operation, operationId: info.id }),
      );
      this.#inFlight.add(tracked);
      void tracked.finally(() => this.#inFlight.delete(tracked));
    }
  }

  /** Pushes in progress (webhooks being tried or waiting for a retry). */
  get pending(): number {
    return this.#inFlight.size;
  }

  /** Stops waiting for retries; lets tries in progress end. */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
  }
}
