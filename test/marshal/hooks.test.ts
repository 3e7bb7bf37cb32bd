// Custom surrogates and the runtime's special hooks (DTask objects, services by token).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DTaskError } from "../../src/core/errors.js";
import {
  createMarshaler,
  decode,
  encode,
  marshal,
  type SpecialHooks,
  type Surrogate,
  unmarshal,
} from "../../src/marshal/index.js";
import { assertRoundTrip, catchCode } from "./helpers.js";

class Decimal {
  constructor(readonly digits: string) {}
}
const decimal: Surrogate<Decimal, string> = {
  tag: "decimal",
  test: (v) => v instanceof Decimal,
  encode: (d) => d.digits,
  decode: (digits) => new Decimal(digits),
};

describe("surrogates", () => {
  test("store an otherwise unstorable class as data", () => {
    const value = { price: new Decimal("19.99"), list: [new Decimal("0.1")] };
    const tree = encode(value, { surrogates: [decimal] });
    assert.deepEqual(tree, {
      price: { $: "surrogate", t: "decimal", data: "19.99" },
      list: [{ $: "surrogate", t: "decimal", data: "0.1" }],
    });
    const copy = assertRoundTrip(value, { surrogates: [decimal] });
    assert.ok(copy.price instanceof Decimal);
    assert.equal(copy.price.digits, "19.99");
  });

  test("are tried in order, before built-in handling, and can take functions", () => {
    const calls: string[] = [];
    const dates: Surrogate<Date, number> = {
      tag: "epoch-seconds",
      test: (v) => {
        calls.push("dates");
        return v instanceof Date;
      },
      encode: (d) => d.getTime() / 1000,
      decode: (s) => new Date(s * 1000),
    };
    const known = new Map<string, () => number>([["answer", () => 42]]);
    const functions: Surrogate<() => number, string> = {
      tag: "fn",
      test: (v) => {
        calls.push("fn");
        return typeof v === "function";
      },
      encode: (fn) => [...known].find(([, f]) => f === fn)![0],
      decode: (name) => known.get(name)!,
    };
    const options = { surrogates: [dates, functions] };
    const tree = encode({ d: new Date(2000), f: known.get("answer") }, options);
    assert.deepEqual(tree, {
      d: { $: "surrogate", t: "epoch-seconds", data: 2 },
      f: { $: "surrogate", t: "fn", data: "answer" },
    });
    assert.deepEqual(calls, ["dates", "fn", "dates", "dates", "fn"]);
    const copy = decode(tree, options) as { d: Date; f: () => number };
    assert.equal(copy.d.getTime(), 2000);
    assert.equal(copy.f(), 42);
  });

  test("an unknown surrogate tag on decode is DT308", () => {
    const tree = encode({ x: new Decimal("1") }, { surrogates: [decimal] });
    const error = catchCode("DT308", () => decode(tree));
    assert.match(error.message, /surrogate 'decimal' at x, but no surrogate with that tag is configured/);
  });

  test("a throwing decode is DT302 with the cause", () => {
    const broken: Surrogate = { ...decimal, decode: () => JSON.parse("{") };
    const tree = encode([new Decimal("1")], { surrogates: [decimal] });
    const error = catchCode("DT302", () => decode(tree, { surrogates: [broken] }));
    assert.match(error.message, /at \[0\]: surrogate 'decimal' threw/);
    assert.ok(error.cause instanceof SyntaxError);
  });

  test("a throwing test or encode is an offender", () => {
    const failing: Surrogate = {
      tag: "f",
      test: () => {
        throw new Error("no");
      },
      encode: (v) => v,
      decode: (v) => v,
    };
    const error = catchCode("DT301", () => encode({ a: {} }, { surrogates: [failing] }));
    assert.equal(
      error.message,
      "cannot store a value in a snapshot:\n  <root>: Object (surrogate 'f' threw an Error; see the error's cause)",
    );
    assert.equal((error.cause as Error).message, "no");
  });
});

describe("special hooks (the runtime's DTask and service references)", () => {
  class FakeTask {
    constructor(
      readonly id: string,
      public result?: unknown,
    ) {}
  }
  const service = { name: "mailer", send: () => true };

  function hooks(): SpecialHooks & { tasks: Map<string, FakeTask>; decoded: string[] } {
    const tasks = new Map<string, FakeTask>();
    const decoded: string[] = [];
    return {
      tasks,
      decoded,
      encode(value) {
        if (value instanceof FakeTask) return { tag: "task", data: { id: value.id, result: value.result } };
        if (value === service) return { tag: "service", data: "mailer" };
        return undefined;
      },
      decode(tag, data) {
        decoded.push(tag);
        if (tag === "service") return service;
        const { id, result } = data as { id: string; result: unknown };
        let task = tasks.get(id);
        if (task === undefined) tasks.set(id, (task = new FakeTask(id, result)));
        return task;
      },
    };
  }

  test("values the hook takes are stored as { tag, data }, before any other handling", () => {
    const h = hooks();
    const tree = encode({ t: new FakeTask("t1", 5), svc: service }, { special: h });
    assert.deepEqual(tree, {
      t: { $: "special", t: "task", data: { id: "t1", result: 5 } },
      svc: { $: "special", t: "service", data: "mailer" },
    });
    const copy = decode(tree, { special: h }) as { t: FakeTask; svc: typeof service };
    assert.equal(copy.svc, service, "a service comes back as the live instance");
    assert.ok(copy.t instanceof FakeTask);
  });

  test("the same task object held twice is restored as one object (winner === timeout)", () => {
    const h = hooks();
    const timeout = new FakeTask("timeout");
    const frame = { l: { timeout, winner: timeout, all: [timeout, new FakeTask("other")] } };
    const copy = unmarshal(marshal(frame, { special: h }), { special: h }) as typeof frame;
    assert.equal(copy.l.winner, copy.l.timeout);
    assert.equal(copy.l.all[0], copy.l.timeout);
    assert.deepEqual(h.decoded, ["task", "task"], "decode runs once per distinct object");
  });

  test("hook data is itself marshaled and may share references with the frame", () => {
    const shared = { big: [1, 2, 3] };
    const frame = { task: new FakeTask("t", shared), local: shared };
    for (const format of ["json", "msgpack"] as const) {
      const copy = unmarshal(marshal(frame, { special: hooks(), format }), {
        special: hooks(),
      }) as typeof frame;
      assert.equal(copy.task.result, copy.local, format);
      assert.deepEqual(copy.local, shared);
    }
  });

  test("a special node without hooks on decode is DT308", () => {
    const tree = encode({ t: new FakeTask("t") }, { special: hooks() });
    const error = catchCode("DT308", () => decode(tree));
    assert.match(
      error.message,
      /holds a runtime value \('task'\) at t, which only the dtasks runtime can restore/,
    );
  });

  test("a DTaskError thrown by the hook's decode passes through (DT305: service not registered)", () => {
    const tree = encode({ svc: service }, { special: hooks() });
    const strict: SpecialHooks = {
      encode: () => undefined,
      decode: (tag, data) => {
        throw new DTaskError("DT305", `no service '${String(data)}' (${tag}) is registered with the host`);
      },
    };
    catchCode("DT305", () => decode(tree, { special: strict }));
  });

  test("a malformed hook result is a DT307 usage error, not an offender", () => {
    const bad = { encode: () => ({ tag: 1 }), decode: () => 0 } as unknown as SpecialHooks;
    catchCode("DT307", () => encode({ a: {} }, { special: bad }));
  });

  test("createMarshaler binds the hooks once", () => {
    const h = hooks();
    const codec = createMarshaler({ special: h, format: "msgpack" });
    const task = new FakeTask("x", 1);
    const bytes = codec.marshal({ a: task, b: task });
    assert.ok(bytes instanceof Uint8Array);
    const copy = codec.unmarshal(bytes) as { a: FakeTask; b: FakeTask };
    assert.equal(copy.a, copy.b);
    assert.deepEqual(codec.decode(codec.encode([1n])), [1n]);
  });
});
