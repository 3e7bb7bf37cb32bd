/**
 * The harness's own snapshot codec: tagged JSON over an object table, so shared references and
 * cycles survive, with `undefined`, NaN, ±Infinity, -0, BigInt, Date, Map, Set, RegExp, Error
 * (name, message, cause), DTask wait objects and registered classes. It stands in for
 * `src/marshal` until that lands, and stays as a second, independent codec afterwards.
 *
 * {@link marshalCodec} is the same job done by the real codec (`src/marshal`), with the DTask hooks
 * below; the suites use it for durable snapshots.
 *
 * Three modes:
 * - `snapshotCodec()`: what a durable snapshot needs. Everything is copied by value into the
 *   text, and anything that cannot be stored (a function, a promise, an iterator, an instance of
 *   an unregistered class) is an error naming its path.
 * - `chaosCodec("copy")`: plain data is copied by value as above, but values that cannot be
 *   stored pass through by identity (a side table). For frames that hold no closures.
 * - `chaosCodec("identity")`: every object passes through by identity; only primitives go through
 *   the text. In-process round trips after ordinary awaits must keep objects shared with closures
 *   (their captured per-iteration boxes, say) shared, exactly as an uncut native frame would.
 *   Liveness is still checked: the driver resets every dead slot whatever the codec does.
 *
 * @module
 */
import { CompletedTask, DelayTask, DTask, YieldTask } from "../../../src/core/dtask.js";
import { createMarshaler, type SpecialHooks } from "../../../src/marshal/index.js";

export interface Codec {
  encode(value: unknown): string;
  decode(text: string): unknown;
}

type Encoded = null | boolean | string | number | { "#": string; v?: string } | { "@": number };

type Entry =
  | ["array", Encoded[]]
  | ["object", [string, Encoded][], boolean]
  | ["map", [Encoded, Encoded][]]
  | ["set", Encoded[]]
  | ["date", number | null]
  | ["regexp", string, string]
  | ["error", string, string, string | null, Encoded | null, [string, Encoded][]]
  | ["dtask", string, [string, Encoded][]]
  | ["class", string, [string, Encoded][]]
  | ["ref", number];

interface Document {
  root: Encoded;
  objects: Entry[];
}

/** A value a snapshot cannot hold; the message names where it was found. */
export class UnstorableError extends Error {
  override name = "UnstorableError";
}

const ERROR_CLASSES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Classes the codec may store (by id), like `registerClass` in the real marshal. */
const registeredClasses = new Map<string, new (...args: never[]) => unknown>();
const classIds = new Map<unknown, string>();

export function registerTestClass(id: string, cls: new (...args: never[]) => unknown): void {
  registeredClasses.set(id, cls);
  classIds.set(cls.prototype, id);
}

type Mode = "snapshot" | "copy" | "identity";

function isPlainProto(proto: unknown): boolean {
  return proto === Object.prototype || proto === null;
}

function isErrorObject(value: object): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === "[object Error]";
}

function describeType(value: unknown): string {
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "symbol") return "symbol";
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  return `an instance of ${ctor?.name ?? "an unknown class"}`;
}

class Encoder {
  readonly objects: Entry[] = [];
  private readonly ids = new Map<object, number>();

  constructor(
    private readonly mode: Mode,
    private readonly side: unknown[],
  ) {}

  encode(value: unknown, path: string): Encoded {
    switch (typeof value) {
      case "undefined":
        return { "#": "undefined" };
      case "boolean":
      case "string":
        return value;
      case "number":
        if (Number.isNaN(value)) return { "#": "NaN" };
        if (value === Number.POSITIVE_INFINITY) return { "#": "Infinity" };
        if (value === Number.NEGATIVE_INFINITY) return { "#": "-Infinity" };
        if (Object.is(value, -0)) return { "#": "-0" };
        return value;
      case "bigint":
        return { "#": "bigint", v: value.toString() };
      case "symbol":
      case "function":
        return this.opaque(value, path);
      case "object":
        if (value === null) return null;
        return this.object(value, path);
    }
  }

  /** A value that cannot be stored: an error in snapshots, a side-table reference in chaos mode. */
  private opaque(value: unknown, path: string): Encoded {
    if (this.mode === "snapshot") {
      throw new UnstorableError(`cannot store ${describeType(value)} at ${path}`);
    }
    this.side.push(value);
    return { "#": "side", v: String(this.side.length - 1) };
  }

  private object(value: object, path: string): Encoded {
    const known = this.ids.get(value);
    if (known !== undefined) return { "@": known };
    if (this.mode === "identity") return this.opaque(value, path);
    const id = this.objects.length;
    this.ids.set(value, id);
    this.objects.push(["ref", -1]); // placeholder, so children get later ids
    this.objects[id] = this.entry(value, path);
    return { "@": id };
  }

  private props(value: object, path: string): [string, Encoded][] {
    return Object.keys(value).map((key) => [
      key,
      this.encode((value as Record<string, unknown>)[key], `${path}.${key}`),
    ]);
  }

  private entry(value: object, path: string): Entry {
    if (Array.isArray(value)) {
      const items: Encoded[] = [];
      for (let i = 0; i < value.length; i++) items.push(this.encode(value[i], `${path}[${i}]`));
      return ["array", items];
    }
    const proto = Object.getPrototypeOf(value);
    if (isPlainProto(proto)) return ["object", this.props(value, path), proto === null];
    if (value instanceof Map) {
      const pairs: [Encoded, Encoded][] = [];
      let i = 0;
      for (const [k, v] of value) {
        pairs.push([this.encode(k, `${path}<key ${i}>`), this.encode(v, `${path}<value ${i}>`)]);
        i++;
      }
      return ["map", pairs];
    }
    if (value instanceof Set) {
      const items: Encoded[] = [];
      let i = 0;
      for (const v of value) items.push(this.encode(v, `${path}<item ${i++}>`));
      return ["set", items];
    }
    if (value instanceof Date) {
      const time = value.getTime();
      return ["date", Number.isNaN(time) ? null : time];
    }
    if (value instanceof RegExp) return ["regexp", value.source, value.flags];
    if (isErrorObject(value)) {
      const error = value as Error & { cause?: unknown };
      const extra = Object.keys(error)
        .filter((key) => key !== "cause" && key !== "stack" && key !== "message")
        .map((key): [string, Encoded] => [
          key,
          this.encode((error as unknown as Record<string, unknown>)[key], `${path}.${key}`),
        ]);
      return [
        "error",
        String(error.name),
        String(error.message),
        typeof error.stack === "string" ? error.stack : null,
        "cause" in error ? this.encode(error.cause, `${path}.cause`) : null,
        extra,
      ];
    }
    if (DTask.isDTask(value)) {
      if (value instanceof DelayTask || value instanceof YieldTask || value instanceof CompletedTask) {
        const fields: [string, Encoded][] = [
          ["status", value._status],
          ["value", this.encode(value._value, `${path}.value`)],
          ["error", this.encode(value._error, `${path}.error`)],
        ];
        if (value instanceof DelayTask) fields.push(["ms", value.ms]);
        return ["dtask", value.kind, fields];
      }
      return this.unstorableEntry(value, path);
    }
    const classId = classIds.get(proto);
    if (classId !== undefined) return ["class", classId, this.props(value, path)];
    return this.unstorableEntry(value, path);
  }

  private unstorableEntry(value: object, path: string): Entry {
    if (this.mode === "snapshot") {
      throw new UnstorableError(`cannot store ${describeType(value)} at ${path}`);
    }
    this.side.push(value);
    return ["ref", this.side.length - 1];
  }
}

class Decoder {
  private readonly values: unknown[];

  constructor(
    private readonly doc: Document,
    private readonly side: unknown[],
  ) {
    // First every object's shell, so references and cycles can point at it; then the contents.
    this.values = doc.objects.map((entry) => this.shell(entry));
    doc.objects.forEach((entry, i) => {
      this.fill(entry, this.values[i]);
    });
  }

  root(): unknown {
    return this.decode(this.doc.root);
  }

  decode(encoded: Encoded): unknown {
    if (encoded === null || typeof encoded !== "object") return encoded;
    if ("@" in encoded) return this.values[encoded["@"]];
    switch (encoded["#"]) {
      case "undefined":
        return undefined;
      case "NaN":
        return Number.NaN;
      case "Infinity":
        return Number.POSITIVE_INFINITY;
      case "-Infinity":
        return Number.NEGATIVE_INFINITY;
      case "-0":
        return -0;
      case "bigint":
        return BigInt(encoded.v!);
      case "side":
        return this.side[Number(encoded.v)];
    }
    throw new Error(`codec: unknown tag ${JSON.stringify(encoded)}`);
  }

  private shell(entry: Entry): unknown {
    switch (entry[0]) {
      case "array":
        return [];
      case "object":
        return entry[2] ? Object.create(null) : {};
      case "map":
        return new Map();
      case "set":
        return new Set();
      case "date":
        return new Date(entry[1] ?? Number.NaN);
      case "regexp":
        return new RegExp(entry[1], entry[2]);
      case "error": {
        const [, name, message, stack] = entry;
        const Ctor = ERROR_CLASSES[name] ?? Error;
        const error = new Ctor(message);
        if (error.name !== name) {
          Object.defineProperty(error, "name", { value: name, writable: true, configurable: true });
        }
        if (stack !== null) error.stack = stack;
        return error;
      }
      case "dtask":
        switch (entry[1]) {
          case "delay":
            return new DelayTask(entry[2].find(([k]) => k === "ms")![1] as number);
          case "yield":
            return new YieldTask();
          case "completed":
            return new CompletedTask();
        }
        throw new Error(`codec: unknown DTask kind ${entry[1]}`);
      case "class": {
        const cls = registeredClasses.get(entry[1]);
        if (!cls) throw new Error(`codec: class '${entry[1]}' is not registered`);
        return Object.create(cls.prototype);
      }
      case "ref":
        return this.side[entry[1]];
    }
  }

  private fill(entry: Entry, target: unknown): void {
    switch (entry[0]) {
      case "array": {
        const array = target as unknown[];
        for (const item of entry[1]) array.push(this.decode(item));
        return;
      }
      case "object":
      case "class":
        for (const [key, item] of entry[0] === "object" ? entry[1] : entry[2]) {
          define(target as Record<string, unknown>, key, this.decode(item));
        }
        return;
      case "map":
        for (const [k, v] of entry[1]) (target as Map<unknown, unknown>).set(this.decode(k), this.decode(v));
        return;
      case "set":
        for (const v of entry[1]) (target as Set<unknown>).add(this.decode(v));
        return;
      case "error": {
        const error = target as Record<string, unknown>;
        if (entry[4] !== null) {
          Object.defineProperty(error, "cause", {
            value: this.decode(entry[4]),
            writable: true,
            configurable: true,
          });
        }
        for (const [key, item] of entry[5]) define(error, key, this.decode(item));
        return;
      }
      case "dtask": {
        const task = target as DTask<unknown>;
        for (const [key, item] of entry[2]) {
          if (key === "status") task._status = item as DTask["_status"];
          else if (key === "value") task._value = this.decode(item);
          else if (key === "error") task._error = this.decode(item);
        }
        return;
      }
      default:
        return;
    }
  }
}

/** Own data property, also for keys such as `__proto__` (never touches a prototype). */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

function makeCodec(mode: Mode): Codec {
  // The side table lives as long as the codec; chaos codecs are made per run.
  const side: unknown[] = [];
  return {
    encode(value) {
      const encoder = new Encoder(mode, side);
      const root = encoder.encode(value, "snapshot");
      const doc: Document = { root, objects: encoder.objects };
      return JSON.stringify(doc);
    },
    decode(text) {
      const doc = JSON.parse(text) as Document;
      return new Decoder(doc, side).root();
    },
  };
}

/** The codec for durable snapshots: text only, nothing by identity, unstorable values are errors. */
export function snapshotCodec(): Codec {
  return makeCodec("snapshot");
}

/** A codec for the driver's chaos mode (round trips after ordinary awaits, in process). */
export function chaosCodec(mode: "copy" | "identity"): Codec {
  return makeCodec(mode);
}

/** How the harness stores the DTask wait objects of a snapshot through the real marshal. */
export const dtaskHooks: SpecialHooks = {
  encode(value) {
    if (!DTask.isDTask(value)) return undefined;
    if (value instanceof DelayTask || value instanceof YieldTask || value instanceof CompletedTask) {
      return {
        tag: "dtask",
        data: {
          kind: value.kind,
          ms: value instanceof DelayTask ? value.ms : undefined,
          status: value._status,
          value: value._value,
          error: value._error,
        },
      };
    }
    return undefined; // anything else is reported as unstorable by the marshal
  },
  decode(tag, data) {
    if (tag !== "dtask") throw new Error(`harness: unknown special tag ${tag}`);
    const d = data as { kind: string; ms?: number; status: DTask["_status"]; value: unknown; error: unknown };
    const task =
      d.kind === "delay" ? new DelayTask(d.ms!) : d.kind === "yield" ? new YieldTask() : new CompletedTask();
    task._status = d.status;
    task._value = d.value;
    task._error = d.error;
    return task;
  },
};

/** The real snapshot codec (`src/marshal`, tagged JSON) with the harness's DTask hooks. */
export function marshalCodec(): Codec {
  const marshaler = createMarshaler({ special: dtaskHooks });
  return {
    encode: (value) => marshaler.marshal(value) as string,
    decode: (text) => marshaler.unmarshal(text),
  };
}
