/**
 * The tree: the format-neutral, JSON-compatible form of a value, between the value layer
 * (`encode`/`decode`) and the byte layer (`serialize`/`deserialize`). `docs/marshal.md` is the
 * reader's guide; this file is the single list of the names the encoder writes and the decoder reads.
 *
 * Plain JSON stays as itself. Everything else is an object whose `"$"` key is a string tag; a
 * plain object that has its own `"$"` (or `"__proto__"`) key is escaped, so a `"$"` key always
 * means a tag. Shared objects are marked where they first appear (a numeric `"$"` on a plain
 * object, a `"#"` key on a tagged node, an `{"$":"id"}` first element on an array) and later
 * occurrences are `{"$":"ref","i":<id>}`.
 *
 * @module
 */

/** A JSON-compatible value: what `encode` produces and `decode` accepts. */
export type Tree = null | boolean | number | string | Tree[] | TreeObject;

/** A JSON object inside a tree. */
export interface TreeObject {
  [key: string]: Tree;
}

/** The key that holds a node's tag (or, on a plain object, its id). */
export const TAG = "$";
/** The key that holds the id of a tagged node that is referenced elsewhere. */
export const ID = "#";

/** Node tags. Stable: they are part of the stored format, so never rename one. */
export const T = {
  undefined: "undefined",
  number: "number",
  bigint: "bigint",
  ref: "ref",
  id: "id",
  hole: "hole",
  obj: "obj",
  nullproto: "nullproto",
  Date: "Date",
  RegExp: "RegExp",
  Map: "Map",
  Set: "Set",
  ArrayBuffer: "ArrayBuffer",
  DataView: "DataView",
  Buffer: "Buffer",
  URL: "URL",
  Error: "Error",
  class: "class",
  surrogate: "surrogate",
  special: "special",
} as const;

/** The typed-array classes, by the tag they are stored under (their constructor name). */
export const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;

export type TypedArrayName = keyof typeof TYPED_ARRAYS;
export type TypedArray = InstanceType<(typeof TYPED_ARRAYS)[TypedArrayName]>;

/** Numbers JSON cannot hold, by their stored spelling. Frozen: the encoder shares these nodes. */
export const NUMBER_NODES = {
  NaN: Object.freeze({ $: T.number, v: "NaN" }),
  Infinity: Object.freeze({ $: T.number, v: "Infinity" }),
  "-Infinity": Object.freeze({ $: T.number, v: "-Infinity" }),
  "-0": Object.freeze({ $: T.number, v: "-0" }),
} as const;

export const UNDEFINED_NODE: TreeObject = Object.freeze({ $: T.undefined }) as TreeObject;
