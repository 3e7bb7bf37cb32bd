/**
 * The two layers composed: value → tree → bytes and back. This is what the runtime calls at every
 * durable checkpoint and resume; the layers stay separately usable (inspect a tree in tools, or
 * store trees in a JSON column) through `encode`/`serialize` and `deserialize`/`decode`.
 *
 * @module
 */

import { decode } from "./decode.js";
import { encode } from "./encode.js";
import { deserializeWith, serializeWith } from "./format.js";
import { type MarshalOptions, resolveOptions } from "./options.js";
import type { Tree } from "./tree.js";

/**
 * Encodes `value` and serializes it: a string for JSON without codecs, otherwise a Uint8Array.
 *
 * @throws DTaskError DT301 listing every value that cannot be stored.
 */
export function marshal(
  value: unknown,
  options?: MarshalOptions & { format?: "json"; codecs?: readonly [] },
): string;
export function marshal(value: unknown, options?: MarshalOptions): string | Uint8Array;
export function marshal(value: unknown, options?: MarshalOptions): string | Uint8Array {
  const resolved = resolveOptions(options);
  return serializeWith(encode(value, options), resolved);
}

/**
 * Reads a snapshot written by {@link marshal} (any format) and rebuilds the value.
 *
 * @throws DTaskError DT302 for a corrupt or foreign snapshot, DT303 for an unregistered class,
 * DT308 for a surrogate, special decoder or byte codec that is not configured.
 */
export function unmarshal(snapshot: string | Uint8Array, options?: MarshalOptions): unknown {
  const tree: Tree = deserializeWith(snapshot, resolveOptions(options));
  return decode(tree, options);
}

/** A codec with its options checked once, for callers that marshal many times (the runtime). */
export interface Marshaler {
  readonly options: Readonly<MarshalOptions>;
  encode(value: unknown): Tree;
  decode(tree: Tree): unknown;
  marshal(value: unknown): string | Uint8Array;
  unmarshal(snapshot: string | Uint8Array): unknown;
}

/**
 * Validates `options` now (throwing DT307 for a mistake) and returns functions bound to them.
 *
 * @example
 * ```ts
 * const codec = createMarshaler({ format: "msgpack", special: runtimeHooks });
 * const bytes = codec.marshal(frames);
 * const frames2 = codec.unmarshal(bytes);
 * ```
 */
export function createMarshaler(options: MarshalOptions = {}): Marshaler {
  const frozen = Object.freeze({ ...options });
  resolveOptions(frozen);
  return {
    options: frozen,
    encode: (value) => encode(value, frozen),
    decode: (tree) => decode(tree, frozen),
    marshal: (value) => marshal(value, frozen),
    unmarshal: (snapshot) => unmarshal(snapshot, frozen),
  };
}
