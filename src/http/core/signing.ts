/**
 * Signed resume URLs: `?exp=<unix seconds>&sig=<base64url HMAC-SHA256 of "<callbackId>.<exp>">`.
 * A resume URL in an e-mail is a capability; signing it bounds its life and lets the server
 * refuse a forged or stale one before it touches the store. The callback id alone is already
 * unguessable (128 random bits); the signature adds the expiry and a second secret.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export function sign(secret: Uint8Array, callbackId: string, expiresAt: number): string {
  return createHmac("sha256", secret).update(`${callbackId}.${expiresAt}`).digest("base64url");
}

/** The query of a signed URL valid until `nowMs + ttlMs`. */
export function signedQuery(secret: Uint8Array, callbackId: string, nowMs: number, ttlMs: number): string {
  const exp = Math.floor((nowMs + ttlMs) / 1000);
  return `exp=${exp}&sig=${sign(secret, callbackId, exp)}`;
}

/** Why the URL's signature is not acceptable, or undefined if it is. */
export function checkSignature(
  secret: Uint8Array,
  callbackId: string,
  url: URL,
  nowMs: number,
): string | undefined {
  const exp = url.searchParams.get("exp");
  const sig = url.searchParams.get("sig");
  if (exp === null || sig === null)
    return "the resume URL is not signed (it needs its exp and sig parameters)";
  if (!/^\d{1,12}$/.test(exp)) return "the resume URL's exp parameter is not a time";
  const expected = Buffer.from(sign(secret, callbackId, Number(exp)));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return "the resume URL's signature does not match";
  }
  if (Number(exp) * 1000 < nowMs) return "the resume URL has expired";
  return undefined;
}
