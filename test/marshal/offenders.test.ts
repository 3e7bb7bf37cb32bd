// Unstorable values: every offender is reported at once, by path and type, never by value.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { Socket } from "node:net";
import { describe, test } from "node:test";
import { DTaskError } from "../../src/core/errors.js";
import {
  createClassRegistry,
  encode,
  formatPath,
  isUnstorableValueError,
  marshal,
} from "../../src/marshal/index.js";
import { catchCode } from "./helpers.js";

const CLASS_REASON = "register the class with registerClass(), or do not keep it live across a durable await";

describe("the DT301 error", () => {
  test("lists every offender with its path and type, in walk order", () => {
    class Session {}
    const server = new Socket();
    const frame = {
      l: {
        server,
        onDone: function onDone() {},
        arrow: () => 1,
        pending: Promise.resolve(1),
        key: Symbol("k"),
        cache: new WeakMap(),
        ref: new WeakRef({}),
        items: [1, 2, 3, new Session()],
        lookup: new Map<unknown, unknown>([
          ["fine", 1],
          ["bad", new Session()],
        ]),
        members: new Set([new EventEmitter()]),
        gen: (function* numbers() {})(),
        iter: new Map().keys(),
        shared: new SharedArrayBuffer(4),
        boxed: new String("s"),
        Klass: class Widget {},
      },
    };
    const error = catchCode("DT301", () => encode(frame));
    assert.ok(error instanceof DTaskError);
    assert.ok(isUnstorableValueError(error));
    assert.deepEqual(
      error.offenders?.map((o) => [formatPath(o.path), o.type]),
      [
        ["l.server", "Socket"],
        ["l.onDone", "function onDone"],
        ["l.arrow", "function arrow"],
        ["l.pending", "Promise"],
        ["l.key", "Symbol"],
        ["l.cache", "WeakMap"],
        ["l.ref", "WeakRef"],
        ["l.items[3]", "Session"],
        ["l.lookup<Map value 1>", "Session"],
        ["l.members<Set item 0>", "EventEmitter"],
        ["l.gen", "Generator"],
        ["l.iter", "Map Iterator"],
        ["l.shared", "SharedArrayBuffer"],
        ["l.boxed", "String"],
        ["l.Klass", "class Widget"],
      ],
    );
    assert.deepEqual(error.offenders?.[0], { path: ["l", "server"], type: "Socket", reason: CLASS_REASON });
    server.destroy();
  });

  test("has an exact, value-free message", () => {
    class Socketish {
      constructor(readonly secret: string) {}
    }
    const error = catchCode("DT301", () =>
      encode({
        l: {
          server: new Socketish("hunter2"),
          cb: function notify() {},
          "odd key": Promise.resolve("hunter2"),
        },
      }),
    );
    assert.equal(
      error.message,
      "cannot store 3 values in a snapshot:\n" +
        `  l.server: Socketish (${CLASS_REASON})\n` +
        "  l.cb: function notify (functions cannot be stored; keep data or a registered class instance instead, or do not keep it live across a durable await)\n" +
        '  l["odd key"]: Promise (await it before the durable await and keep its result instead)',
    );
    assert.ok(!error.message.includes("hunter2"));
    assert.equal(String(error), `DTaskError [DT301]: ${error.message}`);
  });

  test("a single offender reads 'a value'", () => {
    const error = catchCode("DT301", () => encode(() => 1));
    assert.equal(error.message.split("\n")[0], "cannot store a value in a snapshot:");
    assert.deepEqual(error.offenders?.[0].path, []);
    assert.match(error.message, /^ {2}<root>: function <anonymous>/m);
  });

  test("an offender reachable twice is reported once", () => {
    const fn = () => 1;
    const error = catchCode("DT301", () => encode({ a: fn, b: fn, c: [fn] }));
    assert.equal(error.offenders?.length, 1);
  });

  test("lists the first 20 in the message and all of them on the error", () => {
    const many = Array.from({ length: 25 }, () => () => 0);
    const error = catchCode("DT301", () => encode(many));
    assert.equal(error.offenders?.length, 25);
    assert.equal(error.message.split("\n").length, 1 + 20 + 1);
    assert.match(error.message, /… and 5 more \(see error.offenders\)$/);
  });

  test("paths name Map keys and Set items by position, never by value", () => {
    const error = catchCode("DT301", () =>
      encode({
        m: new Map<unknown, unknown>([
          [() => 0, "v"],
          ["alice@example.com", () => 0],
        ]),
      }),
    );
    assert.deepEqual(
      error.offenders?.map((o) => o.path),
      [
        ["m", "<Map key 0>"],
        ["m", "<Map value 1>"],
      ],
    );
    assert.ok(!error.message.includes("alice"));
  });

  test("offenders inside errors, class fields and custom data have full paths", () => {
    const registry = createClassRegistry();
    class Holder {
      inner = { cb: () => 0 };
    }
    registry.register(Holder);
    const error = catchCode("DT301", () =>
      encode({ e: new Error("x", { cause: Promise.resolve() }), h: new Holder() }, { registry }),
    );
    assert.deepEqual(
      error.offenders?.map((o) => formatPath(o.path)),
      ["e.cause", "h.inner.cb"],
    );
  });

  test("marshal reports the same error", () => {
    const error = catchCode("DT301", () => marshal({ f: () => 0 }, { format: "msgpack" }));
    assert.deepEqual(error.offenders?.[0].path, ["f"]);
  });
});

describe("user code that throws while encoding", () => {
  test("a throwing getter is an offender, and its error is the cause", () => {
    const boom = new Error("getter failed");
    const value = {
      ok: 1,
      get bad(): number {
        throw boom;
      },
    };
    const error = catchCode("DT301", () => encode({ v: value, f: () => 0 }));
    assert.deepEqual(error.offenders, [
      { path: ["v", "bad"], type: "property", reason: "its getter threw an Error; see the error's cause" },
      { path: ["f"], type: "function f", reason: error.offenders![1].reason },
    ]);
    assert.equal(error.cause, boom);
  });

  test("a throwing serialize() is an offender naming the class", () => {
    const registry = createClassRegistry();
    class Fragile {}
    registry.register(Fragile, {
      serialize: () => {
        throw new TypeError("nope");
      },
      deserialize: () => new Fragile(),
    });
    const error = catchCode("DT301", () => encode([new Fragile(), () => 0], { registry }));
    assert.deepEqual(
      error.offenders?.map((o) => [formatPath(o.path), o.type]),
      [
        ["[0]", "Fragile"],
        ["[1]", "function <anonymous>"],
      ],
    );
    assert.match(error.offenders![0].reason, /serialize\(\) of class 'Fragile' threw a TypeError/);
  });
});

describe("depth", () => {
  test("nesting beyond maxDepth is an offender, not a stack overflow", () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 50; i++) deep = deep.next = {};
    const error = catchCode("DT301", () => encode(root, { maxDepth: 20 }));
    assert.equal(error.offenders?.length, 1);
    assert.equal(error.offenders?.[0].path.length, 21);
    assert.match(error.offenders![0].type, /nested deeper than 20 levels/);
    assert.doesNotThrow(() => encode(root, { maxDepth: 60 }));
  });

  test("a 100,000-long linked list with a huge maxDepth fails cleanly, not with a crash", () => {
    let list: { next?: unknown } = {};
    for (let i = 0; i < 100_000; i++) list = { next: list };
    const error = catchCode("DT301", () => encode(list, { maxDepth: 1_000_000 }));
    assert.match(error.message, /nested too deeply for the JavaScript stack/);
  });

  test("the default depth (1000) is encodable and decodable", () => {
    let list: unknown = null;
    for (let i = 0; i < 1000; i++) list = { next: list };
    assert.doesNotThrow(() => encode(list));
  });
});

describe("isUnstorableValueError", () => {
  test("is false for other errors", () => {
    assert.equal(isUnstorableValueError(new Error("x")), false);
    assert.equal(isUnstorableValueError(new DTaskError("DT301", "no list")), false);
  });
});
