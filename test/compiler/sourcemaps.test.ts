/**
 * Source maps: an error thrown inside a compiled d-async function reports the ORIGINAL TypeScript
 * line and column, wherever in the state machine it is thrown (first state, after an ordinary
 * await, after a durable snapshot and resume, inside a closure, from a finally block).
 *
 * The module is compiled with an inline source map into a temporary `.mjs` next to its original
 * `.ts`, and run in a child `node --enable-source-maps`, which prints each error's stack.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { transform } from "../../src/compiler/index.js";
import { REPO } from "./fixtures/support.js";

const SOURCE = `import { dasync, DTask } from "dtasks";

interface Order {
  id: string;
}

export const boom = dasync(async function boom(order: Order, mode: string) {
  const label: string = \`order \${order.id}\`;
  if ((mode as string) === "start") throw new Error(\`start \${label}\`);
  await Promise.resolve();
  if ((mode as string) === "after-await") throw new Error(\`after \${label}\`);
  await DTask.delay(1);
  if ((mode as string) === "after-resume") throw new Error(\`resumed \${label}\`);
  const fail = (why: string): never => { throw new Error(\`closure \${why}\`); };
  if (mode === "closure") fail(label);
  try {
    await DTask.yield();
  } finally {
    if (<string>mode === "finally") throw new Error(\`finally \${label}\`);
  }
  return label;
});
`;

/** 1-based line and column of `text` in SOURCE. */
function position(text: string): { line: number; column: number } {
  const index = SOURCE.indexOf(text);
  assert.ok(index >= 0, text);
  const before = SOURCE.slice(0, index).split("\n");
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

const CHILD = (moduleUrl: string) => `
import { marshal, unmarshal } from ${JSON.stringify(pathToFileURL(join(REPO, "src/marshal/index.ts")).href)};
import { resume, snapshotOf, start } from ${JSON.stringify(pathToFileURL(join(REPO, "src/runtime/local.ts")).href)};
const { boom } = await import(${JSON.stringify(moduleUrl)});
const stacks = {};
for (const mode of ["start", "after-await", "after-resume", "closure", "finally"]) {
  let outcome = await start(boom({ id: "o-1" }, mode));
  while (outcome.status === "suspended") {
    const text = marshal(snapshotOf(outcome).stack);
    outcome = await resume({ stack: unmarshal(text), wait: null }, { value: undefined });
  }
  stacks[mode] = outcome.status === "faulted" ? outcome.error.stack : "no error: " + outcome.status;
}
console.log(JSON.stringify(stacks));
`;

describe("source maps", () => {
  const dir = mkdtempSync(join(tmpdir(), "dtasks-sourcemaps-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const original = join(dir, "flow.ts");

  it("errors thrown in compiled code point at the original .ts line and column", async () => {
    writeFileSync(original, SOURCE);
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }');
    const { code } = transform(SOURCE, { filename: original, root: dir, sourceMaps: "inline" });
    assert.match(code, /\/\/# sourceMappingURL=data:application\/json/);
    // Same length, same lines: the map stays exact.
    const runtime = pathToFileURL(join(REPO, "src/index.ts")).href;
    const compiled = code.replace(/from "dtasks";/, `from ${JSON.stringify(runtime)};`);
    const moduleFile = join(dir, "flow.compiled.mjs");
    writeFileSync(moduleFile, compiled);
    writeFileSync(join(dir, "child.mjs"), CHILD(pathToFileURL(moduleFile).href));

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--enable-source-maps",
        "--conditions=source",
        "--import",
        join(REPO, "test/setup/register.mjs"),
        join(dir, "child.mjs"),
      ],
      { cwd: REPO },
    );
    const stacks = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, string>;

    const expected: Record<string, string> = {
      start: "new Error(`start",
      "after-await": "new Error(`after",
      "after-resume": "new Error(`resumed",
      closure: "new Error(`closure",
      finally: "new Error(`finally",
    };
    for (const [mode, text] of Object.entries(expected)) {
      const stack = stacks[mode]!;
      const { line, column } = position(text);
      const frame = stack.split("\n").find((l) => l.includes("flow."));
      assert.ok(frame, `${mode}: a stack frame in the module:\n${stack}`);
      assert.ok(
        frame.includes(`flow.ts:${line}:${column}`),
        `${mode}: expected flow.ts:${line}:${column}, got ${frame.trim()}`,
      );
    }
  });

  it("the map names the original file and carries its TypeScript source", () => {
    const { map } = transform(SOURCE, { filename: original, root: dir, sourceMaps: true });
    const sourceMap = map as { sources: string[]; sourcesContent?: string[]; mappings: string };
    assert.ok(sourceMap, "a map is returned");
    assert.equal(sourceMap.sources.length, 1);
    assert.ok(sourceMap.sources[0]!.endsWith("flow.ts"), sourceMap.sources[0]);
    assert.equal(sourceMap.sourcesContent?.[0], SOURCE);
    assert.ok(sourceMap.mappings.length > 0);
  });
});
