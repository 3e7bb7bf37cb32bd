/**
 * Golden tests of compiled output: every folder `fixtures/<group>/<case>/` (except `errors/`) is
 * compiled and
 * 1. the code is compared with `output.js` (`OVERWRITE=1 node scripts/test.mjs compiler/golden`
 *    rewrites the snapshots; review the diff before committing);
 * 2. the compiled AST is checked for reused node objects;
 * 3. the warnings are the ones `options.json` lists (none by default);
 * 4. `exec.ts` runs the module natively and compiled and checks they agree (see ExecContext).
 *
 * See fixtures/support.ts for the folder layout and options.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { inspect } from "node:util";
import type { TransformResult } from "../../src/compiler/index.js";
import {
  compileFixture,
  compileToAst,
  type DriveResult,
  describeThrown,
  drive,
  type Fixture,
  findDuplicateNodes,
  importCompiled,
  importNative,
  listFixtures,
  type Settled,
} from "./fixtures/support.js";

const OVERWRITE = process.env.OVERWRITE === "1" || process.env.OVERWRITE === "true";

/** What a fixture's `exec.ts` default export receives. */
export interface ExecContext {
  /** The module compiled by `transform()` and loaded against the real runtime. */
  compiled: Record<string, any>;
  /** The same module run natively (`dasync` = identity, durable waits = settled promises). */
  native: Record<string, any>;
  /** What `transform()` returned (code, manifest, warnings). */
  result: TransformResult;
  /** Runs a compiled call to the end: chaos round-trips at ordinary awaits, marshal + resume at durable waits. */
  drive(call: unknown): Promise<DriveResult>;
  /**
   * Runs `native[name](...args)` and `compiled[name](...args)` (driven), and asserts the same value
   * or the same thrown error, and equal `log` exports when the module has one.
   */
  same(name: string, ...args: unknown[]): Promise<Compared>;
  /**
   * `same`, but a thrown error only needs the same class: for errors the engine raises, whose
   * message depends on the shape of the code (`Cannot destructure 'x'…` vs `Cannot read properties…`).
   */
  sameClass(name: string, ...args: unknown[]): Promise<Compared>;
  /** `same` for any pair of runs (methods, receivers, several calls). */
  compare(
    label: string,
    runNative: () => unknown,
    runCompiled: () => unknown,
    errors?: "exact" | "class",
  ): Promise<Compared>;
}

export interface Compared {
  settled: Settled;
  /** Durable suspensions of the compiled run (0 when it threw). */
  suspensions: number;
  snapshots: string[];
}

async function settle<T>(run: () => T | Promise<T>): Promise<{ value: T } | { threw: string }> {
  try {
    return { value: await run() };
  } catch (error) {
    return { threw: describeThrown(error) };
  }
}

function execContext(
  fixture: Fixture,
  result: TransformResult,
  compiled: Record<string, any>,
  native: Record<string, any>,
): ExecContext {
  const chaos = fixture.options.chaos ?? "marshal";
  const compare = async (
    label: string,
    runNative: () => unknown,
    runCompiled: () => unknown,
    errors: "exact" | "class" = "exact",
  ): Promise<Compared> => {
    const byClass = (s: Settled): Settled =>
      "threw" in s && errors === "class" ? { threw: s.threw.replace(/:[\s\S]*$/, "") } : s;
    const expected = byClass(await settle(async () => await runNative()));
    const driven = await settle(() => drive(runCompiled(), chaos));
    const actual: Settled = byClass("threw" in driven ? driven : { value: driven.value.value });
    assert.deepStrictEqual(actual, expected, `${label}: compiled and native differ`);
    if ("log" in native || "log" in compiled) {
      assert.deepStrictEqual(compiled.log, native.log, `${label}: the side-effect logs differ`);
    }
    const run = "threw" in driven ? undefined : driven.value;
    return { settled: actual, suspensions: run?.suspensions ?? 0, snapshots: run?.snapshots ?? [] };
  };
  const sameRun = (name: string, args: unknown[], errors: "exact" | "class"): Promise<Compared> => {
    assert.equal(typeof native[name], "function", `the fixture exports no function '${name}'`);
    return compare(
      `${name}(${args.map((a) => inspect(a)).join(", ")})`,
      // Each run gets its own copy, so one run's mutations of an argument cannot leak into the other.
      () => native[name](...structuredClone(args)),
      () => compiled[name](...structuredClone(args)),
      errors,
    );
  };
  return {
    compiled,
    native,
    result,
    drive: (call) => drive(call, chaos),
    compare,
    same: (name, ...args) => sameRun(name, args, "exact"),
    sameClass: (name, ...args) => sameRun(name, args, "class"),
  };
}

const fixtures = listFixtures((group) => group !== "errors");
const groups = [...new Set(fixtures.map((f) => f.group))];

for (const group of groups) {
  describe(group, () => {
    for (const fixture of fixtures.filter((f) => f.group === group)) {
      it(fixture.name, async () => {
        assert.equal(
          fixture.options.throws,
          undefined,
          "a golden fixture cannot expect a compile error (put it in errors/)",
        );
        const result = compileFixture(fixture);
        assert.ok(result.changed, "the fixture defines no d-async function");
        // Every check runs, and every failure is reported, so one compiler bug does not hide another.
        const failures: unknown[] = [];
        const check = async (what: string, run: () => unknown): Promise<void> => {
          try {
            await run();
          } catch (error) {
            if (error instanceof Error) {
              const message = error.message;
              error.message = `${what}: ${message}`;
              if (error.stack) error.stack = error.stack.replace(message, error.message);
            }
            failures.push(error);
          }
        };

        await check("output.js", () => {
          const outputFile = join(fixture.dir, "output.js");
          if (OVERWRITE) {
            writeFileSync(outputFile, `${result.code}\n`);
            return;
          }
          assert.ok(existsSync(outputFile), "no output.js: run with OVERWRITE=1");
          assert.equal(
            `${result.code}\n`,
            readFileSync(outputFile, "utf8"),
            "the compiled code changed (OVERWRITE=1 to accept)",
          );
        });

        await check("duplicate nodes", () => {
          const { code, ast } = compileToAst(fixture);
          assert.equal(code, result.code, "the AST pipeline of the test drifted from transform()");
          assert.deepEqual(findDuplicateNodes(ast), [], "the compiled AST reuses node objects");
        });

        await check("warnings", () => {
          assert.deepEqual(
            result.warnings.map((w) => w.code),
            fixture.options.warnings ?? [],
            `unexpected warnings: ${result.warnings.map((w) => w.message).join("; ")}`,
          );
        });

        await check("exec.ts", async () => {
          const execFile = join(fixture.dir, "exec.ts");
          assert.ok(existsSync(execFile), "no exec.ts");
          const [compiled, native] = await Promise.all([
            importCompiled(fixture, result.code),
            importNative(fixture),
          ]);
          const exec = (await import(pathToFileURL(execFile).href)) as {
            default: (ctx: ExecContext) => Promise<void>;
          };
          await exec.default(execContext(fixture, result, compiled, native));
        });

        if (failures.length === 1) throw failures[0];
        if (failures.length > 1)
          throw new AggregateError(failures, failures.map((f) => (f as Error).message).join("\n---\n"));
      });
    }
  });
}
