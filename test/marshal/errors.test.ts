// Errors through a snapshot: class, name, message, stack, cause, AggregateError.errors and own
// fields survive; DTaskError keeps its code; unregistered subclasses degrade to their base.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DTaskCanceledError, DTaskError } from "../../src/core/errors.js";
import { createClassRegistry, decode, encode, marshal, unmarshal } from "../../src/marshal/index.js";
import { assertRoundTrip } from "./helpers.js";

describe("built-in error classes", () => {
  const classes = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
  for (const Cls of classes) {
    test(`${Cls.name} keeps its class, message and stack`, () => {
      const error = new Cls("it broke");
      const copy = assertRoundTrip(error);
      assert.ok(copy instanceof Cls);
      assert.equal(Object.getPrototypeOf(copy), Cls.prototype);
      assert.equal(copy.name, Cls.name);
      assert.equal(copy.message, "it broke");
      assert.equal(copy.stack, error.stack);
      assert.equal(Object.prototype.toString.call(copy), "[object Error]");
    });
  }

  test("AggregateError keeps .errors", () => {
    const error = new AggregateError([new TypeError("one"), "two", { three: 3 }], "several");
    const copy = assertRoundTrip(error);
    assert.ok(copy instanceof AggregateError);
    assert.equal((copy.errors[0] as Error).message, "one");
    assert.deepEqual(Object.getOwnPropertyDescriptor(copy, "errors")?.enumerable, false);
  });

  test("cause of any kind, including undefined, is kept with its own-ness", () => {
    assertRoundTrip(new Error("a", { cause: new Error("b", { cause: 42n }) }));
    const withUndefined = assertRoundTrip(new Error("a", { cause: undefined }));
    assert.ok(Object.hasOwn(withUndefined, "cause"));
    const without = assertRoundTrip(new Error("a"));
    assert.ok(!Object.hasOwn(without, "cause"));
    assertRoundTrip(new Error("a", { cause: { detail: [1, 2], when: new Date(0) } }));
  });

  test("own enumerable fields (code, status, details) are kept, non-enumerable stays so", () => {
    const error = Object.assign(new Error("http"), {
      code: "ECONNRESET",
      status: 503,
      details: { retry: true },
    });
    const copy = assertRoundTrip(error);
    assert.equal(copy.code, "ECONNRESET");
    assert.equal(copy.status, 503);
    assert.deepEqual(Object.keys(copy), ["code", "status", "details"]);
    assert.equal(Object.getOwnPropertyDescriptor(copy, "message")?.enumerable, false);
    assert.equal(Object.getOwnPropertyDescriptor(copy, "stack")?.enumerable, false);
  });

  test("an error without a message or a stack stays without", () => {
    const bare = new Error();
    delete (bare as { stack?: string }).stack;
    const copy = assertRoundTrip(bare);
    assert.ok(!Object.hasOwn(copy, "message"));
    assert.ok(!Object.hasOwn(copy, "stack"));
    assert.equal(copy.message, "");
  });

  test("a changed name and an odd message are kept", () => {
    const error = new Error("x");
    error.name = "CustomName"; // an own enumerable field now
    assert.equal(assertRoundTrip(error).name, "CustomName");
    const hidden = new Error("y");
    Object.defineProperty(hidden, "name", {
      value: "Hidden",
      enumerable: false,
      writable: true,
      configurable: true,
    });
    const copy = assertRoundTrip(hidden);
    assert.equal(copy.name, "Hidden");
    assert.equal(Object.getOwnPropertyDescriptor(copy, "name")?.enumerable, false);
    const odd = new Error("z");
    (odd as { message: unknown }).message = { structured: true };
    assertRoundTrip(odd);
  });
});

describe("dtasks errors", () => {
  test("DTaskError keeps its code, class and instanceof", () => {
    const error = new DTaskError("DT205", "an invalid duration: 'soon'", { cause: new RangeError("r") });
    const copy = assertRoundTrip(error);
    assert.ok(copy instanceof DTaskError);
    assert.equal(copy.code, "DT205");
    assert.equal(copy.name, "DTaskError");
    assert.equal(copy.toString(), "DTaskError [DT205]: an invalid duration: 'soon'");
    assert.ok(copy.cause instanceof RangeError);
  });

  test("DTaskCanceledError stays a DTaskCanceledError with DT210", () => {
    const copy = assertRoundTrip(new DTaskCanceledError("canceled by the user"));
    assert.ok(copy instanceof DTaskCanceledError);
    assert.ok(copy instanceof DTaskError);
    assert.equal(copy.code, "DT210");
    assert.equal(copy.name, "DTaskCanceledError");
    assert.equal(copy.message, "canceled by the user");
  });

  test("an unregistered subclass of DTaskError degrades to DTaskError with its name", () => {
    class VersionMismatch extends DTaskError {
      override get name(): string {
        return "VersionMismatch";
      }
    }
    const copy = unmarshal(marshal(new VersionMismatch("DT208", "changed"))) as DTaskError;
    assert.equal(Object.getPrototypeOf(copy), DTaskError.prototype);
    assert.equal(copy.name, "VersionMismatch");
    assert.equal(copy.code, "DT208");
  });
});

describe("error subclasses", () => {
  class HttpError extends Error {
    constructor(
      message: string,
      readonly status: number,
    ) {
      super(message);
      this.name = "HttpError";
    }
  }

  test("an unregistered subclass is stored as its built-in base, keeping name and fields", () => {
    const copy = unmarshal(marshal(new HttpError("not found", 404))) as Error & { status: number };
    assert.equal(Object.getPrototypeOf(copy), Error.prototype);
    assert.equal(copy.name, "HttpError");
    assert.equal(copy.status, 404);
    assert.equal(copy.message, "not found");
  });

  test("a registered subclass comes back as itself, without running its constructor", () => {
    const registry = createClassRegistry();
    let constructed = 0;
    class Tracked extends RangeError {
      constructor(message: string) {
        super(message);
        constructed++;
      }
    }
    registry.register(Tracked);
    registry.register(HttpError);
    const tree = encode([new Tracked("t"), new HttpError("h", 500)], { registry });
    assert.equal((tree as { cid?: string }[])[0].cid, "Tracked");
    const [t, h] = decode(tree, { registry }) as [Tracked, HttpError];
    assert.equal(constructed, 1);
    assert.ok(t instanceof Tracked && t instanceof RangeError);
    assert.equal(Object.prototype.toString.call(t), "[object Error]");
    assert.ok(h instanceof HttpError);
    assert.equal(h.status, 500);
    assert.equal(h.name, "HttpError");
  });

  test("an unregistered subclass of a registered error class degrades to the registered one", () => {
    const registry = createClassRegistry();
    class Base extends Error {}
    class Derived extends Base {}
    registry.register(Base);
    const copy = decode(encode(new Derived("d"), { registry }), { registry }) as Error;
    assert.equal(Object.getPrototypeOf(copy), Base.prototype);
  });

  test("DOMException (AbortError) degrades to Error and keeps its name", () => {
    const copy = unmarshal(marshal(new DOMException("stop", "AbortError"))) as Error;
    assert.ok(copy instanceof Error);
    assert.equal(copy.name, "AbortError");
    assert.equal(copy.message, "stop");
  });
});
