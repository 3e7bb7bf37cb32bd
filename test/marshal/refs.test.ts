// Shared references and cycles: the same object reachable twice is one object after decoding,
// through every kind of container, in every format.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createClassRegistry, decode, encode, type Surrogate } from "../../src/marshal/index.js";
import { allRoundTrips, assertRoundTrip, catchCode } from "./helpers.js";

describe("shared references", () => {
  test("an object reached from two places is one object", () => {
    const shared = { n: 1 };
    for (const [route, copy] of allRoundTrips({ a: shared, b: [shared], c: { d: shared } })) {
      const c = copy as { a: object; b: object[]; c: { d: object } };
      assert.equal(c.a, c.b[0], route);
      assert.equal(c.a, c.c.d, route);
    }
  });

  test("distinct but equal objects stay distinct", () => {
    const copy = assertRoundTrip({ a: { n: 1 }, b: { n: 1 } });
    assert.notEqual(copy.a, copy.b);
  });

  test("every kind of object can be shared", () => {
    const kinds = [
      [1],
      { o: 1 },
      new Date(1),
      /r/,
      new Map([[1, 2]]),
      new Set([1]),
      new ArrayBuffer(2),
      new Uint8Array(2),
      new URL("http://a.test/"),
      new Error("e"),
      Object.create(null),
      { $: "escaped" },
    ];
    for (const shared of kinds) {
      const copy = assertRoundTrip([shared, { again: shared }]) as [unknown, { again: unknown }];
      assert.equal(copy[0], copy[1].again, Object.prototype.toString.call(shared));
    }
  });

  test("the same buffer under two views and on its own stays one buffer", () => {
    const buffer = new ArrayBuffer(4);
    const copy = assertRoundTrip([new Uint8Array(buffer), new DataView(buffer), buffer]);
    assert.equal((copy[0] as Uint8Array).buffer, copy[2]);
    assert.equal((copy[1] as DataView).buffer, copy[2]);
  });
});

describe("cycles", () => {
  test("an object that contains itself", () => {
    const node: Record<string, unknown> = { v: 1 };
    node.self = node;
    for (const [route, copy] of allRoundTrips(node)) {
      const c = copy as typeof node;
      assert.equal(c.self, c, route);
    }
  });

  test("an array that contains itself, in the middle", () => {
    const list: unknown[] = [1];
    list.push(list, 3);
    const copy = assertRoundTrip(list);
    assert.equal(copy[1], copy);
    assert.deepEqual([copy[0], copy[2]], [1, 3]);
  });

  test("a doubly linked list", () => {
    type Node = { v: number; prev?: Node; next?: Node };
    const nodes: Node[] = Array.from({ length: 50 }, (_, v) => ({ v }));
    nodes.forEach((n, i) => {
      n.prev = nodes[i - 1];
      n.next = nodes[i + 1];
    });
    const copy = assertRoundTrip(nodes[0]);
    let cursor: Node | undefined = copy;
    for (let i = 0; i < 49; i++) {
      assert.equal(cursor!.next!.prev, cursor);
      cursor = cursor!.next;
    }
  });

  test("through Map keys and values and Set items", () => {
    const map = new Map<unknown, unknown>();
    map.set(map, map);
    const set = new Set<unknown>();
    set.add(set);
    const copy = assertRoundTrip({ map, set });
    const [[k, v]] = [...copy.map];
    assert.equal(k, copy.map);
    assert.equal(v, copy.map);
    assert.ok(copy.set.has(copy.set));
  });

  test("through error causes and AggregateError.errors", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as Error & { cause?: unknown }).cause = b;
    const aggregate = new AggregateError([a, b], "all");
    (aggregate as AggregateError & { self?: unknown }).self = aggregate;
    const copy = assertRoundTrip(aggregate) as AggregateError & { self: unknown };
    const [ca, cb] = copy.errors as Error[];
    assert.equal(ca.cause, cb);
    assert.equal(cb.cause, ca);
    assert.equal(copy.self, copy);
  });

  test("through fields of registered classes", () => {
    const registry = createClassRegistry();
    class Parent {
      children: Child[] = [];
    }
    class Child {
      constructor(public parent: Parent) {}
    }
    registry.register(Parent);
    registry.register(Child);
    const parent = new Parent();
    parent.children.push(new Child(parent), new Child(parent));
    const copy = assertRoundTrip(parent, { registry });
    assert.ok(copy instanceof Parent);
    assert.equal(copy.children[0].parent, copy);
    assert.equal(copy.children[1].parent, copy);
  });

  test("through a null-prototype object and an escaped object", () => {
    const dict = Object.create(null) as Record<string, unknown>;
    dict.me = dict;
    const odd: Record<string, unknown> = { $: 1 };
    odd.me = odd;
    const copy = assertRoundTrip({ dict, odd });
    assert.equal(copy.dict.me, copy.dict);
    assert.equal(copy.odd.me, copy.odd);
  });

  test("shared references inside custom data resolve against the rest of the value", () => {
    class Box {
      constructor(readonly content: unknown) {}
    }
    const surrogate: Surrogate<Box, unknown> = {
      tag: "box",
      test: (v) => v instanceof Box,
      encode: (box) => box.content,
      decode: (content) => new Box(content),
    };
    const shared = { s: 1 };
    const box = new Box(shared);
    const copy = assertRoundTrip({ shared, box, again: box }, { surrogates: [surrogate] });
    assert.equal(copy.box.content, copy.shared);
    assert.equal(copy.again, copy.box);
  });

  test("an object reached only inside a value's custom data and then outside it", () => {
    class Box {
      constructor(readonly content: unknown) {}
    }
    const surrogate: Surrogate<Box, unknown> = {
      tag: "box",
      test: (v) => v instanceof Box,
      encode: (box) => ({ inner: box.content }),
      decode: (data) => new Box((data as { inner: unknown }).inner),
    };
    const shared = [1, 2];
    const copy = assertRoundTrip({ box: new Box(shared), later: shared }, { surrogates: [surrogate] });
    assert.equal(copy.box.content, copy.later);
  });
});

describe("cycles that cannot be rebuilt", () => {
  test("a value whose own custom data contains it is reported when encoding", () => {
    class Loop {
      me: Loop = this;
    }
    const surrogate: Surrogate<Loop, unknown> = {
      tag: "loop",
      test: (v) => v instanceof Loop,
      encode: (loop) => ({ me: loop.me }),
      decode: () => new Loop(),
    };
    const error = catchCode("DT301", () => encode({ l: new Loop() }, { surrogates: [surrogate] }));
    assert.deepEqual(
      error.offenders?.map((o) => o.path),
      [["l", "<data>", "me"]],
    );
    assert.match(
      error.message,
      /l<data>\.me: Loop \(it contains itself through the data of its custom serializer/,
    );
  });

  test("a hostile tree that refers into custom data being rebuilt fails cleanly", () => {
    const surrogate: Surrogate = { tag: "t", test: () => false, encode: (v) => v, decode: (d) => ({ d }) };
    const tree = { $: "surrogate", t: "t", "#": 0, data: { $: "ref", i: 0 } };
    const error = catchCode("DT302", () => decode(tree, { surrogates: [surrogate] }));
    assert.match(error.message, /still being rebuilt by custom code/);
  });
});
