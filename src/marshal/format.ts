/**
 * Tree ↔ bytes. A snapshot is a one-line ASCII header followed by the body:
 *
 * ```
 * DT1 json\n{"l":{"n":1}}                 ← a string (JSON without codecs)
 * DT1 msgpack\n<MessagePack bytes>        ← a Uint8Array
 * DT1 msgpack gzip,aes\n<bytes>           ← codecs, in the order they were applied
 * ```
 *
 * The header names the container version, the format and the byte codecs, so `deserialize`
 * needs no option to read any snapshot, and a snapshot from elsewhere fails with a precise DT302
 * instead of being misread. Byte codecs are applied in order and undone in reverse (as Temporal's
 * payload codecs are).
 *
 * @module
 */

import { Decoder, Encoder, ExtData, ExtensionCodec } from "@msgpack/msgpack";
import { DTaskError } from "../core/errors.js";
import {
  CODEC_NAME,
  type Format,
  type MarshalOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./options.js";
import type { Tree } from "./tree.js";

/** Container version written in every header. */
export const CONTAINER_VERSION = 1;
const MAGIC = "DT";
/** Longest header accepted: a guard against scanning a huge body for a newline. */
const MAX_HEADER = 512;
const NEWLINE = 0x0a;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * JavaScript strings may hold lone surrogates, which UTF-8 (MessagePack's string type) cannot:
 * @msgpack/msgpack silently turns them into U+FFFD once a string is long enough to go through
 * TextEncoder. Such strings (and only they: the check is a fast native scan) are written as this
 * extension type holding the UTF-16LE code units, and read back as the same string, map keys
 * included. JSON needs nothing: JSON.stringify escapes them.
 */
const EXT_UTF16 = 1;

class SnapshotEncoder extends Encoder {}
const encodeUtf8String = (Encoder.prototype as unknown as { encodeString(s: string): void }).encodeString;
// Overrides a method the typings call private; pinned by the lone-surrogate tests.
(SnapshotEncoder.prototype as unknown as { encodeString(s: string): void }).encodeString =
  function encodeString(this: { encodeExtension(ext: ExtData): void }, text: string) {
    if ((text as string & { isWellFormed(): boolean }).isWellFormed()) encodeUtf8String.call(this, text);
    else this.encodeExtension(new ExtData(EXT_UTF16, Buffer.from(text, "utf16le")));
  };

const extensions = new ExtensionCodec();
extensions.register({
  type: EXT_UTF16,
  encode: () => null, // strings never reach extension encoders; SnapshotEncoder writes this type
  decode: (data) => {
    if (data.length % 2 !== 0) throw new RangeError("odd UTF-16 length");
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf16le");
  },
});

let msgpackEncoder: Encoder | undefined;

/** Options for `serialize`: the format and the codecs. */
export type SerializeOptions = Pick<MarshalOptions, "format" | "codecs">;

/**
 * Turns a tree into a snapshot: a string for JSON without codecs, otherwise a Uint8Array.
 * The tree must be one that `encode` produced (or any JSON data).
 */
export function serialize(
  tree: Tree,
  options?: SerializeOptions & { format?: "json"; codecs?: readonly [] },
): string;
export function serialize(tree: Tree, options?: MarshalOptions): string | Uint8Array;
export function serialize(tree: Tree, options?: MarshalOptions): string | Uint8Array {
  return serializeWith(tree, resolveOptions(options));
}

export function serializeWith(tree: Tree, o: ResolvedOptions): string | Uint8Array {
  const header = headerLine(
    o.format,
    o.codecs.map((c) => c.name),
  );
  if (o.format === "json" && o.codecs.length === 0) return header + JSON.stringify(tree);
  let body = o.format === "json" ? utf8.encode(JSON.stringify(tree)) : encodeMsgpack(tree, o);
  for (const codec of o.codecs) {
    const out: unknown = codec.encode(body);
    if (!(out instanceof Uint8Array)) {
      throw new DTaskError(
        "DT307",
        `byte codec '${codec.name}' returned ${describe(out)} from encode(); it must return a Uint8Array`,
      );
    }
    body = out;
  }
  const head = utf8.encode(header);
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head, 0);
  bytes.set(body, head.length);
  return bytes;
}

function headerLine(format: Format, codecs: string[]): string {
  return `${MAGIC}${CONTAINER_VERSION} ${format}${codecs.length > 0 ? ` ${codecs.join(",")}` : ""}\n`;
}

function encodeMsgpack(tree: Tree, o: ResolvedOptions): Uint8Array {
  // The tree is deeper than the value (wrappers such as {"$":"Map","v":[…]}): allow for that.
  const maxDepth = 3 * o.maxDepth + 16;
  if (
    msgpackEncoder === undefined ||
    (msgpackEncoder as unknown as { maxDepth: number }).maxDepth !== maxDepth
  ) {
    msgpackEncoder = new SnapshotEncoder({ maxDepth, ignoreUndefined: false });
  }
  return msgpackEncoder.encode(tree);
}

/** Options for `deserialize`: the codecs that may be named in headers, and the size limit. */
export type DeserializeOptions = Pick<MarshalOptions, "codecs" | "maxBytes">;

/**
 * Reads a snapshot written by `serialize`, whatever its format.
 *
 * @throws DTaskError DT302 when it is not a dtasks snapshot, is corrupt or too large; DT308 when it
 * names a byte codec that is not configured.
 */
export function deserialize(snapshot: string | Uint8Array, options?: DeserializeOptions): Tree {
  return deserializeWith(snapshot, resolveOptions(options));
}

interface Header {
  format: Format;
  codecs: string[];
}

export function deserializeWith(snapshot: string | Uint8Array, o: ResolvedOptions): Tree {
  if (typeof snapshot === "string") {
    if (snapshot.length > o.maxBytes) tooLarge(snapshot.length, o, "characters");
    const end = snapshot.slice(0, MAX_HEADER + 1).indexOf("\n");
    if (end < 0) notASnapshot();
    const header = parseHeader(snapshot.slice(0, end));
    if (header.format !== "json") {
      corrupt(`a ${header.format} snapshot was given as a string; pass the Uint8Array it was written as`);
    }
    if (header.codecs.length > 0) {
      corrupt(
        `a snapshot with byte codecs (${header.codecs.join(", ")}) was given as a string; pass the Uint8Array it was written as`,
      );
    }
    return parseJson(snapshot.slice(end + 1));
  }
  if (!(snapshot instanceof Uint8Array)) {
    throw new DTaskError(
      "DT302",
      `cannot read a snapshot from ${describe(snapshot)}; expected a string or a Uint8Array`,
    );
  }
  if (snapshot.length > o.maxBytes) tooLarge(snapshot.length, o);
  const end = snapshot.subarray(0, MAX_HEADER + 1).indexOf(NEWLINE);
  if (end < 0) notASnapshot();
  const header = parseHeader(String.fromCharCode(...snapshot.subarray(0, end)));
  let body = snapshot.subarray(end + 1);
  for (let i = header.codecs.length - 1; i >= 0; i--) {
    const name = header.codecs[i];
    const codec = o.codecsByName.get(name);
    if (codec === undefined) {
      throw new DTaskError(
        "DT308",
        `the snapshot was written with byte codec '${name}', which is not configured; pass it in the codecs option`,
      );
    }
    let out: unknown;
    try {
      out = codec.decode(body);
    } catch (error) {
      if (error instanceof DTaskError) throw error;
      throw new DTaskError(
        "DT302",
        `corrupt snapshot: byte codec '${name}' failed to decode it (see cause)`,
        { cause: error },
      );
    }
    if (!(out instanceof Uint8Array)) {
      throw new DTaskError(
        "DT307",
        `byte codec '${name}' returned ${describe(out)} from decode(); it must return a Uint8Array`,
      );
    }
    // A codec may inflate (decompression bombs): check the limit after every step.
    if (out.length > o.maxBytes) tooLarge(out.length, o);
    body = out;
  }
  if (header.format === "msgpack") return parseMsgpack(body);
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    return corrupt("the JSON body is not valid UTF-8");
  }
  return parseJson(text);
}

/** `DT1 <format>[ <codec>,<codec>…]` */
function parseHeader(line: string): Header {
  if (!line.startsWith(MAGIC)) notASnapshot();
  const parts = line.split(" ");
  const version = parts[0].slice(MAGIC.length);
  if (!/^[0-9]+$/.test(version)) notASnapshot();
  if (Number(version) !== CONTAINER_VERSION) {
    corrupt(
      `the snapshot container version is ${Number(version)}, but this version of dtasks reads version ${CONTAINER_VERSION}; ` +
        "read it with the dtasks version that wrote it",
    );
  }
  if (parts.length < 2 || parts.length > 3)
    corrupt("the snapshot header is malformed (expected 'DT1 <format> [codecs]')");
  const format = parts[1];
  if (format !== "json" && format !== "msgpack") {
    corrupt(`the snapshot format ${printable(format)} is unknown (this version reads json and msgpack)`);
  }
  const codecs = parts.length === 3 ? parts[2].split(",") : [];
  for (const name of codecs) {
    if (!CODEC_NAME.test(name)) corrupt(`the snapshot header names an invalid byte codec ${printable(name)}`);
  }
  return { format, codecs };
}

function parseJson(text: string): Tree {
  try {
    return JSON.parse(text) as Tree;
  } catch (error) {
    // V8's message quotes the input, which may be personal data: keep only the position.
    const position = error instanceof Error ? /position (\d+)/.exec(error.message)?.[1] : undefined;
    return corrupt(
      `the JSON body is not valid JSON${position === undefined ? "" : ` (at character ${position})`}`,
    );
  }
}

function parseMsgpack(body: Uint8Array): Tree {
  // Nothing in a body can be longer than the body itself: a header claiming 4 billion items is a lie.
  const limit = body.length;
  const decoder = new Decoder({
    maxStrLength: limit,
    maxBinLength: limit,
    maxArrayLength: limit,
    maxMapLength: limit,
    maxExtLength: limit,
    extensionCodec: extensions,
  });
  try {
    return decoder.decode(body) as Tree;
  } catch (error) {
    const name = error instanceof Error ? error.name : typeof error;
    return corrupt(`the MessagePack body cannot be decoded (${name})`);
  }
}

function notASnapshot(): never {
  throw new DTaskError(
    "DT302",
    "not a dtasks snapshot: it does not start with a 'DT<version> <format>' header line (was it written by serialize()?)",
  );
}

function corrupt(problem: string): never {
  throw new DTaskError("DT302", `corrupt snapshot: ${problem}`);
}

function tooLarge(size: number, o: ResolvedOptions, unit = "bytes"): never {
  throw new DTaskError(
    "DT302",
    `the snapshot is ${size} ${unit}, over the maxBytes limit (${o.maxBytes}); raise maxBytes if it is expected`,
  );
}

/** Header words are format data, not user data, but may be garbage: quote them only when short and printable. */
function printable(word: string): string {
  return /^[\x21-\x7e]{1,32}$/.test(word) ? `'${word}'` : "(unreadable)";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  const type = typeof value === "object" ? Object.prototype.toString.call(value).slice(8, -1) : typeof value;
  return `${/^[AEIOUaeiou]/.test(type) ? "an" : "a"} ${type}`;
}
