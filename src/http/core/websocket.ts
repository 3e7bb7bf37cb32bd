/**
 * The WebSocket push channel, on `ws`. A client opens `<basePath>/async/ws`; its first message
 * is `{"connectionId": "<id>"}`; it sends that id as `Async-ConnectionId` (with
 * `Async-CallbackType: websockets`) on async requests, to any server process sharing the store,
 * and receives one text message, the status body, per operation that finishes. The id is made by
 * the server (128 random bits), so a client cannot pick another's. Pings every
 * `keepAliveInterval` end connections whose client vanished without a close.
 *
 * @module
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { Connections } from "./connections.js";
import type { HttpErrorContext } from "./options.js";

export class WebSocketHub {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4096, clientTracking: true });
  readonly #timer: NodeJS.Timeout;
  readonly #alive = new WeakSet<WebSocket>();

  constructor(
    private readonly connections: Connections,
    /** The path of the upgrade requests this hub takes. */
    readonly path: string,
    keepAliveMs: number,
    private readonly onError: (error: Error, context: HttpErrorContext) => void,
  ) {
    this.#timer = setInterval(() => this.#ping(), keepAliveMs);
    this.#timer.unref();
  }

  /** Takes the upgrade if it is for this hub's path; false (socket untouched) otherwise. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const pathname = (request.url ?? "").split("?")[0];
    if (pathname !== this.path) return false;
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#connected(ws));
    return true;
  }

  /**
   * Listens for upgrades on a Node server. Upgrades for other paths are left to other listeners,
   * or refused with 404 when there are none (a socket nobody takes would hang).
   */
  attach(server: Server): () => void {
    const listener = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.handleUpgrade(request, socket, head)) return;
      if (server.listenerCount("upgrade") === 1) {
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      }
    };
    server.on("upgrade", listener);
    return () => server.off("upgrade", listener);
  }

  /** Closes every WebSocket (1001, going away). */
  close(): void {
    clearInterval(this.#timer);
    for (const ws of this.#wss.clients) ws.close(1001, "server closing");
    this.#wss.close();
  }

  #connected(ws: WebSocket): void {
    let id: string | undefined;
    let closed = false;
    this.#alive.add(ws);
    ws.on("pong", () => this.#alive.add(ws));
    ws.on("error", (error) => this.onError(error, { operation: "websocket" }));
    ws.on("close", () => {
      closed = true;
      if (id !== undefined) this.connections.remove(id);
    });
    // Messages from the client carry nothing; they are ignored (the payload limit keeps them small).
    this.connections
      .open({
        kind: "websocket",
        send: (text) => {
          if (ws.readyState === ws.OPEN) ws.send(text);
        },
        close: () => ws.close(1001, "server closing"),
      })
      .then(
        (connectionId) => {
          id = connectionId;
          if (closed) return this.connections.remove(connectionId);
          ws.send(JSON.stringify({ connectionId }));
        },
        (error: Error) => {
          this.onError(error, { operation: "websocket" });
          ws.close(1011, "cannot register the connection");
        },
      );
  }

  #ping(): void {
    for (const ws of this.#wss.clients) {
      if (!this.#alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.#alive.delete(ws);
      ws.ping();
    }
  }
}
