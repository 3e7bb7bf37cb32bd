/**
 * The guard against server-side request forgery: a client names the webhook URL, and this
 * server then POSTs to it, so without a guard any client could make the server call its own
 * loopback admin port, the cloud metadata address (169.254.169.254) or the private network.
 *
 * A URL must be http(s), without credentials, match the allowlist if there is one, and every
 * address its host resolves to must be public (unless private networks are allowed). The check
 * runs when the request is accepted (a bad URL is a 400 and nothing starts) and again inside each
 * delivery's DNS lookup, on the very addresses the socket connects to, so a name that resolves to
 * a public address first and a private one later (DNS rebinding) is still refused.
 *
 * @module
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { DTaskError } from "../../../core/errors.js";
import type { DestinationRule, ResolvedWebhookOptions } from "./options.js";

/** Addresses that are not on the public internet (RFC 6890 and friends). */
const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  NON_PUBLIC.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const)
  NON_PUBLIC.addSubnet(net, prefix, "ipv6");

/** True for loopback, private, link-local, shared, documentation, multicast and reserved addresses. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return NON_PUBLIC.check(address, "ipv4");
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses reach the IPv4 address.
  const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (embedded) return NON_PUBLIC.check(embedded, "ipv4");
  const hexMapped = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hexMapped) {
    const hi = Number.parseInt(hexMapped[1]!, 16);
    const lo = Number.parseInt(hexMapped[2]!, 16);
    return NON_PUBLIC.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, "ipv4");
  }
  return NON_PUBLIC.check(address, "ipv6");
}

/** DT604, naming the URL's origin (never its path or query, which may carry secrets). */
export function notAllowed(url: URL | string, why: string): DTaskError {
  const where = typeof url === "string" ? "the callback URL" : `'${url.origin}'`;
  return new DTaskError("DT604", `webhook destination ${where} is not allowed: ${why}`);
}

function matches(rule: DestinationRule, url: URL): boolean {
  if (typeof rule === "function") return rule(url) === true;
  if (rule instanceof RegExp) return rule.test(url.href);
  if (rule.includes("://")) return url.origin === rule.replace(/\/$/, "");
  const host = url.hostname.toLowerCase();
  const name = rule.toLowerCase();
  return name.startsWith("*.")
    ? host.endsWith(name.slice(1)) && host.length > name.length - 1
    : host === name;
}

/** The URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Checks everything that does not need the network: syntax, scheme, credentials, the allowlist,
 * and an IP-literal host. Returns the parsed URL or throws DT604.
 */
export function checkUrl(text: string, options: ResolvedWebhookOptions): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw notAllowed(text, "it is not an absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw notAllowed(url, "only http and https are allowed");
  if (url.username || url.password) throw notAllowed(url, "credentials in the URL are not allowed");
  if (options.allow && !options.allow.some((rule) => matches(rule, url))) {
    throw notAllowed(url, "it is not in the webhooks.allow list");
  }
  const host = hostOf(url);
  if (isIP(host) && !options.allowPrivateNetworks && isNonPublicAddress(host)) {
    throw notAllowed(url, "it is not a public address (set webhooks.allowPrivateNetworks to allow it)");
  }
  return url;
}

/**
 * A `lookup` for `http.request` that refuses non-public addresses: what the socket connects to is
 * exactly what was checked.
 */
export function guardedLookup(options: ResolvedWebhookOptions) {
  return (
    hostname: string,
    lookupOptions: { all?: boolean } & Record<string, unknown>,
    callback: (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      if (!options.allowPrivateNetworks) {
        const bad = addresses.find((a) => isNonPublicAddress(a.address));
        if (bad) {
          const refused = new DTaskError(
            "DT604",
            `webhook destination ${hostname} is not allowed: it resolves to a non-public address (set webhooks.allowPrivateNetworks to allow it)`,
          );
          return callback(refused as unknown as NodeJS.ErrnoException, "", 0);
        }
      }
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/** The full check at acceptance: `checkUrl`, then every resolved address. Throws DT604. */
export async function checkDestination(text: string, options: ResolvedWebhookOptions): Promise<URL> {
  const url = checkUrl(text, options);
  const host = hostOf(url);
  if (options.allowPrivateNetworks || isIP(host)) return url;
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(host, { all: true }, (error, found) => (error ? reject(error) : resolve(found))),
  ).catch(() => {
    throw notAllowed(url, `${host} cannot be resolved`);
  });
  if (addresses.some((a) => isNonPublicAddress(a.address))) {
    throw notAllowed(
      url,
      `${host} resolves to a non-public address (set webhooks.allowPrivateNetworks to allow it)`,
    );
  }
  return url;
}
