/**
 * Options of the codec, and their resolution. Options are checked once per options object (and
 * cached by identity), so the hot path reads a resolved, validated record and never re-checks.
 *
 * @module
 */

import { DTaskError } from "../core/errors.js";
import { closest } from "../core/suggest.js";
import { type ClassRegistry, globalClassRegistry } from "./registry.js";

/**
 * A user-defined way to store some values: `test` picks the values, `encode` turns one into data
 * (itself marshaled, so it may contain Dates, shared references…), `decode` rebuilds it. Tried, in
 * order, for every object and function before the built-in handling, so keep `test` cheap.
 */
export interface Surrogate<V = any, D = any> {
  /** Stable name written into snapshots. */
  tag: string;
  test(value: object): boolean;
  encode(value: V): D;
  decode(data: D): V;
}

/**
 * Hooks for the runtime: DTask objects and host services are stored as references that only the
 * runtime can resolve. `encode` is called for every object and function before anything else and
 * returns undefined for values it does not handle; the `data` it returns is itself marshaled.
 */
export interface SpecialHooks {
  encode(value: object): { tag: string; data: unknown } | undefined;
  decode(tag: string, data: unknown): unknown;
}

/** A transformation of the serialized bytes (compression, encryption), undone on the way back. */
export interface ByteCodec {
  /** Recorded in the snapshot header, so reading knows which codecs to undo. `[A-Za-z0-9._-]+`. */
  name: string;
  encode(bytes: Uint8Array): Uint8Array;
  decode(bytes: Uint8Array): Uint8Array;
}

/** The byte formats. JSON is readable; MessagePack is smaller and faster to parse. */
export type Format = "json" | "msgpack";

/** Options of every marshal function; each uses the ones that concern it. */
export interface MarshalOptions {
  /** Registered classes. @default the global registry that `registerClass` fills */
  registry?: ClassRegistry;
  /** Custom surrogates, tried in order. @default none */
  surrogates?: readonly Surrogate[];
  /** Runtime hooks for DTask objects and services. @default none */
  special?: SpecialHooks;
  /**
   * Deepest nesting of objects stored or read; beyond it `encode` reports an offender and `decode`
   * fails with DT302, so a hostile snapshot cannot exhaust the stack. Use the same value on both
   * sides. @default 1000
   */
  maxDepth?: number;
  /** Byte format written by `serialize`/`marshal` (reading detects it). @default "json" */
  format?: Format;
  /** Byte codecs, applied in order when writing and undone in reverse when reading. @default none */
  codecs?: readonly ByteCodec[];
  /** Largest snapshot read, in bytes (or characters), checked before and after each codec. @default 256 MiB */
  maxBytes?: number;
}

/** Options after validation. */
export interface ResolvedOptions {
  registry: ClassRegistry;
  surrogates: readonly Surrogate[] | undefined;
  surrogatesByTag: ReadonlyMap<string, Surrogate>;
  special: SpecialHooks | undefined;
  maxDepth: number;
  format: Format;
  codecs: readonly ByteCodec[];
  codecsByName: ReadonlyMap<string, ByteCodec>;
  maxBytes: number;
}

export const DEFAULT_MAX_DEPTH = 1000;
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
export const CODEC_NAME = /^[A-Za-z0-9._-]{1,64}$/;

const KNOWN: { [K in keyof Required<MarshalOptions>]: true } = {
  registry: true,
  surrogates: true,
  special: true,
  maxDepth: true,
  format: true,
  codecs: true,
  maxBytes: true,
};

const cache = new WeakMap<MarshalOptions, ResolvedOptions>();
let defaults: ResolvedOptions | undefined;

/** Validates `options` (once per object) and fills in the defaults. */
export function resolveOptions(options: MarshalOptions | undefined): ResolvedOptions {
  if (options === undefined) return (defaults ??= normalize({}));
  let resolved = cache.get(options);
  if (resolved === undefined) {
    resolved = normalize(options);
    cache.set(options, resolved);
  }
  return resolved;
}

function fail(message: string): never {
  throw new DTaskError("DT307", message);
}

function isFunction(value: unknown): boolean {
  return typeof value === "function";
}

function normalize(options: MarshalOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) fail("marshal options must be an object");
  for (const key of Object.keys(options)) {
    if (!(key in KNOWN)) {
      const guess = closest(key, Object.keys(KNOWN), 3);
      fail(`unknown marshal option '${key}'${guess ? ` (did you mean '${guess}'?)` : ""}`);
    }
  }
  const registry = options.registry ?? globalClassRegistry();
  if (typeof registry !== "object" || registry === null || typeof registry.byId !== "function") {
    fail("option 'registry' must be a ClassRegistry (see createClassRegistry())");
  }

  const surrogatesByTag = new Map<string, Surrogate>();
  const { surrogates } = options;
  if (surrogates !== undefined) {
    if (!Array.isArray(surrogates))
      fail("option 'surrogates' must be an array of { tag, test, encode, decode }");
    surrogates.forEach((s: Surrogate, i: number) => {
      if (typeof s !== "object" || s === null) fail(`surrogates[${i}] must be an object`);
      if (typeof s.tag !== "string" || s.tag === "") fail(`surrogates[${i}].tag must be a non-empty string`);
      for (const fn of ["test", "encode", "decode"] as const) {
        if (!isFunction(s[fn])) fail(`surrogates[${i}] ('${s.tag}'): '${fn}' must be a function`);
      }
      if (surrogatesByTag.has(s.tag)) fail(`surrogates[${i}]: the tag '${s.tag}' is used twice`);
      surrogatesByTag.set(s.tag, s);
    });
  }

  const { special } = options;
  if (
    special !== undefined &&
    (typeof special !== "object" ||
      special === null ||
      !isFunction(special.encode) ||
      !isFunction(special.decode))
  ) {
    fail("option 'special' must be an object with encode(value) and decode(tag, data) functions");
  }

  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 1) fail("option 'maxDepth' must be a positive integer");

  const format = options.format ?? "json";
  if (format !== "json" && format !== "msgpack") {
    fail(`option 'format' must be "json" or "msgpack"`);
  }

  const codecs = options.codecs ?? [];
  const codecsByName = new Map<string, ByteCodec>();
  if (!Array.isArray(codecs)) fail("option 'codecs' must be an array of { name, encode, decode }");
  codecs.forEach((c: ByteCodec, i: number) => {
    if (typeof c !== "object" || c === null) fail(`codecs[${i}] must be an object`);
    if (typeof c.name !== "string" || !CODEC_NAME.test(c.name)) {
      fail(`codecs[${i}].name must be 1 to 64 characters among A-Z a-z 0-9 . _ -`);
    }
    if (!isFunction(c.encode) || !isFunction(c.decode))
      fail(`codecs[${i}] ('${c.name}'): encode and decode must be functions`);
    if (codecsByName.has(c.name)) fail(`codecs[${i}]: the name '${c.name}' is used twice`);
    codecsByName.set(c.name, c);
  });

  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (typeof maxBytes !== "number" || !(maxBytes > 0)) fail("option 'maxBytes' must be a positive number");

  return {
    registry,
    surrogates: surrogates !== undefined && surrogates.length > 0 ? surrogates : undefined,
    surrogatesByTag,
    special,
    maxDepth,
    format,
    codecs,
    codecsByName,
    maxBytes,
  };
}
