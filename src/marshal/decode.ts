/**
 * Tree → values. The input may be corrupt or hostile, so the decoder trusts nothing:
 *
 * - every node is checked for its shape; anything unexpected is a DT302 error naming the path;
 * - it only ever creates built-in values and instances of *registered* classes (by id); nothing
 *   in a snapshot names code, so decoding never runs code the process did not register;
 * - properties are created, never assigned through a setter: `__proto__` becomes an own data
 *   property, and fields of class instances and errors are defined with `Object.defineProperty`,
 *   so no user setter runs and `Object.prototype` is never touched;
 * - depth is bounded by `maxDepth`, lengths by the input itself.
 *
 * @module
 */

import { DTaskError } from "../core/errors.js";
import { fromBase64 } from "./bytes.js";
import { isStackOverflow } from "./encode.js";
import { decodeError } from "./error-converter.js";
import type { MarshalOptions, ResolvedOptions } from "./options.js";
import { resolveOptions } from "./options.js";
import {
  DATA_STEP,
  formatPath,
  mapKeyStep,
  mapValueStep,
  type PathSegment,
  setItemStep,
  snapshotPath,
} from "./path.js";
import type { ClassEntry } from "./registry.js";
import { ID, T, type Tree, type TreeObject, TYPED_ARRAYS, type TypedArrayName } from "./tree.js";

/** Marks an id whose value is being rebuilt by custom code: it cannot be referred to yet. */
const PENDING: unknown = Symbol("pending");
/** Largest array length JavaScript allows. */
const MAX_ARRAY_LENGTH = 2 ** 32 - 1;
const BIGINT = /^-?[0-9]+$/;

const hasOwn = Object.hasOwn;
const getPrototypeOf = Object.getPrototypeOf;
const defineProperty = Object.defineProperty;

/**
 * Rebuilds the value a tree was encoded from.
 *
 * @throws DTaskError DT302 when the tree is corrupt (naming the path), DT303 when it names a class
 * that is not registered, DT308 when it needs a surrogate or special decoder that is not configured.
 */
export function decode(tree: Tree, options?: MarshalOptions): unknown {
  const decoder = new TreeDecoder(resolveOptions(options));
  try {
    return decoder.value(tree, 0);
  } catch (error) {
    if (error instanceof DTaskError) throw error;
    if (isStackOverflow(error)) {
      throw new DTaskError(
        "DT302",
        "corrupt snapshot: it is nested too deeply for the JavaScript stack; lower the maxDepth option",
      );
    }
    // A built-in refused a stored value (an array length, a Map of the wrong shape…).
    const name = error instanceof Error ? error.name : typeof error;
    throw new DTaskError("DT302", `corrupt snapshot: decoding failed with a ${name}`, { cause: error });
  }
}

/** One decoding pass. Internal: the error converter uses it through `decode`. */
export class TreeDecoder {
  /** id → the value defined with it (or PENDING while custom code rebuilds it). */
  private readonly defs = new Map<number, unknown>();
  /** Working path: `path[d]` is the step taken from depth d (see path.ts). */
  readonly path: PathSegment[] = [];

  constructor(readonly options: ResolvedOptions) {}

  /** Throws the DT302 error for a problem found at depth `d`. */
  fail(d: number, problem: string): never {
    throw new DTaskError(
      "DT302",
      `corrupt snapshot at ${formatPath(snapshotPath(this.path, d))}: ${problem}`,
    );
  }

  value(node: unknown, d: number): unknown {
    switch (typeof node) {
      case "string":
      case "boolean":
      case "number":
        return node;
      case "object":
        if (node === null) return null;
        if (Array.isArray(node)) return this.array(node, d);
        return this.object(node, d);
      default:
        this.fail(d, `${node === undefined ? "an" : "a"} ${typeof node} where only JSON values may appear`);
    }
  }

  private object(node: object, d: number): unknown {
    const proto = getPrototypeOf(node);
    if (proto !== Object.prototype && proto !== null) {
      this.fail(d, "an object that is not plain JSON data (binary data or an extension type?)");
    }
    const n = node as TreeObject;
    const tag = n.$;
    if (tag === undefined || typeof tag === "number") return this.plain(n, tag, d);
    if (typeof tag !== "string") this.fail(d, "a '$' key that is neither a tag nor an id");
    return this.tagged(tag, n, d);
  }

  private depth(d: number): void {
    if (d > this.options.maxDepth) this.fail(d, `nesting deeper than maxDepth (${this.options.maxDepth})`);
  }

  private plain(n: TreeObject, id: number | undefined, d: number): object {
    this.depth(d);
    const out: Record<string, unknown> = {};
    if (id !== undefined) this.define(id, out, d);
    const keys = Object.keys(n);
    const path = this.path;
    const d1 = d + 1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key === "$") continue; // the id
      path[d] = key;
      const value = this.value(n[key], d1);
      if (key === "__proto__") defineField(out, key, value);
      else out[key] = value;
    }
    return out;
  }

  private array(node: Tree[], d: number): unknown[] {
    this.depth(d);
    const out: unknown[] = [];
    const n = node.length;
    let i = 0;
    if (n > 0) {
      const first = node[0] as TreeObject | null;
      if (typeof first === "object" && first !== null && first.$ === T.id) {
        this.define(first.i, out, d);
        i = 1;
      }
    }
    const path = this.path;
    const d1 = d + 1;
    for (; i < n; i++) {
      const item = node[i];
      if (typeof item === "object" && item !== null && (item as TreeObject).$ === T.hole) {
        const run = (item as TreeObject).n;
        if (
          typeof run !== "number" ||
          !Number.isInteger(run) ||
          run < 1 ||
          out.length + run > MAX_ARRAY_LENGTH
        ) {
          this.fail(d, "a run of array holes with an invalid length");
        }
        out.length += run;
        continue;
      }
      path[d] = out.length;
      out.push(this.value(item, d1));
    }
    return out;
  }

  private tagged(tag: string, n: TreeObject, d: number): unknown {
    // Tags that stand for primitives or references: no depth, no id.
    switch (tag) {
      case T.undefined:
        return undefined;
      case T.number:
        switch (n.v) {
          case "NaN":
            return Number.NaN;
          case "Infinity":
            return Number.POSITIVE_INFINITY;
          case "-Infinity":
            return Number.NEGATIVE_INFINITY;
          case "-0":
            return -0;
          default:
            return this.fail(d, "a number node that is not NaN, Infinity, -Infinity or -0");
        }
      case T.bigint: {
        const v = n.v;
        if (typeof v !== "string" || !BIGINT.test(v)) this.fail(d, "a bigint node without a decimal integer");
        return BigInt(v);
      }
      case T.ref:
        return this.ref(n.i, d);
      case T.id:
      case T.hole:
        return this.fail(d, `a '${tag}' marker outside of an array`);
    }
    this.depth(d);
    switch (tag) {
      case T.obj:
        return this.record({}, n, d);
      case T.nullproto:
        return this.record(Object.create(null), n, d);
      case T.Date: {
        const v = n.v;
        if (v !== null && typeof v !== "number")
          this.fail(d, "a Date node whose time is neither a number nor null");
        return this.defineNode(n, new Date(v ?? Number.NaN), d);
      }
      case T.RegExp:
        return this.regexp(n, d);
      case T.Map:
        return this.map(n, d);
      case T.Set:
        return this.set(n, d);
      case T.ArrayBuffer: {
        const buffer = typeof n.v === "string" ? fromBase64(n.v) : undefined;
        if (buffer === undefined) this.fail(d, "an ArrayBuffer node without valid base64 bytes");
        return this.defineNode(n, buffer, d);
      }
      case T.Buffer:
      case T.DataView:
        return this.view(tag, n, d);
      case T.URL: {
        if (typeof n.v !== "string") this.fail(d, "a URL node without an href");
        let url: URL;
        try {
          url = new URL(n.v);
        } catch {
          return this.fail(d, "a URL node with an invalid href");
        }
        return this.defineNode(n, url, d);
      }
      case T.Error:
        return decodeError(this, n, d);
      case T.class:
        return this.instance(n, d);
      case T.surrogate:
        return this.surrogate(n, d);
      case T.special:
        return this.special(n, d);
      default:
        if (hasOwn(TYPED_ARRAYS, tag)) return this.view(tag, n, d);
        return this.fail(d, `an unknown tag${/^[A-Za-z0-9_.:-]{1,40}$/.test(tag) ? ` '${tag}'` : ""}`);
    }
  }

  /** Records the value a node defines, when the node carries an id (`"#"`). Returns the value. */
  defineNode<V>(n: TreeObject, value: V, d: number): V {
    const id = n[ID];
    if (id !== undefined) this.define(id, value, d);
    return value;
  }

  private define(id: unknown, value: unknown, d: number): void {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) this.fail(d, "an invalid id");
    if (this.defs.has(id) && this.defs.get(id) !== PENDING) this.fail(d, `the id ${id} is defined twice`);
    this.defs.set(id, value);
  }

  /** Reserves a node's id while custom code rebuilds its value, so a reference to it fails cleanly. */
  private reserve(n: TreeObject, d: number): void {
    const id = n[ID];
    if (id !== undefined) this.define(id, PENDING, d);
  }

  private ref(id: unknown, d: number): unknown {
    if (typeof id !== "number") this.fail(d, "a reference without a numeric id");
    if (!this.defs.has(id)) this.fail(d, `a reference to the id ${id}, which is not defined before it`);
    const value = this.defs.get(id);
    if (value === PENDING) {
      this.fail(
        d,
        `a reference to the id ${id}, whose value is still being rebuilt by custom code (a cycle through custom data)`,
      );
    }
    return value;
  }

  /**
   * Fills `target` from a fields node: `{key: tree}` or `[key, tree, …]`. With `define`, every field
   * is created with defineProperty (class instances and errors, whose prototypes may have setters);
   * otherwise by assignment, except `__proto__`.
   */
  fieldsInto(target: object, fields: Tree | undefined, d: number, define: boolean): void {
    const out = target as Record<string, unknown>;
    const path = this.path;
    const d1 = d + 1;
    if (Array.isArray(fields)) {
      if (fields.length % 2 !== 0) this.fail(d, "a field list of odd length");
      for (let i = 0; i < fields.length; i += 2) {
        const key = fields[i];
        if (typeof key !== "string") this.fail(d, "a field list with a key that is not a string");
        path[d] = key;
        const value = this.value(fields[i + 1], d1);
        if (define || key === "__proto__") defineField(out, key, value);
        else out[key] = value;
      }
      return;
    }
    if (typeof fields !== "object" || fields === null) this.fail(d, "missing or invalid fields");
    const proto = getPrototypeOf(fields);
    if (proto !== Object.prototype && proto !== null) this.fail(d, "fields that are not a plain object");
    const keys = Object.keys(fields);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      path[d] = key;
      const value = this.value(fields[key], d1);
      if (define || key === "__proto__") defineField(out, key, value);
      else out[key] = value;
    }
  }

  private record(target: object, n: TreeObject, d: number): object {
    this.defineNode(n, target, d);
    this.fieldsInto(target, n.v, d, false);
    return target;
  }

  private regexp(n: TreeObject, d: number): RegExp {
    const { source, flags, lastIndex } = n;
    if (typeof source !== "string" || typeof flags !== "string")
      this.fail(d, "a RegExp node without source and flags");
    let re: RegExp;
    try {
      re = new RegExp(source, flags);
    } catch {
      return this.fail(d, "a RegExp node that is not a valid regular expression");
    }
    if (lastIndex !== undefined) {
      if (typeof lastIndex !== "number") this.fail(d, "a RegExp node with a lastIndex that is not a number");
      re.lastIndex = lastIndex;
    }
    return this.defineNode(n, re, d);
  }

  private map(n: TreeObject, d: number): Map<unknown, unknown> {
    const entries = n.v;
    if (!Array.isArray(entries) || entries.length % 2 !== 0)
      this.fail(d, "a Map node without an even-length entry list");
    const map = this.defineNode(n, new Map<unknown, unknown>(), d);
    const path = this.path;
    const d1 = d + 1;
    for (let i = 0; i < entries.length; i += 2) {
      const index = i >> 1;
      path[d] = mapKeyStep(index);
      const key = this.value(entries[i], d1);
      path[d] = mapValueStep(index);
      map.set(key, this.value(entries[i + 1], d1));
    }
    return map;
  }

  private set(n: TreeObject, d: number): Set<unknown> {
    const items = n.v;
    if (!Array.isArray(items)) this.fail(d, "a Set node without an item list");
    const set = this.defineNode(n, new Set<unknown>(), d);
    const path = this.path;
    const d1 = d + 1;
    for (let i = 0; i < items.length; i++) {
      path[d] = setItemStep(i);
      set.add(this.value(items[i], d1));
    }
    return set;
  }

  /** Typed arrays, Buffer and DataView: over a stored (possibly shared) buffer, or a copy of bytes. */
  private view(tag: string, n: TreeObject, d: number): ArrayBufferView {
    let buffer: ArrayBuffer | undefined;
    if (hasOwn(n, "buffer")) {
      this.reserve(n, d);
      this.path[d] = "buffer";
      const value = this.value(n.buffer, d + 1);
      if (typeof value !== "object" || value === null || getPrototypeOf(value) !== ArrayBuffer.prototype) {
        this.fail(d, `a ${tag} node whose buffer is not an ArrayBuffer`);
      }
      buffer = value as ArrayBuffer;
    } else {
      buffer = typeof n.v === "string" ? fromBase64(n.v) : undefined;
      if (buffer === undefined) this.fail(d, `a ${tag} node without valid base64 bytes`);
    }
    let view: ArrayBufferView;
    if (tag === T.Buffer) view = Buffer.from(buffer);
    else if (tag === T.DataView) view = new DataView(buffer);
    else {
      const ctor = TYPED_ARRAYS[tag as TypedArrayName];
      if (buffer.byteLength % ctor.BYTES_PER_ELEMENT !== 0) {
        this.fail(d, `a ${tag} node whose byte length is not a multiple of ${ctor.BYTES_PER_ELEMENT}`);
      }
      view = new ctor(buffer);
    }
    return this.defineNode(n, view, d);
  }

  /** The registration for a class id, or DT303. */
  classEntry(id: string, d: number): ClassEntry {
    const entry = this.options.registry.byId(id);
    if (entry === undefined) {
      const known = this.options.registry.ids();
      throw new DTaskError(
        "DT303",
        `the snapshot holds an instance of class '${id}' at ${formatPath(snapshotPath(this.path, d))}, ` +
          `but no class is registered under that id in this process; call registerClass() for it before resuming` +
          (known.length > 0
            ? ` (registered: ${known.slice(0, 10).join(", ")}${known.length > 10 ? ", …" : ""})`
            : ""),
      );
    }
    return entry;
  }

  private instance(n: TreeObject, d: number): unknown {
    const id = n.id;
    if (typeof id !== "string") this.fail(d, "a class node without an id");
    const entry = this.classEntry(id, d);
    if (hasOwn(n, "data")) {
      const deserialize = entry.deserialize;
      if (deserialize === undefined) {
        this.fail(d, `class '${id}' was stored with serialize() but is now registered without deserialize()`);
      }
      const data = this.customData(n, d);
      return this.settle(n, d, () => deserialize(data), `deserialize() of class '${id}'`);
    }
    const instance = Object.create(entry.prototype) as object;
    this.defineNode(n, instance, d);
    this.fieldsInto(instance, n.v, d, true);
    return instance;
  }

  private surrogate(n: TreeObject, d: number): unknown {
    const tag = n.t;
    if (typeof tag !== "string") this.fail(d, "a surrogate node without a tag");
    const surrogate = this.options.surrogatesByTag.get(tag);
    if (surrogate === undefined) {
      throw new DTaskError(
        "DT308",
        `the snapshot holds a value stored by surrogate '${tag}' at ${formatPath(snapshotPath(this.path, d))}, ` +
          "but no surrogate with that tag is configured; pass it in the surrogates option",
      );
    }
    const data = this.customData(n, d);
    return this.settle(n, d, () => surrogate.decode(data), `surrogate '${tag}'`);
  }

  private special(n: TreeObject, d: number): unknown {
    const tag = n.t;
    if (typeof tag !== "string") this.fail(d, "a special node without a tag");
    const special = this.options.special;
    if (special === undefined) {
      throw new DTaskError(
        "DT308",
        `the snapshot holds a runtime value ('${tag}') at ${formatPath(snapshotPath(this.path, d))}, ` +
          "which only the dtasks runtime can restore (no special hooks were given)",
      );
    }
    const data = this.customData(n, d);
    return this.settle(n, d, () => special.decode(tag, data), "the special decode hook");
  }

  private customData(n: TreeObject, d: number): unknown {
    if (!hasOwn(n, "data")) this.fail(d, "a node without its data");
    this.reserve(n, d);
    this.path[d] = DATA_STEP;
    return this.value(n.data, d + 1);
  }

  /** Runs user code that rebuilds a value; its failures become DT302 errors that keep the cause. */
  private settle(n: TreeObject, d: number, build: () => unknown, what: string): unknown {
    let value: unknown;
    try {
      value = build();
    } catch (error) {
      if (error instanceof DTaskError) throw error;
      throw new DTaskError(
        "DT302",
        `cannot restore the value at ${formatPath(snapshotPath(this.path, d))}: ${what} threw (see cause)`,
        { cause: error },
      );
    }
    return this.defineNode(n, value, d);
  }
}

/** Creates an own, enumerable data property (never through a setter). */
function defineField(target: object, key: string, value: unknown): void {
  defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
