/**
 * The options of the async endpoints (shared by the Fastify plugin, the Hono helpers and the
 * Express router), with units and defaults, resolved once at construction: an unknown key, a
 * wrong type or a bad value throws DT606 naming the option before anything listens.
 *
 * @module
 */
import type { Duration } from "../../core/duration.js";
import type { DTaskError } from "../../core/errors.js";
import {
  checkKeys as checkHostKeys,
  describe,
  durationOption as hostDurationOption,
  integerOption as hostIntegerOption,
  optionError as hostOptionError,
} from "../../host/check.js";
import type { Host } from "../../host/types.js";
import { checkResumeRoute } from "./routes.js";
import { defaultErrorDetails, type ErrorDetails } from "./status.js";
import {
  type DestinationRule,
  type ResolvedWebhookOptions,
  resolveWebhookOptions,
  type WebhookOptions,
} from "./webhooks/options.js";

export type { DestinationRule, WebhookOptions };

/** What the HTTP layer was doing when it met an error it handles by itself. */
export interface HttpErrorContext {
  operation: "webhook" | "push" | "watch" | "recover" | "websocket" | "sse";
  /** The operation (flow) involved, if any. */
  operationId?: string;
}

/** Options of signed resume URLs. */
export interface SigningOptions {
  /** The HMAC-SHA256 key: at least 32 bytes (a string is taken as UTF-8). Keep it secret. */
  secret: string | Uint8Array;
  /** How long a signed URL stays valid: ms or a string such as `"7d"`. @default "7d" */
  expiresIn?: Duration;
}

/** Options of `createAsyncEndpoints` and of each adapter. */
export interface AsyncEndpointsOptions {
  /** The host that starts, resumes and reads flows. Closing it stays the caller's job. */
  host: Host;
  /**
   * Prefix of the routes this layer serves (`<basePath>/async/:operationId/status`, `…/events`,
   * `<basePath>/async/resume/:operationId`, `<basePath>/async/ws`, `<basePath>/async/events`).
   * @default ""
   */
  basePath?: string;
  /**
   * The absolute URL clients reach this service at (`https://api.example.com`, possibly with a
   * path), used for `Location` and resume URLs. Without it, `Location` is built from the
   * request's own origin and `resumeUrl()` gives a path unless told a base.
   */
  publicUrl?: string;
  /**
   * More resumption routes (`POST`), each with exactly one parameter, `:operationId`, which is the
   * callback id: `"/approvals/resume/:operationId"`. `<basePath>/async/resume/:operationId` is
   * always served.
   * @default []
   */
  resumeRoutes?: readonly string[];
  /** Largest resumption body, in bytes; a larger one is answered 413. @default 65536 */
  maxBodySize?: number;
  /** Signs resume URLs (HMAC) with an expiry; resumption requests then need a valid signature. */
  signing?: SigningOptions;
  /** Webhook delivery: destinations allowed, retries and back-off. */
  webhooks?: WebhookOptions;
  /**
   * How often operations watched for a push are read again even without a notification (the
   * store's pub/sub is best effort): ms or a string such as `"30s"`.
   * @default "30s"
   */
  pollInterval?: Duration;
  /** Keep-alive of WebSocket (ping) and SSE (comment) connections. @default "15s" */
  keepAliveInterval?: Duration;
  /**
   * The name this server process goes by in the operations it accepts. At start-up it takes over
   * the pushes of the unfinished operations accepted under the same name (a restart). Give every
   * server process sharing a store its own stable name (a pod name) so two do not push twice.
   * @default "default"
   */
  instance?: string;
  /** Whether to take over the pushes of unfinished operations of this `instance` at start-up. @default true */
  recover?: boolean;
  /** How a faulted operation's error is shown to clients. @default name, message and `code` */
  errorDetails?: ErrorDetails;
  /**
   * Receives the errors this layer handles by itself: a webhook that gave up (DT607), a push or a
   * watch that failed (the store is down), a broken connection.
   * @default a process warning of type `DTasksHttpWarning`
   */
  onError?: (error: Error, context: HttpErrorContext) => void;
}

export interface ResolvedOptions {
  host: Host;
  basePath: string;
  publicUrl: string | undefined;
  resumeRoutes: string[];
  maxBodySize: number;
  signing: { secret: Uint8Array; expiresInMs: number } | undefined;
  webhooks: ResolvedWebhookOptions;
  pollIntervalMs: number;
  keepAliveMs: number;
  instance: string;
  recover: boolean;
  errorDetails: ErrorDetails;
  onError: (error: Error, context: HttpErrorContext) => void;
}

const KEYS: readonly (keyof AsyncEndpointsOptions)[] = [
  "host",
  "basePath",
  "publicUrl",
  "resumeRoutes",
  "maxBodySize",
  "signing",
  "webhooks",
  "pollInterval",
  "keepAliveInterval",
  "instance",
  "recover",
  "errorDetails",
  "onError",
];

/** DT606: a bad option, named, with what it accepts. */
export function optionError(where: string, name: string, problem: string): DTaskError {
  return hostOptionError(where, name, problem, "DT606");
}

/** The HTTP layer's option objects: required, and wrong ones are DT606. */
export function checkKeys(
  where: string,
  options: unknown,
  known: readonly string[],
): Record<string, unknown> {
  return checkHostKeys(where, options, known, { code: "DT606", required: true });
}

export function durationOption(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  min = 0,
): number {
  return hostDurationOption(where, name, value, fallback, { min, code: "DT606" });
}

export function integerOption(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  return hostIntegerOption(where, name, value, fallback, min, max, "DT606");
}

export function booleanOption(where: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean")
    throw optionError(where, name, `must be true or false (got ${describe(value)})`);
  return value;
}

function functionOption<F>(where: string, name: string, value: unknown, fallback: F): F {
  if (value === undefined) return fallback;
  if (typeof value !== "function")
    throw optionError(where, name, `must be a function (got ${describe(value)})`);
  return value as F;
}

function isHost(value: unknown): value is Host {
  return (
    typeof value === "object" &&
    value !== null &&
    ["start", "get", "resume", "subscribe", "publish", "list"].every(
      (method) => typeof (value as Record<string, unknown>)[method] === "function",
    )
  );
}

function warn(error: Error, context: HttpErrorContext): void {
  const where = context.operationId ? ` (operation ${context.operationId})` : "";
  process.emitWarning(`${context.operation}${where}: ${error.message}`, { type: "DTasksHttpWarning" });
}

export function resolveOptions(options: unknown, where = "createAsyncEndpoints()"): ResolvedOptions {
  const o = checkKeys(where, options, KEYS);
  if (!isHost(o.host)) {
    throw optionError(
      where,
      "host",
      `must be a dtasks host, made with createHost() (got ${describe(o.host)})`,
    );
  }
  const basePath = o.basePath === undefined ? "" : o.basePath;
  if (
    typeof basePath !== "string" ||
    (basePath !== "" && (!basePath.startsWith("/") || basePath.endsWith("/")))
  ) {
    throw optionError(
      where,
      "basePath",
      `must be "" or a path that starts with '/' and does not end with one, such as "/api" (got ${describe(o.basePath)})`,
    );
  }
  let publicUrl: string | undefined;
  if (o.publicUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = typeof o.publicUrl === "string" ? new URL(o.publicUrl) : undefined;
    } catch {}
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
      throw optionError(
        where,
        "publicUrl",
        `must be an absolute http(s) URL without query, such as "https://api.example.com" (got ${describe(o.publicUrl)})`,
      );
    }
    publicUrl = url.href.replace(/\/$/, "");
  }
  const extra = o.resumeRoutes === undefined ? [] : o.resumeRoutes;
  if (!Array.isArray(extra))
    throw optionError(where, "resumeRoutes", `must be an array of route patterns (got ${describe(extra)})`);
  const resumeRoutes = [`${basePath}/async/resume/:operationId`];
  for (const route of extra) {
    const problem = checkResumeRoute(route);
    if (problem) throw optionError(where, "resumeRoutes", problem);
    if (!resumeRoutes.includes(route)) resumeRoutes.push(route);
  }
  let signing: ResolvedOptions["signing"];
  if (o.signing !== undefined) {
    const s = checkKeys(`${where} signing`, o.signing, ["secret", "expiresIn"]);
    const secret = typeof s.secret === "string" ? new TextEncoder().encode(s.secret) : s.secret;
    if (!(secret instanceof Uint8Array) || secret.length < 32) {
      throw optionError(
        where,
        "signing.secret",
        "must be a string or bytes of at least 32 bytes (for example randomBytes(32).toString('base64url'))",
      );
    }
    signing = {
      secret,
      expiresInMs: durationOption(where, "signing.expiresIn", s.expiresIn, 7 * 86_400_000, 1000),
    };
  }
  const instance = o.instance === undefined ? "default" : o.instance;
  if (typeof instance !== "string" || !/^[\w.:@-]{1,100}$/.test(instance)) {
    throw optionError(
      where,
      "instance",
      `must be 1–100 characters of letters, digits and _ . : @ - (got ${describe(o.instance)})`,
    );
  }
  return {
    host: o.host,
    basePath,
    publicUrl,
    resumeRoutes,
    maxBodySize: integerOption(where, "maxBodySize", o.maxBodySize, 65_536, 16, 64 * 1024 * 1024),
    signing,
    webhooks: resolveWebhookOptions(o.webhooks, where),
    pollIntervalMs: durationOption(where, "pollInterval", o.pollInterval, 30_000, 10),
    keepAliveMs: durationOption(where, "keepAliveInterval", o.keepAliveInterval, 15_000, 10),
    instance,
    recover: booleanOption(where, "recover", o.recover, true),
    errorDetails: functionOption(where, "errorDetails", o.errorDetails, defaultErrorDetails),
    onError: functionOption(where, "onError", o.onError, warn),
  };
}
