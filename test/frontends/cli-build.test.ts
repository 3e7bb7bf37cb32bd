// `dtasks build`, run for real (`node src/cli/bin.ts build …` through the development loader) on
// temp copies of the fixture app: outputs, manifest, source maps, exit codes and messages.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { main } from "../../src/cli/index.js";
import { transform } from "../../src/compiler/index.js";
import { copyFixture, jsonOf, node, nodeWithLoader, REPO, removeDir, writeFiles } from "./helpers/fixture.js";

const BIN = join(REPO, "src/cli/bin.ts");
/** Runs built output: tsx only loads the unbuilt dtasks runtime of this checkout; the app is plain JS. */
const TSX = import.meta.resolve("tsx");

function dtasks(cwd: string, args: string[]) {
  return nodeWithLoader(cwd, [BIN, ...args]);
}

/** Runs the CLI in process through main(), which bin.ts only connects to the process. */
async function cli(cwd: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: "", stderr: "" };
  const code = await main(argv, {
    cwd,
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
  });
  return { code, ...out };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe("dtasks build", () => {
  let dir: string;
  before(() => {
    dir = copyFixture("cli");
    writeFiles(dir, {
      "src/data.json": '{ "not": "copied" }',
      "src/types.d.ts": "export type Unused = string;\n",
      "src/nested/plain.mjs": "export const plain = 'kept as written';\n",
    });
  });
  after(() => removeDir(dir));

  test("compiles the tree to runnable JavaScript with source maps and a manifest", () => {
    const run = dtasks(dir, ["build", "src", "--out-dir", "dist"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /dtasks build: 5 files → dist \(2 d-async functions in 1 module\)/);
    assert.deepEqual(filesUnder(join(dir, "dist")), [
      "driver.js",
      "driver.js.map",
      "dtasks-manifest.json",
      "flow.js",
      "flow.js.map",
      "label.js",
      "label.js.map",
      "main.js",
      "main.js.map",
      "nested/plain.mjs",
    ]);
    assert.equal(
      readFileSync(join(dir, "dist/nested/plain.mjs"), "utf8"),
      "export const plain = 'kept as written';\n",
    );
    const map = JSON.parse(readFileSync(join(dir, "dist/flow.js.map"), "utf8"));
    assert.deepEqual([map.file, map.sources], ["flow.js", ["../src/flow.ts"]]);
    assert.match(
      readFileSync(join(dir, "dist/flow.js"), "utf8"),
      /\n\/\/# sourceMappingURL=flow\.js\.map\n$/,
    );

    const out = join(dir, "dist/main.js");
    const snapshot = join(dir, "snapshot.json");
    const started = jsonOf(node(dir, ["--conditions=source", "--import", TSX, out, "start", snapshot]));
    assert.equal(started.status, "suspended");
    const resumed = jsonOf(node(dir, ["--conditions=source", "--import", TSX, out, "resume", snapshot]));
    assert.deepEqual(resumed, { status: "succeeded", value: "2xapple,3xpear" });
    const boom = jsonOf(
      node(dir, ["--conditions=source", "--import", TSX, "--enable-source-maps", out, "boom"]),
    );
    assert.match(boom.stack, /src\/flow\.ts:14:\d+/, `the stack points at the source line:\n${boom.stack}`);
  });

  test("the manifest lists every d-async function with its module, version and suspension points", () => {
    const manifest = JSON.parse(readFileSync(join(dir, "dist/dtasks-manifest.json"), "utf8"));
    const source = join(dir, "src/flow.ts");
    const compiled = transform(readFileSync(source, "utf8"), { filename: source, root: dir }).manifest;
    assert.equal(manifest.dtasksManifest, 1);
    assert.deepEqual(Object.keys(manifest.functions), ["src/flow#order", "src/flow#boom"]);
    for (const fn of compiled.functions) {
      assert.deepEqual(manifest.functions[fn.id], {
        name: fn.name,
        file: "src/flow.ts",
        module: "flow.js",
        version: fn.version,
        loc: fn.loc,
        suspensionPoints: fn.suspensionPoints,
      });
    }
    assert.deepEqual(manifest.functions["src/flow#order"].suspensionPoints[0].live.sort(), [
      "first",
      "items",
    ]);
  });

  test("compiler warnings are printed with their location", async () => {
    writeFiles(dir, {
      "warn/leak.ts": [
        'import { DTask, dasync } from "dtasks";',
        "export const leak = dasync(async function leak() {",
        "  const callback = () => 1;",
        "  await DTask.delay(1);",
        "  return callback();",
        "});",
      ].join("\n"),
    });
    const run = await cli(dir, ["build", "warn", "--out-dir", "out-warn"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warn\/leak\.ts:4:\d+: warning DT110: .*'callback'/);
  });

  test("usage errors exit with 2 and list every problem at once", async () => {
    const unknown = await cli(dir, ["build", "--ot-dir", "x", "--verbose"]);
    assert.equal(unknown.code, 2);
    assert.equal(
      unknown.stderr,
      [
        "error: unknown option '--ot-dir' (did you mean '--out-dir'?)",
        "error: unknown option '--verbose'",
        "error: missing --out-dir <dir>",
        "usage: dtasks build <srcDir> --out-dir <dir>",
        "",
      ].join("\n"),
    );
    const missing = await cli(dir, ["build", "no-such-dir", "extra", "-o", "src"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /error: one source folder expected, got 2: no-such-dir extra\n/);
    assert.match(missing.stderr, /error: source folder no-such-dir does not exist or is not a folder\n/);
    const same = await cli(dir, ["build", "src", "--out-dir", "src"]);
    assert.equal(same.code, 2);
    assert.match(same.stderr, /--out-dir must differ from the source folder/);
    assert.equal((await cli(dir, ["nope"])).code, 2);
    assert.equal((await cli(dir, [])).code, 2);
    const help = await cli(dir, ["build", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: dtasks build <srcDir> --out-dir <dir>/);
    assert.equal(existsSync(join(dir, "x")), false, "nothing is written on a usage error");

    // And through the executable: the code becomes the process's exit code.
    const spawned = dtasks(dir, ["build", "src"]);
    assert.equal(spawned.status, 2);
    assert.match(spawned.stderr, /^error: missing --out-dir <dir>\n/);
  });

  test("a compile error fails the build with exit 1 and a code frame, and writes nothing", async () => {
    writeFiles(dir, {
      "broken/ok.ts": "export const fine: number = 1;\n",
      "broken/bad.ts": [
        'import { dasync } from "dtasks";',
        "export const f = dasync(async function f() {",
        "  return arguments.length;",
        "});",
      ].join("\n"),
      "broken/worse.ts": "export const x = ;\n",
    });
    const run = await cli(dir, ["build", "broken", "--out-dir", "out-broken"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /broken\/bad\.ts:3:10: \[DT101\]/);
    assert.match(run.stderr, /> 3 \| {3}return arguments\.length;/);
    assert.match(run.stderr, /broken\/worse\.ts:1:18: Unexpected ";"/, "every failing file is reported");
    assert.match(run.stderr, /error: build failed with 2 errors; nothing was written\n$/);
    assert.equal(existsSync(join(dir, "out-broken")), false);
  });
});
