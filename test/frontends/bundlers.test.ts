// The bundler plugin (`dtasks/plugin/*`), run for real: the fixture app is bundled by Vite,
// Rollup, esbuild and webpack, and each output runs in Node: the d-async function is compiled
// with the same id and version as under the loader, suspends at its durable wait, and resumes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { dtasks } from "../../src/compiler/bundler/index.js";
import { transform } from "../../src/compiler/index.js";
import { BUNDLERS, bundle } from "./helpers/bundle.js";
import { copyFixture, jsonOf, node, removeDir } from "./helpers/fixture.js";

describe("bundler plugin", () => {
  let dir: string;
  let expectedVersion: string;
  before(() => {
    dir = copyFixture("bundlers");
    const file = join(dir, "src/flow.ts");
    expectedVersion = transform(readFileSync(file, "utf8"), {
      filename: file,
      root: dir,
    }).manifest.functions.find((f) => f.name === "order")!.version;
  });
  after(() => removeDir(dir));

  for (const bundler of BUNDLERS) {
    test(`${bundler}: the bundle runs the compiled d-async function, suspends and resumes`, async () => {
      const out = await bundle(bundler, dir);
      assert.deepEqual(jsonOf(node(dir, [out, "id"])), { id: "src/flow#order", version: expectedVersion });
      const snapshot = join(dir, `snapshot-${bundler}.json`);
      const started = node(dir, [out, "start", snapshot]);
      assert.deepEqual(jsonOf(started), {
        status: "suspended",
        frames: 1,
        fn: "src/flow#order",
        v: expectedVersion,
      });
      const resumed = node(dir, [out, "resume", snapshot]);
      assert.deepEqual(jsonOf(resumed), { status: "succeeded", value: "2xapple,3xpear" });
      const boom = jsonOf(node(dir, ["--enable-source-maps", out, "boom"]));
      assert.match(boom.stack, /flow\.ts:14:\d+/, `the stack points at flow.ts line 14:\n${boom.stack}`);
      // The bundle's source map reaches back through the plugin's map to the original TypeScript.
      const map = JSON.parse(readFileSync(`${out}.map`, "utf8")) as {
        sources: string[];
        sourcesContent: string[];
      };
      const flow = map.sources.findIndex((s) => s.endsWith("src/flow.ts"));
      assert.ok(flow >= 0, `flow.ts is a source of the bundle's map: ${map.sources.join(", ")}`);
      assert.match(map.sourcesContent[flow]!, /const first: string = label\(items\[0\]!\);/);
    });
  }

  test("options are checked when the plugin is created, naming each bad option", () => {
    assert.throws(
      () => dtasks.vite({ exlude: /x/, stripTypes: "yes" } as never),
      (error: Error) =>
        error instanceof TypeError &&
        error.message.includes("unknown option 'exlude' (did you mean 'exclude'?)") &&
        error.message.includes("option 'stripTypes' must be a boolean"),
    );
    assert.throws(
      () => dtasks.esbuild("all" as never),
      /dtasks plugin: options must be an object, got string/,
    );
    assert.doesNotThrow(() =>
      dtasks.rollup({ include: ["src/**/*.ts", /\.mts$/], runtimeModules: ["dtasks"] }),
    );
  });

  test("a compile error fails the build with the code frame", async () => {
    const broken = copyFixture("bundlers-broken");
    try {
      const flow = join(broken, "src/flow.ts");
      const text = readFileSync(flow, "utf8").replace(
        "await Promise.resolve(n);",
        "await Promise.resolve(arguments);",
      );
      (await import("node:fs")).writeFileSync(flow, text);
      await assert.rejects(bundle("esbuild", broken), (error: Error) => {
        assert.match(error.message, /flow\.ts:13:\d+: \[DT101\]/);
        assert.match(error.message, /> 13 \| {3}await Promise\.resolve\(arguments\);/);
        return true;
      });
    } finally {
      removeDir(broken);
    }
  });
});
