/**
 * Binary data inside a tree is standard base64 (RFC 4648, with padding): trees are plain JSON, so
 * both byte formats carry the same tree.
 *
 * @module
 */

// A plain character class (no quantified group), so a huge string cannot make the regexp backtrack.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Base64 of the bytes a view covers (no copy of the bytes themselves). */
export function toBase64(buffer: ArrayBufferLike, offset: number, length: number): string {
  return Buffer.from(buffer, offset, length).toString("base64");
}

/**
 * A fresh ArrayBuffer with the decoded bytes, or undefined when `text` is not canonical base64.
 * Always a copy: `Buffer.from(string)` may return a slice of Node's shared pool, which must not
 * end up inside a user's value.
 */
export function fromBase64(text: string): ArrayBuffer | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  const decoded = Buffer.from(text, "base64");
  const out = new ArrayBuffer(decoded.byteLength);
  new Uint8Array(out).set(decoded);
  return out;
}
