// The package as users get it: `tsc` output in `dist/` and the `exports` map, used with plain
// `node` and no development loader — `node --import dtasks/register`, the `dtasks` bin, and
// `dtasks/plugin/esbuild` in a build script.
import assert from "node:assert/strict";
import { copyFileSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { copyFixture, jsonOf, node, REPO, removeDir, tempDir, writeFiles } from "./helpers/fixture.js";

// `typescript` exports no `./bin/tsc`; its bin script sits beside its package.json.
const TSC = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin/tsc");

describe("published package", () => {
  let pkg: string;
  let dir: string;
  before(() => {
    pkg = tempDir("pkg");
    const built = node(REPO, [TSC, "-p", "tsconfig.json", "--outDir", join(pkg, "dist")]);
    // Type errors elsewhere in the tree do not stop tsc from emitting; a missing file would.
    assert.ok(built.status === 0 || built.status === 2, `tsc failed: ${built.stdout}${built.stderr}`);
    copyFileSync(join(REPO, "package.json"), join(pkg, "package.json"));
    symlinkSync(join(REPO, "node_modules"), join(pkg, "node_modules"), "dir");
    dir = copyFixture("published", { dtasks: pkg, driver: join(pkg, "dist/runtime/local.js") });
  });
  after(() => {
    removeDir(dir);
    removeDir(pkg);
  });

  test("node --import dtasks/register runs the TypeScript app: compiled, suspended, resumed, mapped", () => {
    const snapshot = join(dir, "snapshot.json");
    const started = node(dir, ["--import", "dtasks/register", "src/main.ts", "start", snapshot]);
    const { status, fn } = jsonOf(started);
    assert.deepEqual({ status, fn }, { status: "suspended", fn: "src/flow#order" });
    const resumed = node(dir, ["--import", "dtasks/register", "src/main.ts", "resume", snapshot]);
    assert.deepEqual(jsonOf(resumed), { status: "succeeded", value: "2xapple,3xpear" });
    const boom = jsonOf(node(dir, ["--import", "dtasks/register", "src/main.ts", "boom"]));
    assert.match(boom.stack, /src\/flow\.ts:14:\d+/);
  });

  test("the dtasks bin builds the app, and the output runs on plain node", () => {
    const built = node(dir, [join(pkg, "dist/cli/bin.js"), "build", "src", "--out-dir", "dist"]);
    assert.equal(built.status, 0, built.stderr);
    const snapshot = join(dir, "snapshot-built.json");
    assert.equal(jsonOf(node(dir, ["dist/main.js", "start", snapshot])).status, "suspended");
    assert.deepEqual(jsonOf(node(dir, ["dist/main.js", "resume", snapshot])), {
      status: "succeeded",
      value: "2xapple,3xpear",
    });
  });

  test("dtasks/plugin/esbuild works from a plain build script", () => {
    writeFiles(dir, {
      "build.mjs": [
        'import { build } from "esbuild";',
        'import dtasks from "dtasks/plugin/esbuild";',
        "await build({",
        '  entryPoints: ["src/main.ts"], bundle: true, platform: "node", format: "esm",',
        '  outfile: "out/main.mjs", logLevel: "silent", plugins: [dtasks()],',
        "});",
      ].join("\n"),
    });
    const built = node(dir, ["build.mjs"]);
    assert.equal(built.status, 0, built.stderr);
    assert.deepEqual(jsonOf(node(dir, ["out/main.mjs", "id"])).id, "src/flow#order");
  });
});
