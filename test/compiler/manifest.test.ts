/**
 * The module manifest: the d-async functions a module defines (id, name, version, location) and
 * their suspension points with the live variables each one stores. Liveness is checked case by
 * case: what is read after an await (on any path, exceptional ones included) is live; what is
 * dead there, overwritten first, or a nested function declaration (re-created by `hoist`) is not.
 * The manifest must agree with the descriptors the compiled module hands to the runtime.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type FunctionManifest, transform } from "../../src/compiler/index.js";
import type { FunctionDescriptor } from "../../src/core/protocol.js";
import { importCompiled, inlineFixture, REPO } from "./fixtures/support.js";

const FILE = "src/flows/liveness.ts";

const MODULE = `import { dasync, DTask } from "dtasks";
const work = (x: unknown) => Promise.resolve(x);

export const deadAndLive = dasync(async function deadAndLive(input: number) {
  const dead = input * 2;
  const kept = input + 1;
  const first = await work(dead);
  return kept + first;
});

export const overwritten = dasync(async function overwritten(input: number) {
  let x = input;
  await DTask.delay(1);
  x = 5;
  return x;
});

export const loop = dasync(async function loop(items: string[]) {
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    const scratch = items[i]!.length;
    total += scratch;
    await DTask.yield();
  }
  return total;
});

export const exceptional = dasync(async function exceptional(url: string) {
  const note = "failed: " + url;
  try {
    await DTask.delay(1);
  } catch {
    return note;
  }
  return "ok";
});

export const inFinally = dasync(async function inFinally(id: string) {
  const started = Date.now();
  try {
    await DTask.delay(1);
  } finally {
    console.debug(id, started >= 0);
  }
});

export const oneBranch = dasync(async function oneBranch(flag: boolean, a: number, b: number) {
  await DTask.delay(1);
  return flag ? a : 0;
});

export const hoisted = dasync(async function hoisted(n: number) {
  function double(x: number) {
    return x * 2;
  }
  await DTask.delay(1);
  return double(n);
});

export const shadowed = dasync(async function shadowed(x: number) {
  {
    const x = "inner";
    await DTask.delay(1);
    console.debug(x);
  }
  await DTask.delay(2);
  return x;
});
`;

/** `file:line:column` of the first occurrence of `text` in MODULE (after `after`, if given). */
function at(text: string, after = ""): string {
  const index = MODULE.indexOf(text, MODULE.indexOf(after));
  assert.ok(index >= 0, `${text} is in the module`);
  const before = MODULE.slice(0, index).split("\n");
  return `${FILE}:${before.length}:${before[before.length - 1]!.length + 1}`;
}

function compile() {
  return transform(MODULE, { filename: FILE, root: REPO, sourceMaps: false });
}

function fn(functions: FunctionManifest[], name: string): FunctionManifest {
  const found = functions.find((f) => f.name === name);
  assert.ok(found, `no function ${name} in the manifest`);
  return found;
}

/** Live sets in source order of the awaits, with compiler temps left out. */
function liveSets(f: FunctionManifest): string[][] {
  return f.suspensionPoints.map((p) => p.live.filter((slot) => !slot.startsWith("$t")));
}

describe("the module manifest", () => {
  const result = compile();
  const { functions } = result.manifest;

  it("lists the module and every d-async function in source order", () => {
    assert.equal(result.manifest.file, FILE);
    assert.deepEqual(
      functions.map((f) => f.name),
      ["deadAndLive", "overwritten", "loop", "exceptional", "inFinally", "oneBranch", "hoisted", "shadowed"],
    );
    for (const f of functions) {
      assert.equal(f.id, `src/flows/liveness#${f.name}`);
      assert.match(f.version, /^[0-9a-f]{12}$/);
      assert.match(f.loc, /^src\/flows\/liveness\.ts:\d+:\d+$/);
      for (const p of f.suspensionPoints) {
        assert.equal(typeof p.state, "number");
        assert.match(p.loc, /^src\/flows\/liveness\.ts:\d+:\d+$/);
        assert.ok(p.src.startsWith("await "), p.src);
      }
    }
    assert.equal(fn(functions, "deadAndLive").loc, at("async function deadAndLive"));
    assert.equal(fn(functions, "deadAndLive").suspensionPoints[0]!.loc, at("await work(dead)"));
  });

  it("is plain data (JSON round trip)", () => {
    assert.deepEqual(JSON.parse(JSON.stringify(result.manifest)), result.manifest);
  });

  it("is empty for a module without d-async functions", () => {
    const plain = transform("export const x: number = 1;\n", {
      filename: "src/plain.ts",
      root: REPO,
      sourceMaps: false,
    });
    assert.deepEqual(plain.manifest, { file: "src/plain.ts", functions: [] });
    assert.equal(plain.changed, false);
    assert.deepEqual(plain.warnings, []);
  });

  it("liveness: a local dead at an await is not stored; one read after it is", () => {
    assert.deepEqual(liveSets(fn(functions, "deadAndLive")), [["kept"]]);
  });

  it("liveness: a local overwritten before any read after the await is not stored", () => {
    assert.deepEqual(liveSets(fn(functions, "overwritten")), [[]]);
  });

  it("liveness: loop-carried locals are stored, a per-iteration temporary is not", () => {
    assert.deepEqual(liveSets(fn(functions, "loop")), [["i", "items", "total"]]);
  });

  it("liveness: a local read only in the catch block is live at an await inside the try", () => {
    assert.deepEqual(liveSets(fn(functions, "exceptional")), [["note"]]);
  });

  it("liveness: a local read in the finally block is live at an await inside the try", () => {
    assert.deepEqual(liveSets(fn(functions, "inFinally")), [["id", "started"]]);
  });

  it("liveness: a local read on some path after the await is live, an unused parameter is not", () => {
    assert.deepEqual(liveSets(fn(functions, "oneBranch")), [["a", "flag"]]);
  });

  it("liveness: nested function declarations are never stored (hoist re-creates them)", () => {
    assert.deepEqual(liveSets(fn(functions, "hoisted")), [["n"]]);
  });

  it("shadowed locals get their own slots, each named as written in the descriptor", async () => {
    const [inner, outer] = fn(functions, "shadowed").suspensionPoints;
    assert.equal(inner!.live.length, 2);
    assert.deepEqual(outer!.live, ["x"]);
    const innerSlot = inner!.live.find((slot) => slot !== "x")!;
    assert.match(innerSlot, /^x\$\d+$/);
    const descriptor = await descriptorOf("shadowed");
    assert.equal(descriptor.slots[innerSlot]![0], "x");
    assert.equal(descriptor.slots[innerSlot]![1], at('x = "inner"', "function shadowed"));
    assert.equal(descriptor.slots.x![1], at("x: number", "function shadowed"));
  });

  it("registers: a local live at no await is not a slot of the frame", async () => {
    const deadAndLive = await descriptorOf("deadAndLive");
    assert.ok(!("dead" in deadAndLive.init()), "`dead` is a register of the step function");
    assert.ok("kept" in deadAndLive.init());
    const loop = await descriptorOf("loop");
    assert.ok(!("scratch" in loop.init()));
  });

  it("agrees with the descriptors of the compiled module", async () => {
    for (const f of functions) {
      const d = await descriptorOf(f.name);
      assert.equal(d.id, f.id);
      assert.equal(d.version, f.version);
      assert.equal(d.loc, f.loc);
      assert.deepEqual(
        Object.entries(d.sp).map(([state, p]) => ({ state: Number(state), ...p })),
        f.suspensionPoints.map(({ state, live, loc, src }) => ({ state, live, loc, src })),
      );
      // Every stored slot is described (name as written and declaration) for messages and tools.
      for (const p of f.suspensionPoints)
        for (const slot of p.live) assert.ok(d.slots[slot], `${f.name}: slot ${slot} is described`);
    }
  });
});

let loaded: Promise<Record<string, { descriptor: FunctionDescriptor }>> | undefined;

async function descriptorOf(name: string): Promise<FunctionDescriptor> {
  loaded ??= importCompiled(inlineFixture(FILE, MODULE), compile().code) as Promise<
    Record<string, { descriptor: FunctionDescriptor }>
  >;
  const exported = (await loaded)[name];
  assert.ok(exported?.descriptor, `the compiled module exports ${name}`);
  return exported.descriptor;
}
