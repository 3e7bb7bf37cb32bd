/**
 * Values → tree. Runs at every durable checkpoint, so it is written for the common case: JSON data
 * is copied as is, with one Map lookup per object (needed to find shared references), and nothing
 * else is allocated.
 *
 * Shared references cost nothing until they happen: every object's node is remembered, and only
 * when an object is met a second time is its first node marked with an id, in place, and a
 * `{"$":"ref"}` written. Objects seen once carry no id.
 *
 * Unstorable values do not stop the walk: each is recorded as an offender (with its path) and
 * replaced by null, and `encode` throws one DT301 error listing them all at the end.
 *
 * @module
 */

import { DTaskError } from "../core/errors.js";
import {
  BUILTIN_KINDS,
  ERROR_PROTOTYPES,
  FUNCTION_ADVICE,
  K_ARRAY_BUFFER,
  K_BUFFER,
  K_DATA_VIEW,
  K_DATE,
  K_ERROR,
  K_MAP,
  K_REGEXP,
  K_SET,
  K_TYPED,
  K_URL,
  TYPED_ARRAY_TAGS,
} from "./builtins.js";
import { toBase64 } from "./bytes.js";
import { encodeError } from "./error-converter.js";
import { describeUnknownObject, functionType, type Offender, unstorableError } from "./offenders.js";
import { type MarshalOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { DATA_STEP, mapKeyStep, mapValueStep, type PathSegment, setItemStep, snapshotPath } from "./path.js";
import type { ClassEntry } from "./registry.js";
import { ID, NUMBER_NODES, T, type Tree, type TreeObject, UNDEFINED_NODE } from "./tree.js";

/** Stands in `seen` for an object already reported as an offender, so it is reported once. */
const OFFENDER = Object.freeze({}) as TreeObject;

const hasOwn = Object.hasOwn;
const getPrototypeOf = Object.getPrototypeOf;

/**
 * Encodes `value` into a JSON-compatible tree (see `docs/marshal.md`). Treat the tree as
 * read-only: leaf nodes such as `{"$":"undefined"}` are frozen and shared between trees.
 *
 * @throws DTaskError DT301 listing every value that cannot be stored (`error.offenders`).
 */
export function encode(value: unknown, options?: MarshalOptions): Tree {
  const encoder = new TreeEncoder(resolveOptions(options));
  let tree: Tree;
  try {
    tree = encoder.value(value, 0);
  } catch (error) {
    if (encoder.overflowed && isStackOverflow(error)) {
      throw new DTaskError(
        "DT301",
        "cannot store the value: it is nested too deeply for the JavaScript stack; lower the maxDepth option or flatten the structure",
      );
    }
    if (encoder.overflowed) {
      throw new DTaskError(
        "DT301",
        "cannot store the value: user code threw a RangeError while it was read (see cause)",
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  if (encoder.offenders !== undefined) throw unstorableError(encoder.offenders, encoder.cause);
  return tree;
}

/**
 * True for V8's "Maximum call stack size exceeded". Only call it with stack to spare: near the
 * limit even compiling a regexp fails (with a SyntaxError that says so), hence `includes`.
 */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof Error && typeof error.message === "string" && error.message.includes("call stack");
}

/** One encoding pass. Internal: the error converter and tests use it through `encode`. */
export class TreeEncoder {
  /** Every object met so far → its node (or OFFENDER). */
  readonly seen = new Map<object, Tree>();
  /** Objects met more than once → their id. Created on the first shared reference. */
  private ids: Map<object, number> | undefined;
  private nextId = 0;
  /** Objects whose custom data is being encoded: a reference back to one of them is a cycle no decoder can rebuild. */
  private open: Set<object> | undefined;
  /** Working path: `path[d]` is the step taken from depth d (see path.ts). */
  readonly path: PathSegment[] = [];
  offenders: Offender[] | undefined;
  /** The first exception thrown by user code (a serializer, a getter), kept as the DT301 cause. */
  cause: unknown;
  /**
   * Set when a RangeError unwinds the walk (the stack overflowed, most likely): every level then
   * rethrows at once, without calling anything, and `encode` decides with stack to spare.
   */
  overflowed = false;

  constructor(readonly options: ResolvedOptions) {}

  value(v: unknown, d: number): Tree {
    switch (typeof v) {
      case "string":
      case "boolean":
        return v;
      case "number":
        // Finite and not -0: JSON holds it. (v - v is NaN for NaN and ±Infinity.)
        return v - v === 0 && (v !== 0 || 1 / v > 0) ? v : numberNode(v);
      case "object":
        return v === null ? null : this.object(v, d);
      case "undefined":
        return UNDEFINED_NODE;
      case "bigint":
        return { $: T.bigint, v: v.toString() };
      case "function":
        return this.object(v, d);
      default:
        return this.offend(undefined, d, "Symbol", "symbols cannot be stored");
    }
  }

  private object(v: object, d: number): Tree {
    const prior = this.seen.get(v);
    if (prior !== undefined) return this.repeat(v, prior, d);
    const o = this.options;
    if (d > o.maxDepth) {
      return this.offend(
        v,
        d,
        `a value nested deeper than ${o.maxDepth} levels`,
        "flatten the structure, or raise the maxDepth option where snapshots are written and read",
      );
    }
    try {
      if (o.special !== undefined || o.surrogates !== undefined) {
        const hooked = this.hooks(v, d);
        if (hooked !== undefined) return hooked;
      }
      if (typeof v === "function") return this.offend(v, d, functionType(v), FUNCTION_ADVICE);
      const proto = getPrototypeOf(v);
      if (proto === Object.prototype) return this.plain(v, d);
      if (proto === Array.prototype && Array.isArray(v)) return this.array(v, d);
      if (proto === null) return this.record(v, T.nullproto, d);
      const kind = BUILTIN_KINDS.get(proto);
      if (kind !== undefined) return this.builtin(kind, v, proto, d);
      const entry = o.registry.byPrototype(proto);
      if (entry !== undefined) return this.registered(entry, v, d);
      return this.unknown(v, proto, d);
    } catch (error) {
      // First, and without a call: near a stack overflow any call would throw again.
      if (this.overflowed || error instanceof RangeError) {
        this.overflowed = true;
        throw error;
      }
      // Our own usage errors (a malformed hook result) must surface, not become offenders.
      if (error instanceof DTaskError && error.code === "DT307") throw error;
      // A getter or a host object threw while we read the value.
      return this.threw(v, d, "reading it", error);
    }
  }

  /** The object was met before: refer to its first node, marking that node with an id. */
  private repeat(v: object, node: Tree, d: number): Tree {
    if (node === OFFENDER) return null;
    let id = this.ids?.get(v);
    if (id === undefined) {
      if (this.open?.has(v)) {
        return this.offend(
          v,
          d,
          describeUnknownObject(v, getPrototypeOf(v)).type,
          "it contains itself through the data of its custom serializer, which cannot be rebuilt; break the cycle or store it with default fields",
        );
      }
      id = this.nextId++;
      (this.ids ??= new Map()).set(v, id);
      markShared(node, id);
    }
    return { $: T.ref, i: id };
  }

  private plain(v: object, d: number): Tree {
    // A "$" key would read as a tag and a "__proto__" key as a prototype: store such objects escaped.
    if (hasOwn(v, "$") || hasOwn(v, "__proto__")) return this.record(v, T.obj, d);
    const node: TreeObject = {};
    this.seen.set(v, node);
    const keys = Object.keys(v);
    const path = this.path;
    const d1 = d + 1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      path[d] = key;
      node[key] = this.field(v as Record<string, unknown>, key, d1);
    }
    return node;
  }

  /** `{"$": tag, "v": fields}`: escaped plain objects and null-prototype objects. */
  private record(v: object, tag: string, d: number): Tree {
    const node: TreeObject = { $: tag, v: null };
    this.seen.set(v, node);
    node.v = this.fields(v, Object.keys(v), d);
    return node;
  }

  /**
   * Own fields as a `{key: tree}` object, or as a flat `[key, tree, …]` list when a key is
   * `__proto__` (an object key that JSON.parse keeps but MessagePack readers refuse).
   */
  fields(v: object, keys: string[], d: number): Tree {
    const source = v as Record<string, unknown>;
    const path = this.path;
    const d1 = d + 1;
    if (keys.includes("__proto__")) {
      const list: Tree[] = [];
      for (const key of keys) {
        path[d] = key;
        list.push(key, this.field(source, key, d1));
      }
      return list;
    }
    const out: TreeObject = {};
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      path[d] = key;
      out[key] = this.field(source, key, d1);
    }
    return out;
  }

  /** Encodes one property; a getter that throws is an offender at the property's own path. */
  private field(source: Record<string, unknown>, key: string, d1: number): Tree {
    let item: unknown;
    try {
      item = source[key];
    } catch (error) {
      return this.threw(undefined, d1, "its getter", error);
    }
    return this.value(item, d1);
  }

  private array(v: unknown[], d: number): Tree {
    const node: Tree[] = [];
    this.seen.set(v, node);
    const path = this.path;
    const d1 = d + 1;
    const n = v.length;
    for (let i = 0; i < n; i++) {
      const item = v[i];
      // Reading a hole gives undefined; `in` (slower) only runs to tell the two apart.
      if (item === undefined && !(i in v)) return this.sparse(v, node, i, d);
      path[d] = i;
      node.push(this.value(item, d1));
    }
    return node;
  }

  /** Continues an array from its first hole, jumping over runs of holes with `{"$":"hole","n":k}`. */
  private sparse(v: unknown[], node: Tree[], from: number, d: number): Tree {
    const path = this.path;
    const d1 = d + 1;
    let next = from;
    // Own keys list the present indices in ascending order, so a huge empty array costs nothing.
    for (const key of Object.keys(v)) {
      const index = Number(key);
      if (!Number.isInteger(index) || String(index) !== key) break; // past the indices
      if (index < from) continue;
      if (index > next) node.push({ $: T.hole, n: index - next });
      path[d] = index;
      node.push(this.value(v[index], d1));
      next = index + 1;
    }
    if (v.length > next) node.push({ $: T.hole, n: v.length - next });
    return node;
  }

  private builtin(kind: number, v: object, proto: object, d: number): Tree {
    switch (kind) {
      case K_DATE: {
        const time = Date.prototype.getTime.call(v as Date);
        const node: TreeObject = { $: T.Date, v: Number.isNaN(time) ? null : time };
        this.seen.set(v, node);
        return node;
      }
      case K_REGEXP: {
        const re = v as RegExp;
        const node: TreeObject = { $: T.RegExp, source: re.source, flags: re.flags };
        const last = re.lastIndex;
        if (typeof last === "number" && last !== 0 && Number.isFinite(last)) node.lastIndex = last;
        this.seen.set(v, node);
        return node;
      }
      case K_MAP: {
        const entries: Tree[] = [];
        const node: TreeObject = { $: T.Map, v: entries };
        this.seen.set(v, node);
        const path = this.path;
        const d1 = d + 1;
        let i = 0;
        for (const [key, value] of v as Map<unknown, unknown>) {
          path[d] = mapKeyStep(i);
          entries.push(this.value(key, d1));
          path[d] = mapValueStep(i++);
          entries.push(this.value(value, d1));
        }
        return node;
      }
      case K_SET: {
        const items: Tree[] = [];
        const node: TreeObject = { $: T.Set, v: items };
        this.seen.set(v, node);
        const path = this.path;
        const d1 = d + 1;
        let i = 0;
        for (const item of v as Set<unknown>) {
          path[d] = setItemStep(i++);
          items.push(this.value(item, d1));
        }
        return node;
      }
      case K_ARRAY_BUFFER: {
        const buffer = v as ArrayBuffer;
        const node: TreeObject = { $: T.ArrayBuffer, v: toBase64(buffer, 0, buffer.byteLength) };
        this.seen.set(v, node);
        return node;
      }
      case K_TYPED:
        return this.view(v as ArrayBufferView, TYPED_ARRAY_TAGS.get(proto)!, d);
      case K_BUFFER:
        return this.view(v as ArrayBufferView, T.Buffer, d);
      case K_DATA_VIEW:
        return this.view(v as ArrayBufferView, T.DataView, d);
      case K_URL: {
        const node: TreeObject = { $: T.URL, v: (v as URL).href };
        this.seen.set(v, node);
        return node;
      }
      case K_ERROR:
        return encodeError(this, v as Error, ERROR_PROTOTYPES.get(proto)!, undefined, d);
      default:
        throw new Error(`marshal: unhandled built-in kind ${kind}`);
    }
  }

  /**
   * A view over a whole buffer stores the buffer as a value, so views sharing a buffer (and the
   * buffer itself) stay shared. A view over part of a buffer stores a copy of its own bytes only:
   * the rest may be unrelated data (Node's Buffer pool), which must not leak into a snapshot.
   */
  private view(v: ArrayBufferView, tag: string, d: number): Tree {
    const buffer = v.buffer;
    if (getPrototypeOf(buffer) !== ArrayBuffer.prototype) {
      return this.offend(
        v,
        d,
        `${tag} over a SharedArrayBuffer`,
        "shared memory cannot be stored; copy it into a plain ArrayBuffer",
      );
    }
    if (v.byteOffset === 0 && v.byteLength === buffer.byteLength) {
      const node: TreeObject = { $: tag, buffer: null };
      this.seen.set(v, node);
      this.path[d] = "buffer";
      node.buffer = this.value(buffer, d + 1);
      return node;
    }
    const node: TreeObject = { $: tag, v: toBase64(buffer, v.byteOffset, v.byteLength) };
    this.seen.set(v, node);
    return node;
  }

  private registered(entry: ClassEntry, v: object, d: number): Tree {
    if (entry.serialize !== undefined) {
      let data: unknown;
      try {
        data = entry.serialize(v);
      } catch (error) {
        return this.threw(v, d, `serialize() of class '${entry.id}'`, error);
      }
      return this.custom(v, { $: T.class, id: entry.id, data: null }, data, d);
    }
    if (entry.errorBase !== undefined) return encodeError(this, v as Error, entry.errorBase, entry, d);
    const node: TreeObject = { $: T.class, id: entry.id, v: null };
    this.seen.set(v, node);
    node.v = this.fields(v, Object.keys(v), d);
    return node;
  }

  /**
   * An object of a class that is neither built in nor registered. Errors are too common to refuse
   * (anything a library throws): an unregistered subclass of Error is stored as its nearest
   * registered or built-in ancestor, keeping name, message, stack, cause and own fields. Anything
   * else is an offender.
   */
  private unknown(v: object, proto: object, d: number): Tree {
    let ancestor: ClassEntry | undefined;
    for (let p = getPrototypeOf(proto); p !== null; p = getPrototypeOf(p)) {
      const base = ERROR_PROTOTYPES.get(p);
      if (base !== undefined) {
        if (ancestor?.serialize !== undefined) return this.registered(ancestor, v, d);
        return encodeError(this, v as Error, ancestor?.errorBase ?? base, ancestor, d);
      }
      ancestor ??= this.options.registry.byPrototype(p);
    }
    const { type, reason } = describeUnknownObject(v, proto);
    return this.offend(v, d, type, reason);
  }

  /** Special hooks, then surrogates: undefined when none takes the value. */
  private hooks(v: object, d: number): Tree | undefined {
    const special = this.options.special;
    if (special !== undefined) {
      let hit: { tag: string; data: unknown } | undefined;
      try {
        hit = special.encode(v);
      } catch (error) {
        return this.threw(v, d, "the special encode hook", error);
      }
      if (hit !== undefined) {
        if (typeof hit !== "object" || hit === null || typeof hit.tag !== "string") {
          throw new DTaskError("DT307", "special.encode() must return { tag: string, data } or undefined");
        }
        return this.custom(v, { $: T.special, t: hit.tag, data: null }, hit.data, d);
      }
    }
    const surrogates = this.options.surrogates;
    if (surrogates !== undefined) {
      for (let i = 0; i < surrogates.length; i++) {
        const s = surrogates[i];
        let data: unknown;
        try {
          if (!s.test(v)) continue;
          data = s.encode(v);
        } catch (error) {
          return this.threw(v, d, `surrogate '${s.tag}'`, error);
        }
        return this.custom(v, { $: T.surrogate, t: s.tag, data: null }, data, d);
      }
    }
    return undefined;
  }

  /** A value stored as custom data: the data is encoded like any value, inside `node.data`. */
  private custom(v: object, node: TreeObject, data: unknown, d: number): Tree {
    this.seen.set(v, node);
    const open = (this.open ??= new Set());
    open.add(v);
    this.path[d] = DATA_STEP;
    node.data = this.value(data, d + 1);
    open.delete(v);
    return node;
  }

  /** Records an offender and returns the placeholder that takes its place until encode throws. */
  private offend(v: object | undefined, d: number, type: string, reason: string): Tree {
    (this.offenders ??= []).push({ path: snapshotPath(this.path, d), type, reason });
    if (v !== undefined) this.seen.set(v, OFFENDER);
    return null;
  }

  /** User code threw while storing `v`: an offender, whose type names the class, never the message. */
  private threw(v: object | undefined, d: number, what: string, error: unknown): Tree {
    if (error instanceof RangeError) {
      // Most likely the stack overflowed inside user code: unwind (see `overflowed`).
      this.overflowed = true;
      throw error;
    }
    if (this.cause === undefined) this.cause = error;
    const type =
      v === undefined
        ? "property"
        : typeof v === "function"
          ? functionType(v)
          : describeUnknownObject(v, safePrototype(v)).type;
    const thrown = error instanceof DTaskError ? `${error.code}: ${error.message}` : errorName(error);
    return this.offend(v, d, type, `${what} threw ${thrown}; see the error's cause`);
  }
}

function numberNode(v: number): Tree {
  if (Number.isNaN(v)) return NUMBER_NODES.NaN;
  if (v === Infinity) return NUMBER_NODES.Infinity;
  if (v === -Infinity) return NUMBER_NODES["-Infinity"];
  return NUMBER_NODES["-0"];
}

/** Marks the first node of an object met again: in place, so the parent need not be known. */
function markShared(node: Tree, id: number): void {
  if (Array.isArray(node)) node.unshift({ $: T.id, i: id });
  else {
    const object = node as TreeObject;
    if (typeof object.$ === "string") object[ID] = id;
    else object.$ = id; // a plain object: its "$" is free (objects with a "$" key are escaped)
  }
}

function safePrototype(v: object): object | null {
  try {
    return getPrototypeOf(v);
  } catch {
    return null;
  }
}

function errorName(error: unknown): string {
  try {
    if (error instanceof Error) return `${/^[AEIOU]/.test(error.name) ? "an" : "a"} ${error.name}`;
  } catch {
    // fall through
  }
  return `a non-error value (${typeof error})`;
}
