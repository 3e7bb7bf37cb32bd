import { randomBytes } from "node:crypto";

/** A fresh lease token: 128 random bits, so a stale worker cannot guess the current holder's. */
export function newLeaseToken(): string {
  return randomBytes(16).toString("base64url");
}
