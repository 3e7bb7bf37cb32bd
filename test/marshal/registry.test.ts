// Registered classes: default field storage, custom serialize/deserialize, ids, and the errors of
// the registry itself (DT303, DT304, DT306).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DTaskError } from "../../src/core/errors.js";
import {
  ClassRegistry,
  createClassRegistry,
  decode,
  encode,
  globalClassRegistry,
  marshal,
  registerClass,
  unmarshal,
} from "../../src/marshal/index.js";
import { assertRoundTrip, catchCode } from "./helpers.js";

describe("default storage: own enumerable fields", () => {
  test("an instance comes back with its prototype and fields, without running the constructor", () => {
    const registry = createClassRegistry();
    let constructed = 0;
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {
        constructed++;
      }
      get length(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    registry.register(Point);
    const copy = assertRoundTrip({ p: new Point(3, 4), when: new Date(0) }, { registry });
    assert.equal(constructed, 1);
    assert.ok(copy.p instanceof Point);
    assert.equal(copy.p.length, 5);
    assert.deepEqual(encode(new Point(1, 2), { registry }), { $: "class", id: "Point", v: { x: 1, y: 2 } });
  });

  test("fields hold any storable value, and fields named like setters do not call them", () => {
    const registry = createClassRegistry();
    let setterCalls = 0;
    class Account {
      balance = 10n;
      history = new Map([["2024", [1, 2]]]);
      meta: unknown = undefined;
      set owner(_: string) {
        setterCalls++;
      }
    }
    registry.register(Account);
    const account = new Account();
    Object.defineProperty(account, "owner", {
      value: "o",
      enumerable: true,
      writable: true,
      configurable: true,
    });
    const copy = assertRoundTrip(account, { registry });
    assert.equal(setterCalls, 0);
    assert.equal((copy as unknown as { owner: string }).owner, "o");
  });

  test("subclasses need their own registration", () => {
    const registry = createClassRegistry();
    class Base {}
    class Derived extends Base {}
    registry.register(Base);
    const error = catchCode("DT301", () => encode({ d: new Derived() }, { registry }));
    assert.deepEqual(
      error.offenders?.map((o) => o.type),
      ["Derived"],
    );
    registry.register(Derived);
    assert.ok(decode(encode(new Derived(), { registry }), { registry }) instanceof Derived);
  });
});

describe("custom serialize / deserialize", () => {
  test("stores what serialize returns, itself marshaled, and rebuilds with deserialize", () => {
    const registry = createClassRegistry();
    class Temperature {
      readonly #celsius: number;
      constructor(celsius: number) {
        this.#celsius = celsius;
      }
      get celsius(): number {
        return this.#celsius;
      }
    }
    registry.register(Temperature, {
      id: "units/Temperature",
      serialize: (t) => ({ c: t.celsius, at: new Date(7) }),
      deserialize: (data) => new Temperature((data as { c: number }).c),
    });
    const value = { t: new Temperature(-40) };
    const tree = encode(value, { registry });
    assert.deepEqual(tree, {
      t: { $: "class", id: "units/Temperature", data: { c: -40, at: { $: "Date", v: 7 } } },
    });
    const copy = decode(tree, { registry }) as typeof value;
    assert.ok(copy.t instanceof Temperature);
    assert.equal(copy.t.celsius, -40);
  });

  test("a shared instance with custom storage is rebuilt once", () => {
    const registry = createClassRegistry();
    let built = 0;
    class Id {
      constructor(readonly value: string) {}
    }
    registry.register(Id, {
      serialize: (id) => id.value,
      deserialize: (v) => {
        built++;
        return new Id(v as string);
      },
    });
    const id = new Id("x");
    const copy = unmarshal(marshal([id, id, { id }], { registry }), { registry }) as [Id, Id, { id: Id }];
    assert.equal(built, 1);
    assert.equal(copy[0], copy[1]);
    assert.equal(copy[0], copy[2].id);
  });

  test("a throwing deserialize fails with DT302, naming the class and the path, keeping the cause", () => {
    const registry = createClassRegistry();
    class Picky {}
    const cause = new Error("bad data");
    registry.register(Picky, {
      serialize: () => 1,
      deserialize: () => {
        throw cause;
      },
    });
    const snapshot = marshal({ l: { p: new Picky() } }, { registry });
    const error = catchCode("DT302", () => unmarshal(snapshot, { registry }));
    assert.match(error.message, /at l\.p: deserialize\(\) of class 'Picky' threw/);
    assert.equal(error.cause, cause);
  });

  test("a DTaskError from deserialize passes through unchanged", () => {
    const writer = createClassRegistry();
    const reader = createClassRegistry();
    class Service {}
    writer.register(Service, { serialize: () => "token", deserialize: () => new Service() });
    reader.register(Service, {
      serialize: () => "token",
      deserialize: () => {
        throw new DTaskError("DT305", "service 'token' is not registered with the host");
      },
    });
    const error = catchCode("DT305", () =>
      decode(encode(new Service(), { registry: writer }), { registry: reader }),
    );
    assert.equal(error.message, "service 'token' is not registered with the host");
  });
});

describe("types", () => {
  test("serialize's result type flows into deserialize's parameter", () => {
    class Celsius {
      constructor(readonly degrees: number) {}
    }
    const registry = createClassRegistry();
    registry.register(Celsius, {
      serialize: (c) => ({ d: c.degrees }),
      deserialize: (data) => new Celsius(data.d), // `data` is { d: number }, no cast
    });
    registerClass(Celsius, {
      id: "test/registry/Celsius",
      serialize: (c) => c.degrees,
      deserialize: (degrees) => new Celsius(degrees + 0), // `degrees` is a number
    });
    const copy = decode(encode(new Celsius(21), { registry }), { registry }) as Celsius;
    assert.equal(copy.degrees, 21);
  });
});

describe("ids and registration errors", () => {
  test("an unknown id on decode is DT303, naming the id, the path and the registered ids", () => {
    const writer = createClassRegistry();
    class Order {}
    writer.register(Order, { id: "shop/Order" });
    const reader = createClassRegistry();
    class Other {}
    reader.register(Other);
    const error = catchCode("DT303", () =>
      decode(encode({ l: { o: new Order() } }, { registry: writer }), { registry: reader }),
    );
    assert.equal(
      error.message,
      "the snapshot holds an instance of class 'shop/Order' at l.o, but no class is registered under that id in this process; " +
        "call registerClass() for it before resuming (registered: Other)",
    );
  });

  test("a taken id is DT304; registering the same class again is a no-op", () => {
    const registry = createClassRegistry();
    class A {}
    registry.register(A);
    registry.register(A);
    const B = class A {};
    const error = catchCode("DT304", () => registry.register(B));
    assert.match(error.message, /the id 'A' is already used by another class/);
    registry.register(B, { id: "other/A" });
    assert.deepEqual(registry.ids(), ["A", "other/A"]);
  });

  test("one class under two ids is DT304", () => {
    const registry = createClassRegistry();
    class C {}
    registry.register(C, { id: "c1" });
    const error = catchCode("DT304", () => registry.register(C, { id: "c2" }));
    assert.match(error.message, /already registered as 'c1'/);
  });

  test("invalid registrations are DT306 with a precise message", () => {
    const registry = createClassRegistry();
    const anonymous = (() => class {})();
    assert.match(
      catchCode("DT306", () => registry.register(anonymous)).message,
      /has no name; pass an explicit id/,
    );
    assert.match(
      catchCode("DT306", () => registry.register(class X {}, { serialize: () => 1 })).message,
      /give both serialize and deserialize, or neither/,
    );
    assert.match(
      catchCode("DT306", () => registry.register(Map)).message,
      /built-in values are stored natively/,
    );
    assert.match(
      catchCode("DT306", () => registry.register(class Y {}, { idd: "y" } as never)).message,
      /unknown option 'idd'/,
    );
    assert.match(catchCode("DT306", () => registry.register((() => 1) as never)).message, /expects a class/);
  });

  test("a class stored with serialize() but registered without deserialize() fails clearly", () => {
    const writer = createClassRegistry();
    class Z {}
    writer.register(Z, { serialize: () => 1, deserialize: () => new Z() });
    const reader = createClassRegistry();
    reader.register(Z);
    const error = catchCode("DT302", () =>
      decode(encode(new Z(), { registry: writer }), { registry: reader }),
    );
    assert.match(error.message, /stored with serialize\(\) but is now registered without deserialize\(\)/);
  });
});

describe("the global registry", () => {
  test("registerClass fills the per-process registry that marshal uses by default", () => {
    class GlobalThing {
      v = 1;
    }
    assert.equal(registerClass(GlobalThing, { id: "test/registry/GlobalThing" }), GlobalThing);
    const copy = unmarshal(marshal(new GlobalThing()));
    assert.ok(copy instanceof GlobalThing);
    assert.equal(globalClassRegistry().byId("test/registry/GlobalThing")?.cls, GlobalThing);
  });

  test("is shared through Symbol.for, so two copies of dtasks see one registry", () => {
    const holder = globalThis as unknown as Record<symbol, unknown>;
    assert.ok(holder[Symbol.for("dtasks.marshal.classRegistry")] instanceof ClassRegistry);
    assert.equal(holder[Symbol.for("dtasks.marshal.classRegistry")], globalClassRegistry());
  });

  test("isolated registries do not see global registrations", () => {
    class OnlyGlobal {}
    registerClass(OnlyGlobal, { id: "test/registry/OnlyGlobal" });
    catchCode("DT301", () => encode(new OnlyGlobal(), { registry: createClassRegistry() }));
  });
});
