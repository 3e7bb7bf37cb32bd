/**
 * The registry of push connections (WebSocket and SSE) of this process, and the backplane that
 * reaches them from any process. Each connection gets an unguessable id (128 random bits) and
 * this process subscribes, through the store's pub/sub, to that connection's channel *before*
 * the client is told the id. A completion for the connection is published on its channel by
 * whichever process observes it; the store carries it to the process holding the connection
 * (listeners of the publishing process hear it at once, so local and remote take one path).
 * Messages carry ids only (`{"operationId"}`): the holder reads the status body from the store,
 * which keeps messages small (pub/sub limits them to 7 KiB) and results out of the bus.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import type { Host } from "../../host/types.js";
import type { HttpErrorContext } from "./options.js";

/** Where a connection's messages go: a WebSocket or an SSE stream. */
export interface Sink {
  readonly kind: "websocket" | "sse";
  /** Sends one text message (a status body). */
  send(text: string): void;
  /** Closes the connection (the server is closing). */
  close(): void;
}

export function connectionChannel(connectionId: string): string {
  return `dtasks-http:connection:${connectionId}`;
}

interface Open {
  sink: Sink;
  unsubscribe: () => Promise<void>;
}

export class Connections {
  readonly #open = new Map<string, Open>();
  #closed = false;

  constructor(
    private readonly host: Host,
    /** The status body of an operation, as JSON text; undefined if there is none to send. */
    private readonly body: (operationId: string) => Promise<string | undefined>,
    private readonly onError: (error: Error, context: HttpErrorContext) => void,
  ) {}

  /** Connections open in this process. */
  get size(): number {
    return this.#open.size;
  }

  has(connectionId: string): boolean {
    return this.#open.has(connectionId);
  }

  /** Registers a connection; resolves with its id once messages for it can be heard. */
  async open(sink: Sink): Promise<string> {
    const id = randomBytes(16).toString("base64url");
    const unsubscribe = await this.host.subscribe(connectionChannel(id), (message) => {
      void this.#deliver(id, message);
    });
    if (this.#closed) {
      await unsubscribe().catch(() => {});
      throw new Error("the server is closing");
    }
    this.#open.set(id, { sink, unsubscribe });
    return id;
  }

  /** Forgets a connection (it closed). */
  remove(connectionId: string): void {
    const open = this.#open.get(connectionId);
    if (open === undefined) return;
    this.#open.delete(connectionId);
    void open.unsubscribe().catch(() => {});
  }

  /** Tells the connection, wherever it is held, that `operationId` finished. */
  async notify(connectionId: string, operationId: string): Promise<void> {
    await this.host.publish(connectionChannel(connectionId), JSON.stringify({ operationId }));
  }

  /** Closes every connection of this process. */
  async close(): Promise<void> {
    this.#closed = true;
    const open = [...this.#open.values()];
    this.#open.clear();
    for (const { sink } of open) sink.close();
    await Promise.all(open.map(({ unsubscribe }) => unsubscribe().catch(() => {})));
  }

  async #deliver(connectionId: string, message: string): Promise<void> {
    let operationId: unknown;
    try {
      operationId = (JSON.parse(message) as { operationId?: unknown }).operationId;
    } catch {}
    if (typeof operationId !== "string") return;
    try {
      const text = await this.body(operationId);
      const connection = this.#open.get(connectionId);
      if (text !== undefined && connection) connection.sink.send(text);
    } catch (error) {
      this.onError(error as Error, { operation: kindOf(this.#open.get(connectionId)), operationId });
    }
  }
}

function kindOf(connection: Open | undefined): HttpErrorContext["operation"] {
  return connection?.sink.kind === "sse" ? "sse" : "websocket";
}
