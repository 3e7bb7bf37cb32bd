/**
 * Node's `http` objects ↔ the web's `Request`/`Response`, for the adapters of frameworks built
 * on `IncomingMessage`/`ServerResponse` (Fastify, Express). Hono already speaks the web's.
 *
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { Reply } from "./answer.js";

/** A cheap `headers.get` over Node's headers (names are lower-case there already). */
export function headerReader(headers: IncomingHttpHeaders): { get(name: string): string | null } {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

/**
 * A `Request` for `url` with the message's method and headers, and its body as a stream when it
 * was not read yet (`body`: the stream to use instead, e.g. Fastify's raw payload).
 */
export function toRequest(message: IncomingMessage, url: string, body?: Readable | null): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = message.method ?? "GET";
  const source = body === undefined ? message : body;
  const hasBody = method !== "GET" && method !== "HEAD" && source !== null && !source.readableEnded;
  return new Request(url, {
    method,
    headers,
    ...(hasBody ? { body: Readable.toWeb(source) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
  } as RequestInit);
}

/** True for a response whose body must be streamed as it comes (Server-Sent Events). */
export function isStream(response: Response): boolean {
  return response.headers.get("content-type")?.startsWith("text/event-stream") === true;
}

/**
 * Writes a reply to a `ServerResponse`: a plain answer at once; a `Response` with its headers,
 * streaming an SSE body (and no longer reading it once the client leaves).
 */
export async function sendResponse(res: ServerResponse, reply: Reply): Promise<void> {
  if (!(reply instanceof Response)) {
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body ?? undefined);
    return;
  }
  const response = reply;
  res.statusCode = response.status;
  const cookies = response.headers.getSetCookie();
  for (const [name, value] of response.headers) if (name !== "set-cookie") res.setHeader(name, value);
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (response.body === null) {
    res.end();
    return;
  }
  if (!isStream(response)) {
    // A small JSON body: one write with a Content-Length beats pumping a stream chunk by chunk.
    res.end(Buffer.from(await response.arrayBuffer()));
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  res.on("close", () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise((resolve) => res.once("drain", resolve));
    }
  } catch {
    // The client left, or the stream was canceled: nothing more to send.
  }
  res.end();
}
