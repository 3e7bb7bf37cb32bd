/**
 * The class registry: which classes may be stored in a snapshot, under which stable id, and how.
 *
 * A snapshot names a class by id, never by code, so decoding can only ever build instances of
 * classes the process registered itself. The default registry is a per-process global kept under a
 * `Symbol.for` key, so an application and a precompiled library that each bundle a copy of dtasks
 * still share one registry; {@link createClassRegistry} makes an isolated one for tests.
 *
 * @module
 */

import { DTaskError } from "../core/errors.js";
import { errorBaseOf } from "./builtins.js";

/** Any class (abstract ones included). */
export type Class<T extends object = object> = abstract new (...args: any[]) => T;

/** How instances of a registered class are stored. */
export interface ClassOptions<T extends object = object, D = unknown> {
  /**
   * Stable id written into snapshots. Defaults to the class name; give one explicitly when the
   * name is not unique in the application, when a minifier renames classes, or to rename the class
   * later without breaking stored flows.
   */
  id?: string;
  /**
   * Turns an instance into data that is itself marshaled (so it may hold Dates, Maps, other
   * registered instances, shared references…). Needed for classes with `#private` fields or
   * internal slots. Give `deserialize` too.
   */
  serialize?: (value: T) => D;
  /** Rebuilds an instance from what `serialize` returned. */
  deserialize?: (data: D) => T;
}

/** One registration, as the encoder and decoder use it. */
export interface ClassEntry {
  readonly id: string;
  readonly cls: Class;
  readonly prototype: object;
  readonly serialize: ((value: object) => unknown) | undefined;
  readonly deserialize: ((data: unknown) => object) | undefined;
  /** For subclasses of Error without a custom serializer: the built-in error class they extend. */
  readonly errorBase: string | undefined;
}

const BUILT_INS: ReadonlySet<unknown> = new Set([
  Object,
  Array,
  Function,
  Date,
  RegExp,
  Map,
  Set,
  WeakMap,
  WeakSet,
  Promise,
  ArrayBuffer,
  DataView,
  Error,
]);

/** A set of registered classes. Use {@link createClassRegistry} or the global one. */
export class ClassRegistry {
  readonly #byId = new Map<string, ClassEntry>();
  readonly #byPrototype = new Map<object, ClassEntry>();

  /**
   * Registers `cls` for snapshots. Registering the same class again under the same id is a no-op
   * (a module evaluated twice); another class under a taken id, or one class under two ids, is a
   * DT304 error.
   */
  register<T extends object, D = unknown>(cls: Class<T>, options: ClassOptions<T, D> = {}): void {
    if (typeof cls !== "function" || typeof cls.prototype !== "object" || cls.prototype === null) {
      throw new DTaskError(
        "DT306",
        "registerClass() expects a class (a constructor function with a prototype)",
      );
    }
    if (typeof options !== "object" || options === null) {
      throw new DTaskError("DT306", "registerClass(Class, options): options must be an object");
    }
    for (const key of Object.keys(options)) {
      if (key !== "id" && key !== "serialize" && key !== "deserialize") {
        throw new DTaskError(
          "DT306",
          `registerClass(${cls.name || "<anonymous>"}): unknown option '${key}' (known: id, serialize, deserialize)`,
        );
      }
    }
    if (BUILT_INS.has(cls)) {
      throw new DTaskError(
        "DT306",
        `registerClass(${cls.name}): built-in values are stored natively and cannot be registered`,
      );
    }
    const id = options.id ?? cls.name;
    if (typeof id !== "string" || id === "") {
      throw new DTaskError(
        "DT306",
        "registerClass(): the class has no name; pass an explicit id: registerClass(Class, { id: 'MyClass' })",
      );
    }
    const { serialize, deserialize } = options;
    if ((serialize === undefined) !== (deserialize === undefined)) {
      throw new DTaskError(
        "DT306",
        `registerClass(${id}): give both serialize and deserialize, or neither (the default stores own enumerable fields)`,
      );
    }
    if (
      (serialize !== undefined && typeof serialize !== "function") ||
      (deserialize !== undefined && typeof deserialize !== "function")
    ) {
      throw new DTaskError("DT306", `registerClass(${id}): serialize and deserialize must be functions`);
    }

    const taken = this.#byId.get(id);
    if (taken !== undefined) {
      if (taken.cls === cls) return;
      throw new DTaskError(
        "DT304",
        `registerClass(${cls.name || id}): the id '${id}' is already used by another class` +
          " (two classes with one name, or a module loaded twice?); pass a distinct { id }",
      );
    }
    const existing = this.#byPrototype.get(cls.prototype);
    if (existing !== undefined) {
      throw new DTaskError(
        "DT304",
        `registerClass(${cls.name || id}): the class is already registered as '${existing.id}'; a class has one id`,
      );
    }
    const entry: ClassEntry = {
      id,
      cls,
      prototype: cls.prototype,
      serialize: serialize as ClassEntry["serialize"],
      deserialize: deserialize as ClassEntry["deserialize"],
      errorBase: serialize === undefined ? errorBaseOf(cls.prototype) : undefined,
    };
    this.#byId.set(id, entry);
    this.#byPrototype.set(cls.prototype, entry);
  }

  /** The registration whose class has exactly this prototype. */
  byPrototype(prototype: object): ClassEntry | undefined {
    return this.#byPrototype.get(prototype);
  }

  /** The registration with this id. */
  byId(id: string): ClassEntry | undefined {
    return this.#byId.get(id);
  }

  /** The ids registered, in registration order (for tools and messages). */
  ids(): string[] {
    return [...this.#byId.keys()];
  }
}

/** A fresh registry that shares nothing with the global one (for tests, or separate hosts). */
export function createClassRegistry(): ClassRegistry {
  return new ClassRegistry();
}

const GLOBAL_KEY = Symbol.for("dtasks.marshal.classRegistry");

/** The per-process registry that {@link registerClass} fills and marshaling uses by default. */
export function globalClassRegistry(): ClassRegistry {
  const holder = globalThis as { [GLOBAL_KEY]?: ClassRegistry };
  // Another copy of dtasks may have created it first: share it, whatever the copy's version, as
  // long as it has the methods this copy calls.
  const existing = holder[GLOBAL_KEY];
  if (existing !== undefined && typeof existing.byPrototype === "function") return existing;
  const created = new ClassRegistry();
  Object.defineProperty(holder, GLOBAL_KEY, { value: created, configurable: true });
  return created;
}

/**
 * Lets instances of `cls` be live across a durable await. By default an instance is stored as its
 * own enumerable fields (themselves marshaled) and restored with `Object.create(cls.prototype)`:
 * the constructor does not run. Give `serialize`/`deserialize` for classes that keep state in
 * `#private` fields or that must be rebuilt through their constructor.
 *
 * @returns the class, so it can wrap a class expression.
 * @example
 * ```ts
 * class Money { constructor(public amount: bigint, public currency: string) {} }
 * registerClass(Money);
 * registerClass(Temperature, { id: "units/Temperature", serialize: (t) => t.celsius, deserialize: (c) => new Temperature(c as number) });
 * ```
 */
export function registerClass<C extends Class, D = unknown>(
  cls: C,
  options?: ClassOptions<InstanceType<C>, D>,
): C {
  globalClassRegistry().register(cls, options as unknown as ClassOptions<object>);
  return cls;
}
