// The Node loader (`dtasks/register`), run for real: `node --import <bootstrap> app.ts` on temp
// copies of a small TypeScript app, checking stripping, resolution, compilation, source maps and
// compile errors as a user would see them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { transform } from "../../src/compiler/index.js";
import { normalizeLoaderOptions } from "../../src/compiler/node/options.js";
import { copyFixture, jsonOf, node, nodeWithLoader, REPO, removeDir, writeFiles } from "./helpers/fixture.js";

describe("node loader", () => {
  let dir: string;
  before(() => {
    dir = copyFixture("loader");
  });
  after(() => removeDir(dir));

  test("strips TypeScript and resolves TypeScript's ./x.js imports to .ts, .tsx and .mts files", () => {
    writeFiles(dir, {
      "strip/main.ts": [
        'import { twice } from "./num.js";',
        'import { shout } from "./text.mjs";',
        'import { tag } from "./tag.js";',
        'import { viaJs } from "./from-js.mjs";',
        'import { which } from "./both.js";',
        "const n: number = twice(21);",
        "console.log(JSON.stringify({ n, s: shout('hi'), t: tag(), j: viaJs, which }));",
      ].join("\n"),
      "strip/num.ts": "export type N = number;\nexport function twice(x: N): N { return x * 2; }\n",
      "strip/text.mts": "export const shout = (s: string): string => s.toUpperCase();\n",
      "strip/tag.tsx": "export function tag(): string { return 'tsx' as string; }\n",
      // A JavaScript importer: its ./x.js finds x.ts only because no x.js exists.
      "strip/from-js.mjs": 'export { viaJs } from "./only-ts.js";\n',
      "strip/only-ts.ts": "export const viaJs: string = 'only-ts';\n",
      // A TypeScript importer gets the TypeScript file even next to a compiled .js, as with tsc.
      "strip/both.ts": "export const which: string = 'ts';\n",
      "strip/both.js": "export const which = 'stale js';\n",
    });
    const run = nodeWithLoader(dir, ["strip/main.ts"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(jsonOf(run), { n: 42, s: "HI", t: "tsx", j: "only-ts", which: "ts" });
  });

  test("compiles d-async functions: the descriptor has the id and version of the compiler's manifest", () => {
    const file = join(dir, "src/flow.ts");
    const manifest = transform(readFileSync(file, "utf8"), { filename: file, root: dir }).manifest;
    const expected = manifest.functions.find((f) => f.name === "order");
    assert.ok(expected, "the compiler lists `order` in the module manifest");
    assert.equal(expected.id, "src/flow#order");
    const run = nodeWithLoader(dir, ["src/main.ts", "id"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(jsonOf(run), { id: "src/flow#order", version: expected.version });
  });

  test("a d-async call suspends at a durable wait and resumes in a fresh process", () => {
    const snapshot = join(dir, "snapshot.json");
    const started = nodeWithLoader(dir, ["src/main.ts", "start", snapshot]);
    assert.equal(started.status, 0, started.stderr);
    assert.deepEqual(jsonOf(started).status, "suspended");
    const stored = JSON.parse(readFileSync(snapshot, "utf8"));
    assert.equal(stored.stack[0].fn, "src/flow#order");
    assert.deepEqual(
      Object.keys(stored.stack[0].l).sort(),
      ["first", "items"],
      "only locals live across the wait are stored",
    );
    const resumed = nodeWithLoader(dir, ["src/main.ts", "resume", snapshot]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(jsonOf(resumed), { status: "succeeded", value: "2xapple,3xpear" });
  });

  test("an error thrown in a d-async function reports the original .ts line in its stack", () => {
    const run = nodeWithLoader(dir, ["src/main.ts", "boom"]);
    assert.equal(run.status, 0, run.stderr);
    const { status, stack } = jsonOf(run);
    assert.equal(status, "faulted");
    assert.match(stack, /^Error: boom 7\n/);
    // The throw comes after an ordinary await, which the compiled step awaits itself: its frame may
    // be the last line of the stack.
    assert.match(stack, /flow\.ts:14:\d+\)?(\n|$)/, `the first frames point at flow.ts line 14:\n${stack}`);
  });

  test("other decorators in a module with d-async functions are lowered (standard decorators); @dasync methods beside them run durably, stack lines point at the .ts", () => {
    writeFiles(dir, {
      "decorated/main.ts": [
        'import { createHost, dasync, DTask, memoryStore } from "dtasks";',
        "const calls: string[] = [];",
        "function logged<T extends (...args: any[]) => any>(method: T, context: ClassMethodDecoratorContext): T {",
        "  return function (this: unknown, ...args: any[]) {",
        "    calls.push(String(context.name));",
        "    return method.apply(this, args);",
        "  } as T;",
        "}",
        "function tagged(value: Function, _context: ClassDecoratorContext) {",
        "  (value as unknown as { tag: string }).tag = 'tagged';",
        "}",
        "@tagged",
        "class Greeter {",
        "  @logged greet(n: number): string { return 'hello ' + n; }",
        "  @dasync async work(n: number): Promise<string> {",
        "    await DTask.yield();",
        "    if (n < 0) throw new Error('negative');",
        "    return (Greeter as unknown as { tag: string }).tag + ' ' + (n + 1);",
        "  }",
        "}",
        "const host = createHost({ store: memoryStore() });",
        "const worker = host.startWorker();",
        "const g = new Greeter();",
        "const work = await (await host.start(g.work(41))).result();",
        "let stack = '';",
        "try { await (await host.start(g.work(-1))).result(); } catch (error) { stack = (error as Error).stack ?? ''; }",
        "await worker.stop();",
        "await host.close();",
        "console.log(JSON.stringify({ greet: g.greet(1), calls, work, stack }));",
      ].join("\n"),
    });
    const run = nodeWithLoader(dir, ["--enable-source-maps", "decorated/main.ts"]);
    assert.equal(run.status, 0, run.stderr);
    const out = jsonOf(run);
    assert.equal(out.greet, "hello 1");
    assert.deepEqual(out.calls, ["greet"]);
    assert.equal(out.work, "tagged 42");
    assert.match(out.stack, /^Error: negative\n/);
    assert.match(
      out.stack,
      /decorated\/main\.ts:17:\d+\)?\n/,
      `the first frames point at main.ts line 17:\n${out.stack}`,
    );
  });

  test("a compile error in a d-async function prints its code, location and a code frame", () => {
    writeFiles(dir, {
      "bad/args.ts": [
        'import { dasync } from "dtasks";',
        "",
        "export const f = dasync(async function f(a: number) {",
        "  return arguments.length + a;",
        "});",
      ].join("\n"),
    });
    const run = nodeWithLoader(dir, ["bad/args.ts"]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /bad\/args\.ts:4:\d+: \[DT101\]/);
    assert.match(run.stderr, /> 4 \| {3}return arguments\.length \+ a;\n\s+\|\s+\^/);
    assert.doesNotMatch(run.stderr, /node_modules[\\/]@babel/, "no compiler-internal stack frames");
  });

  test("compiler warnings are printed on stderr, and the module still loads", () => {
    writeFiles(dir, {
      "warn/leak.ts": [
        'import { DTask, dasync } from "dtasks";',
        "export const leak = dasync(async function leak() {",
        "  const callback = () => 1;",
        "  await DTask.delay(1);",
        "  return callback();",
        "});",
        "console.log(JSON.stringify({ id: leak.descriptor?.id }));",
      ].join("\n"),
    });
    const run = nodeWithLoader(dir, ["warn/leak.ts"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(jsonOf(run), { id: "warn/leak#leak" });
    assert.match(run.stderr, /warn\/leak\.ts:4:\d+: warning DT110: .*'callback'/);
  });

  test("a syntax error in TypeScript without d-async functions prints a code frame too", () => {
    writeFiles(dir, { "bad/syntax.ts": "const a: number = 1;\nexport const b = a +;\n" });
    const run = nodeWithLoader(dir, ["bad/syntax.ts"]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /bad\/syntax\.ts:2:21: Unexpected ";"/);
    assert.match(run.stderr, /> 2 \| export const b = a \+;\n\s+\|\s+\^/);
  });

  test("plain JavaScript ES modules that define d-async functions are compiled as well", () => {
    writeFiles(dir, {
      "js/flow.mjs": [
        'import { dasync } from "dtasks";',
        "export const hello = dasync(async function hello(name) {",
        "  return 'hello ' + name;",
        "});",
        "console.log(JSON.stringify({ id: hello.descriptor?.id }));",
      ].join("\n"),
    });
    const run = nodeWithLoader(dir, ["js/flow.mjs"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(jsonOf(run), { id: "js/flow#hello" });
  });

  test("files under node_modules are not compiled (TypeScript there is only stripped); CommonJS is left to Node", () => {
    writeFiles(dir, {
      "node_modules/uncompiled-lib/package.json":
        '{ "name": "uncompiled-lib", "type": "module", "exports": "./index.ts" }',
      "node_modules/uncompiled-lib/index.ts": [
        'import { dasync } from "dtasks";',
        "export const libFn = dasync(async function libFn(x: number) {",
        "  return x;",
        "});",
      ].join("\n"),
      "cjs/package.json": '{ "type": "commonjs" }',
      "cjs/legacy.js": "module.exports = { word: 'dasync' };\n",
      "modules/main.ts": [
        'import { libFn } from "uncompiled-lib";',
        'import legacy from "../cjs/legacy.js";',
        "let error: { code?: string } | undefined;",
        "try { libFn(1); } catch (e) { error = e as { code?: string }; }",
        "console.log(JSON.stringify({ compiled: libFn.descriptor !== undefined, code: error?.code, legacy }));",
      ].join("\n"),
    });
    const run = nodeWithLoader(dir, ["modules/main.ts"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(jsonOf(run), { compiled: false, code: "DT201", legacy: { word: "dasync" } });
  });

  test("where module.registerHooks exists (Node ≥ 22.15), register installs synchronous in-thread hooks", () => {
    // Only Node 20 runs here, so registerHooks is stood in for: it records the hooks, and the
    // probe drives them with synchronous `next` functions, as Node ≥ 22.15 does.
    writeFiles(dir, {
      "sync/fake-register-hooks.mjs": [
        'import Module from "node:module";',
        "globalThis.registerCalls = 0;",
        "const register = Module.register;",
        "Module.register = (...args) => { globalThis.registerCalls++; return register(...args); };",
        "Module.registerHooks = (hooks) => { globalThis.installed = hooks; };",
      ].join("\n"),
      "sync/probe.mjs": [
        'import { pathToFileURL } from "node:url";',
        "const { resolve, load } = globalThis.installed;",
        'const parentURL = pathToFileURL(process.cwd() + "/src/main.ts").href;',
        "const context = { conditions: [], importAttributes: {} };",
        'const nextResolve = () => { throw new Error("the TypeScript file is resolved by dtasks"); };',
        'const resolved = resolve("./flow.js", { ...context, parentURL }, nextResolve);',
        "const loaded = load(resolved.url, { ...context, format: resolved.format }, () => null);",
        'const passed = load("node:fs", { ...context, format: "builtin" }, () => ({ format: "builtin", source: null }));',
        "console.log(JSON.stringify({",
        "  registerCalls: globalThis.registerCalls,",
        "  url: resolved.url.slice(resolved.url.lastIndexOf('/') + 1),",
        "  sync: !(loaded instanceof Promise) && !(resolved instanceof Promise),",
        "  format: loaded.format,",
        "  compiled: String(loaded.source).includes('\"src/flow#order\"'),",
        "  passed,",
        "}));",
      ].join("\n"),
    });
    const register = join(REPO, "src/compiler/node/register.ts");
    const run = node(dir, [
      "--import",
      import.meta.resolve("tsx"),
      "--import",
      "./sync/fake-register-hooks.mjs",
      "--import",
      register,
      "sync/probe.mjs",
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(jsonOf(run), {
      registerCalls: 0,
      url: "flow.ts",
      sync: true,
      format: "module",
      compiled: true,
      passed: { format: "builtin", source: null },
    });
  });

  test("loader options are checked: unknown keys and wrong types are named", () => {
    assert.deepEqual(normalizeLoaderOptions(undefined), {});
    assert.deepEqual(normalizeLoaderOptions({ keepNative: true }), { keepNative: true });
    assert.throws(
      () => normalizeLoaderOptions({ keepNativ: true, runtimeModules: "dtasks" }),
      (error: Error) =>
        error instanceof TypeError &&
        error.message.includes("unknown option 'keepNativ' (did you mean 'keepNative'?)") &&
        error.message.includes("option 'runtimeModules' must be an array of module specifiers"),
    );
  });
});
