/**
 * Shared by the HTTP tests: requests, problem-details assertions, WebSocket and SSE clients, a
 * webhook receiver, and polling for a condition. Everything listens on 127.0.0.1 and is closed
 * by the tests that open it.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Host } from "dtasks";
import WebSocket from "ws";

export const JSON_HEADERS = { "content-type": "application/json" };

/** Polls `check` until it returns something other than undefined/false. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<Exclude<T, undefined | false>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Asserts an RFC 9457 problem with this status (and code). Returns the body. */
export async function expectProblem(
  response: Response,
  status: number,
  code?: string,
): Promise<Record<string, unknown>> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.equal(response.headers.get("content-type"), "application/problem+json", text);
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.match(String(body.type), /^urn:dtasks:problem:[a-z-]+$/, text);
  assert.equal(typeof body.title, "string", text);
  assert.equal(body.status, status, text);
  assert.equal(typeof body.detail, "string", text);
  if (code !== undefined) assert.equal(body.code, code, text);
  return body;
}

/** All flows of a host (to prove that a bad request started nothing). */
export async function flowIds(host: Host): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  do {
    const page = await host.list({ limit: 1000, after });
    ids.push(...page.flows.map((f) => f.id));
    after = page.next;
  } while (after !== null);
  return ids.sort();
}

/** A queue of messages with a timed `next()`. */
export class Inbox<T> {
  readonly items: T[] = [];
  #waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next(what = "a message", timeoutMs = 10_000): Promise<T> {
    const ready = this.items.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const waiter = (item: T) => {
        clearTimeout(timer);
        resolve(item);
      };
      this.#waiters.push(waiter);
    });
  }
}

export interface WsClient {
  connectionId: string;
  messages: Inbox<Record<string, unknown>>;
  closed: Promise<number>;
  close(): void;
}

/** Opens `<url>/async/ws` and waits for the connection id. */
export async function wsConnect(baseUrl: string, path = "/async/ws"): Promise<WsClient> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}${path}`);
  const messages = new Inbox<Record<string, unknown>>();
  ws.on("message", (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const hello = await messages.next("the connection id");
  assert.equal(typeof hello.connectionId, "string");
  return { connectionId: hello.connectionId as string, messages, closed, close: () => ws.close() };
}

export interface SseEvent {
  event: string;
  data: string;
}

export interface SseClient {
  events: Inbox<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  response: Response;
  close(): void;
}

/** Opens an SSE stream with fetch and parses its events (comments are skipped). */
export async function sseConnect(url: string): Promise<SseClient> {
  const abort = new AbortController();
  const response = await fetch(url, { signal: abort.signal, headers: { accept: "text/event-stream" } });
  const events = new Inbox<SseEvent>();
  const ended = (async () => {
    if (!response.ok || response.body === null) return;
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let index: number;
        while ((index = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, index);
          buffer = buffer.slice(index + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: data.join("\n") });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return { events, ended, response, close: () => abort.abort() };
}

export interface Received {
  body: Record<string, unknown>;
  headers: IncomingMessage["headers"];
  at: number;
}

export interface Receiver {
  url: string;
  /** Every POST, in order (including those answered with an error). */
  received: Received[];
  inbox: Inbox<Received>;
  /** The statuses to answer with, one per request; 200 once they run out. */
  statuses: number[];
  close(): Promise<void>;
}

/** A local webhook receiver (plain node:http) answering the queued statuses. */
export async function receiver(): Promise<Receiver> {
  const received: Received[] = [];
  const inbox = new Inbox<Received>();
  const statuses: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const entry = {
        body: JSON.parse(Buffer.concat(chunks).toString() || "{}"),
        headers: req.headers,
        at: Date.now(),
      };
      received.push(entry);
      inbox.push(entry);
      const status = statuses.shift() ?? 200;
      if (status >= 300 && status < 400) res.setHeader("location", "http://127.0.0.1:1/elsewhere");
      if (status === 429) res.setHeader("retry-after", "1");
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    inbox,
    statuses,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
