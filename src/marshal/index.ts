/**
 * The value codec for snapshots: the live locals of suspended d-async frames → bytes, and back.
 *
 * Three layers, each usable on its own (the layering of Temporal's data converter):
 * 1. values ↔ tree — {@link encode} / {@link decode}: JSON stays JSON; `undefined`, NaN, ±Infinity,
 *    −0, BigInt, Date, RegExp, Map, Set, typed arrays, errors (with cause), registered classes,
 *    surrogates, runtime values, shared references and cycles become tagged nodes. Values that
 *    cannot be stored are all reported at once (DT301) by path and type, never by value.
 * 2. tree ↔ bytes — {@link serialize} / {@link deserialize}: JSON or MessagePack behind a one-line
 *    header naming the format, so reading detects it.
 * 3. byte codecs — compression, encryption: applied in order, undone in reverse, named in the header.
 *
 * {@link marshal} / {@link unmarshal} compose them. The stored format is described in
 * `docs/marshal.md`.
 *
 * @example
 * ```ts
 * import { marshal, unmarshal, registerClass } from "./marshal/index.js";
 *
 * class Money { constructor(public amount: bigint, public currency: string) {} }
 * registerClass(Money);
 *
 * const order = { total: new Money(1999n, "EUR"), placed: new Date(), tags: new Set(["gift"]) };
 * const snapshot = marshal(order);              // 'DT1 json\n{"total":{"$":"class",…}'
 * const back = unmarshal(snapshot) as typeof order;
 * back.total instanceof Money;                  // true
 * ```
 *
 * @module
 */

export { decode } from "./decode.js";
export { encode } from "./encode.js";
export {
  CONTAINER_VERSION,
  type DeserializeOptions,
  deserialize,
  type SerializeOptions,
  serialize,
} from "./format.js";
export { createMarshaler, type Marshaler, marshal, unmarshal } from "./marshal.js";
export {
  formatOffender,
  isUnstorableValueError,
  type Offender,
  type UnstorableValueError,
} from "./offenders.js";
export {
  type ByteCodec,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_DEPTH,
  type Format,
  type MarshalOptions,
  type SpecialHooks,
  type Surrogate,
} from "./options.js";
export { formatPath, type PathSegment } from "./path.js";
export {
  type Class,
  type ClassOptions,
  ClassRegistry,
  createClassRegistry,
  globalClassRegistry,
  registerClass,
} from "./registry.js";
export type { Tree, TreeObject } from "./tree.js";
