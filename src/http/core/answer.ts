/**
 * What the core answers before it becomes a `Response`. Building a web `Response` (and reading
 * it back) costs Node's undici about as much as a small store write, so the core's own answers
 * are plain objects: the Hono adapter and `fetch()` turn them into `Response`s, the Fastify and
 * Express adapters write them to Node's response directly. Streams (SSE) and the `Response`s an
 * argument builder returns stay `Response`s.
 *
 * @module
 */

/** A complete, small answer: status, headers, and a text body (or none). */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}

/** An answer of the core: a plain {@link Answer}, or a `Response` (a stream, a builder's own). */
export type Reply = Answer | Response;

/** A JSON answer of already serialized text. */
export function json(body: string, status = 200, headers?: Record<string, string>): Answer {
  return { status, headers: { "content-type": "application/json", ...headers }, body };
}

/** An answer without a body (204). */
export function empty(status: number): Answer {
  return { status, headers: {}, body: null };
}

/** The `Response` of a reply. */
export function toResponse(reply: Reply): Response {
  if (reply instanceof Response) return reply;
  return new Response(reply.body, { status: reply.status, headers: reply.headers });
}
