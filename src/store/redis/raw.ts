/**
 * The raw cost of storing bytes in Redis, for the benchmarks: one SET and one GET of the same
 * bytes, on the same server and so at the same durability as the store (appendonly and
 * appendfsync are the server's settings, not the client's). A checkpoint's cost is compared with
 * this.
 *
 * @example
 * const client = new Redis("redis://127.0.0.1:6379");
 * const ms = await rawRoundTrip(client, new Uint8Array(1024));
 *
 * @module
 */
import type { Redis } from "ioredis";

/** Options of {@link rawRoundTrip}. */
export interface RawRoundTripOptions {
  /** The key written and read (overwritten on every call; delete it when done). @default "dtasks:raw-probe" */
  key?: string;
}

/**
 * Writes `bytes` with SET, reads them back with GET (two round trips, as a write followed by a
 * read of a checkpoint), checks that they came back intact, and returns the elapsed time in
 * milliseconds (fractional).
 */
export async function rawRoundTrip(
  client: Redis,
  bytes: Uint8Array,
  options: RawRoundTripOptions = {},
): Promise<number> {
  const key = options.key ?? "dtasks:raw-probe";
  const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const started = performance.now();
  await client.set(key, value);
  const back = await client.getBuffer(key);
  const elapsed = performance.now() - started;
  if (back === null || !back.equals(value)) {
    throw new Error(
      `rawRoundTrip: the ${bytes.byteLength} bytes read back from ${key} differ from those written`,
    );
  }
  return elapsed;
}
