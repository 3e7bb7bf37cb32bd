/**
 * Options of webhook delivery: which destinations are allowed (the server-side request forgery
 * guard) and how failed deliveries are retried.
 *
 * @module
 */

import type { Duration } from "../../../core/duration.js";
import { describe } from "../../../host/check.js";
import { booleanOption, checkKeys, durationOption, integerOption, optionError } from "../options.js";

/**
 * An allowed destination: an origin (`"https://hooks.example.com"`, `"http://127.0.0.1:5017"`:
 * scheme, host and port must match), a host name (`"hooks.example.com"`) or a wildcard of its
 * subdomains (`"*.example.com"`), a RegExp tested against the whole URL, or a predicate.
 */
export type DestinationRule = string | RegExp | ((url: URL) => boolean);

/** Options of webhook delivery. */
export interface WebhookOptions {
  /**
   * Where webhooks may go. A callback URL that matches none is refused with 400 (DT604) and
   * nothing starts. Without it, any public destination is allowed.
   * @default any public destination
   */
  allow?: readonly DestinationRule[];
  /**
   * Whether destinations on loopback, private, link-local or other non-public addresses are
   * allowed. They are refused by default, whatever `allow` says, checked on every address the
   * host name resolves to, at acceptance and again at each delivery (DNS rebinding).
   * @default false
   */
  allowPrivateNetworks?: boolean;
  /** Deliveries tried in all, the first included. @default 6 */
  attempts?: number;
  /** Delay before the first retry; it doubles for each next one (±20 % jitter). @default "1s" */
  retryDelay?: Duration;
  /** Longest delay between two tries (and largest `Retry-After` honoured). @default "5m" */
  maxRetryDelay?: Duration;
  /** Time limit of one try, until the response headers. @default "10s" */
  timeout?: Duration;
}

export interface ResolvedWebhookOptions {
  allow: DestinationRule[] | undefined;
  allowPrivateNetworks: boolean;
  attempts: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  timeoutMs: number;
}

export function resolveWebhookOptions(options: unknown, where: string): ResolvedWebhookOptions {
  const o =
    options === undefined
      ? {}
      : checkKeys(`${where} webhooks`, options, [
          "allow",
          "allowPrivateNetworks",
          "attempts",
          "retryDelay",
          "maxRetryDelay",
          "timeout",
        ]);
  let allow: DestinationRule[] | undefined;
  if (o.allow !== undefined) {
    if (!Array.isArray(o.allow))
      throw optionError(where, "webhooks.allow", `must be an array of rules (got ${describe(o.allow)})`);
    allow = o.allow.map((rule: unknown) => {
      if (rule instanceof RegExp || typeof rule === "function") return rule as DestinationRule;
      if (typeof rule === "string" && checkRule(rule)) return rule;
      throw optionError(
        where,
        "webhooks.allow",
        `has ${describe(rule)}: use an origin ("https://hooks.example.com"), a host name ("hooks.example.com", "*.example.com"), a RegExp or a function`,
      );
    });
  }
  return {
    allow,
    allowPrivateNetworks: booleanOption(
      where,
      "webhooks.allowPrivateNetworks",
      o.allowPrivateNetworks,
      false,
    ),
    attempts: integerOption(where, "webhooks.attempts", o.attempts, 6, 1, 100),
    retryDelayMs: durationOption(where, "webhooks.retryDelay", o.retryDelay, 1_000, 1),
    maxRetryDelayMs: durationOption(where, "webhooks.maxRetryDelay", o.maxRetryDelay, 300_000, 1),
    timeoutMs: durationOption(where, "webhooks.timeout", o.timeout, 10_000, 1),
  };
}

function checkRule(rule: string): boolean {
  if (rule.includes("://")) {
    try {
      const url = new URL(rule);
      return (
        (url.protocol === "http:" || url.protocol === "https:") && url.origin === rule.replace(/\/$/, "")
      );
    } catch {
      return false;
    }
  }
  return /^(\*\.)?[A-Za-z0-9.-]+$/.test(rule) || /^\[[0-9A-Fa-f:.]+\]$/.test(rule);
}
