/**
 * Delivers one webhook: `POST <url>` with the status body, retried with exponential back-off
 * while the failure may pass (network errors, timeouts, 408, 425, 429, 5xx), given up at once on
 * one that will not (other 4xx, redirects: a redirect is not followed, since it could lead past
 * the destination guard). The socket connects only to addresses the guard accepted.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { DTaskError } from "../../../core/errors.js";
import { checkUrl, guardedLookup } from "./destinations.js";
import type { ResolvedWebhookOptions } from "./options.js";

export interface WebhookDelivery {
  url: string;
  /** The JSON text to send. */
  body: string;
  operationId: string;
  /** HMAC key: when given, `Dtasks-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">`. */
  secret?: Uint8Array;
  /** Aborts waiting for the next try (the server is closing). */
  signal: AbortSignal;
}

/** One try's outcome: delivered, retry (after at least `after` ms), or give up. */
type Attempt =
  | { kind: "ok" }
  | { kind: "retry"; why: string; after?: number }
  | { kind: "fail"; why: string };

/** Delivers, retrying; resolves with the number of tries, rejects with DT607 after the last. */
export async function deliverWebhook(
  delivery: WebhookDelivery,
  options: ResolvedWebhookOptions,
): Promise<number> {
  let why = "";
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    const outcome = await tryOnce(delivery, options);
    if (outcome.kind === "ok") return attempt;
    why = outcome.why;
    if (outcome.kind === "fail") break;
    if (attempt === options.attempts) break;
    const backoff = Math.min(options.maxRetryDelayMs, options.retryDelayMs * 2 ** (attempt - 1));
    const jittered = backoff * (0.8 + Math.random() * 0.4);
    const delay = Math.min(options.maxRetryDelayMs, Math.max(jittered, outcome.after ?? 0));
    if (!(await sleep(delay, delivery.signal))) {
      why = `${why}; the server closed before the next try`;
      break;
    }
  }
  const origin = safeOrigin(delivery.url);
  throw new DTaskError(
    "DT607",
    `webhook to ${origin} for operation ${delivery.operationId} was not delivered: ${why}`,
  );
}

function tryOnce(delivery: WebhookDelivery, options: ResolvedWebhookOptions): Promise<Attempt> {
  let url: URL;
  try {
    url = checkUrl(delivery.url, options);
  } catch (error) {
    return Promise.resolve({ kind: "fail", why: (error as Error).message });
  }
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(delivery.body)),
    "user-agent": "dtasks-webhook",
    // Receivers de-duplicate on it: a delivery may be repeated (at-least-once).
    "idempotency-key": delivery.operationId,
  };
  if (delivery.secret) {
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac("sha256", delivery.secret).update(`${t}.${delivery.body}`).digest("hex");
    headers["dtasks-signature"] = `t=${t},v1=${v1}`;
  }
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<Attempt>((resolve) => {
    const req = send(url, {
      method: "POST",
      headers,
      lookup: guardedLookup(options) as never,
      timeout: options.timeoutMs,
      agent: false,
    });
    req.on("response", (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return resolve({ kind: "ok" });
      const why = `the destination answered ${status}`;
      if (status === 408 || status === 425 || status === 429 || status >= 500) {
        return resolve({ kind: "retry", why, after: retryAfter(res.headers["retry-after"]) });
      }
      resolve({
        kind: "fail",
        why: status >= 300 && status < 400 ? `${why} (redirects are not followed)` : why,
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no response within ${options.timeoutMs} ms`)));
    req.on("error", (error) => {
      if (error instanceof DTaskError) return resolve({ kind: "fail", why: error.message });
      resolve({ kind: "retry", why: error.message });
    });
    req.end(delivery.body);
  });
}

/** `Retry-After` in ms (seconds or an HTTP date), if present. */
function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Resolves true after `ms`, false at once if the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function safeOrigin(text: string): string {
  try {
    return new URL(text).origin;
  } catch {
    return "an invalid URL";
  }
}
