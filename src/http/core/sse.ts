/**
 * Server-Sent Events, the third push channel, for clients that can open an `EventSource` but not
 * a WebSocket (or run behind proxies that only pass plain HTTP):
 *
 * - `GET <basePath>/async/events` opens a connection like the WebSocket one: first an
 *   `event: connected` with `{"connectionId"}`, then one unnamed event (`onmessage`) with the
 *   status body of each operation started with `Async-CallbackType: sse` and that id.
 * - `GET <basePath>/async/:operationId/events` follows one operation: one unnamed event with its
 *   status body when it finishes (at once if it has), then the stream ends. Close the
 *   `EventSource` on that message: a reconnection would only get the same event again.
 *
 * Comments (`: keep-alive`) every `keepAliveInterval` keep proxies from closing idle streams.
 *
 * @module
 */
import type { Connections } from "./connections.js";

const encoder = new TextEncoder();

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  // nginx buffers responses unless told otherwise; events must go out as they happen.
  "x-accel-buffering": "no",
};

/** One text event. The data is JSON (no raw newlines), so one `data:` line is enough. */
function event(data: string, name?: string): Uint8Array {
  return encoder.encode(`${name ? `event: ${name}\n` : ""}data: ${data}\n\n`);
}

interface Stream {
  response: Response;
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** Safe after the client left. */
  send(chunk: Uint8Array): void;
  end(): void;
}

function openStream(keepAliveMs: number, onCancel: () => void): Stream {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const stop = () => {
    if (!open) return;
    open = false;
    clearInterval(timer);
  };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      stop();
      onCancel();
    },
  });
  const timer = setInterval(() => send(encoder.encode(": keep-alive\n\n")), keepAliveMs);
  // Something at once: some servers (Fastify) send the headers only with the first chunk, and a
  // client waits for the headers to know the stream is open.
  controller.enqueue(encoder.encode(": open\n\n"));
  timer.unref();
  const send = (chunk: Uint8Array) => {
    if (!open) return;
    try {
      controller.enqueue(chunk);
    } catch {
      stop();
    }
  };
  const end = () => {
    if (!open) return;
    stop();
    try {
      controller.close();
    } catch {}
  };
  return { response: new Response(body, { status: 200, headers: SSE_HEADERS }), controller, send, end };
}

/** `GET <basePath>/async/events`: a push connection. */
export async function connectionStream(connections: Connections, keepAliveMs: number): Promise<Response> {
  let id: string | undefined;
  let left = false;
  const stream = openStream(keepAliveMs, () => {
    left = true;
    if (id !== undefined) connections.remove(id);
  });
  id = await connections.open({
    kind: "sse",
    send: (text) => stream.send(event(text)),
    close: () => stream.end(),
  });
  if (left) connections.remove(id);
  stream.send(event(JSON.stringify({ connectionId: id }), "connected"));
  return stream.response;
}

/**
 * `GET <basePath>/async/:operationId/events` for an operation that exists: `body` is its status
 * body if it has finished; otherwise `watch` calls back with it when it does. `track` is told of
 * the stream's end function while it is open (so closing the server ends it).
 */
export function operationStream(
  keepAliveMs: number,
  body: string | undefined,
  watch: (send: (body: string) => void) => () => void,
  track: (end: () => void) => () => void,
): Response {
  let unwatch: (() => void) | undefined;
  let untrack: (() => void) | undefined;
  const stream = openStream(keepAliveMs, () => {
    unwatch?.();
    untrack?.();
  });
  if (body !== undefined) {
    stream.send(event(body));
    stream.end();
    return stream.response;
  }
  untrack = track(() => {
    unwatch?.();
    stream.end();
  });
  unwatch = watch((finished) => {
    stream.send(event(finished));
    stream.end();
    untrack?.();
  });
  return stream.response;
}
