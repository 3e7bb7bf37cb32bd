/**
 * Identifiers the host makes: flow ids (128 random bits, URL-safe, as DESIGN.md asks, so an id
 * can go in a URL and cannot be guessed) and worker ids (readable, for `lease.owner`).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/**
 * 22 characters of base64url from 128 random bits, drawn again when the first character is `-` or
 * `_`: an id that starts like an option would be taken for one by `dtasks show <id>` and most other
 * command lines. That costs under 0.05 bits of the 128.
 */
export function newFlowId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (id[0] !== "-" && id[0] !== "_") return id;
  }
}

/** Caller-chosen flow ids: URL-safe, so they survive paths, headers and shells unescaped. */
export const FLOW_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** `host:pid:xxxx` — who holds a lease, as `dtasks show` prints it. */
export function newOwnerId(kind: "host" | "worker"): string {
  return `${kind}@${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}
