// Front-ends are interchangeable: ids and versions come from the source, not from the tool, so a
// flow suspended by code compiled through one front-end resumes on code compiled by another.
// Each pair below takes the snapshot in one process and resumes it in a fresh one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { main as cli } from "../../src/cli/index.js";
import { type Bundler, bundle } from "./helpers/bundle.js";
import { copyFixture, jsonOf, node, nodeWithLoader, type Run, removeDir } from "./helpers/fixture.js";

type FrontEnd = "loader" | "build" | Bundler;

const TSX = import.meta.resolve("tsx");

describe("cross-front-end snapshots", () => {
  let dir: string;
  const outputs = new Map<FrontEnd, string>();

  before(async () => {
    dir = copyFixture("cross");
    for (const bundler of ["esbuild", "vite", "webpack"] as const)
      outputs.set(bundler, await bundle(bundler, dir));
    const code = await cli(["build", "src", "--out-dir", "dist"], {
      cwd: dir,
      stdout: () => {},
      stderr: () => {},
    });
    assert.equal(code, 0);
    outputs.set("build", join(dir, "dist/main.js"));
  });
  after(() => removeDir(dir));

  /** Runs the fixture's main as compiled by `frontEnd`. */
  function run(frontEnd: FrontEnd, args: string[]): Run {
    if (frontEnd === "loader") return nodeWithLoader(dir, ["src/main.ts", ...args]);
    // Built output is plain JavaScript; tsx only loads the unbuilt dtasks runtime of this checkout.
    if (frontEnd === "build")
      return node(dir, ["--conditions=source", "--import", TSX, outputs.get("build")!, ...args]);
    return node(dir, [outputs.get(frontEnd)!, ...args]);
  }

  const pairs: [from: FrontEnd, to: FrontEnd][] = [
    ["esbuild", "loader"],
    ["loader", "webpack"],
    ["vite", "build"],
    ["build", "loader"],
  ];
  for (const [from, to] of pairs) {
    test(`suspended under ${from}, resumed under ${to}`, () => {
      const snapshot = join(dir, `snapshot-${from}-${to}.json`);
      const started = jsonOf(run(from, ["start", snapshot]));
      assert.equal(started.status, "suspended");
      const stored = JSON.parse(readFileSync(snapshot, "utf8"));
      assert.equal(stored.stack[0].fn, "src/flow#order");
      assert.deepEqual(jsonOf(run(to, ["resume", snapshot])), {
        status: "succeeded",
        value: "2xapple,3xpear",
      });
    });
  }

  test("precompiled output also runs with the loader active (e.g. NODE_OPTIONS=--import dtasks/register)", () => {
    // The loader sees `dasync(<compiled descriptor>)` in `dist/flow.js`; it must leave it as it is.
    const loaded = nodeWithLoader(dir, [outputs.get("build")!, "id"]);
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.deepEqual(jsonOf(loaded), jsonOf(run("loader", ["id"])));
  });
});
