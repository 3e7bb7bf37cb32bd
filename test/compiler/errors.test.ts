/**
 * Compile errors and warnings: every folder `fixtures/errors/<case>/` holds an `input.ts` and an
 * `options.json` with either
 * - `"throws": "DT1xx"` (or the name of a parser error such as `"SyntaxError"`): compiling must
 *   fail with that code, a message that names the construct (`mentions`) and says what to do, and
 *   a code frame of the user's source that points at `line`; or
 * - `"warnings": ["DT1xx", …]`: compiling succeeds with exactly those warnings, located at `line`
 *   and naming `mentions` (an empty list: no warning at all).
 * A last test checks that every DT1xx code in the registry and in the compiler has a fixture.
 *
 * Also here: the runtime guard (DT201) for a d-async function that the compiler never saw.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ERROR_CODES } from "../../src/core/errors.js";
import { DTaskError, dasync } from "../../src/index.js";
import { compileFixture, type Fixture, type FixtureOptions, listFixtures, REPO } from "./fixtures/support.js";

interface ErrorFixtureOptions extends FixtureOptions {
  /** 1-based line the code frame (or the warning) must point at. */
  line?: number;
  /** Text the message (its first line, without the file name) must contain: the construct, the variable. */
  mentions?: string[];
  /** Text that states the fix, when the generic "says what to do" pattern does not fit the wording. */
  fix?: string;
}

/** A message "says what to do" when it suggests an action. */
const GUIDANCE =
  /\b(use|move|define|call|rename|pin|assign|give|put|keep|await it|instead|goes on|must|needs?|expects?|takes)\b/i;

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  assert.fail("compiled without an error");
}

/** The `> N | text` line of a Babel code frame. */
function frameLine(message: string): { line: number; text: string } | undefined {
  const match = /^>\s*(\d+)\s*\|\s?(.*)$/m.exec(message);
  return match ? { line: Number(match[1]), text: match[2]! } : undefined;
}

function checkThrows(fixture: Fixture, options: ErrorFixtureOptions): void {
  const error = thrownBy(() => compileFixture(fixture)) as Error;
  const code = options.throws!;
  if (code.startsWith("DT")) {
    assert.ok(error instanceof DTaskError, `expected a DTaskError, got ${String(error)}`);
    assert.equal((error as DTaskError).code, code);
    assert.ok(error.message.includes(`[${code}]`), "the message carries its code");
  } else {
    assert.equal(error.name, code);
  }
  assert.ok(error.message.startsWith(`${fixture.inputFile}: `), "the message names the file");
  const headline = error.message.slice(fixture.inputFile.length + 2).split("\n")[0]!;
  for (const text of options.mentions ?? [])
    assert.ok(headline.includes(text), `the message mentions ${JSON.stringify(text)}: ${headline}`);
  if (code.startsWith("DT")) {
    if (options.fix !== undefined)
      assert.ok(headline.includes(options.fix), `the message states the fix (${options.fix}): ${headline}`);
    else assert.match(headline, GUIDANCE, "the message says what to do");
  }
  assert.doesNotMatch(
    error.message,
    /internal node|Location has been estimated/,
    "the frame points at the user's code",
  );
  const frame = frameLine(error.message);
  assert.ok(frame, `the message has a code frame:\n${error.message}`);
  const sourceLines = fixture.input.split("\n");
  assert.equal(
    frame.text.trimEnd(),
    sourceLines[frame.line - 1]!.trimEnd(),
    "the frame shows the user's source",
  );
  if (options.line !== undefined)
    assert.equal(frame.line, options.line, `the frame points at line ${options.line}`);
}

function checkWarnings(fixture: Fixture, options: ErrorFixtureOptions): void {
  const result = compileFixture(fixture);
  assert.deepEqual(
    result.warnings.map((w) => w.code),
    options.warnings,
    `warnings: ${result.warnings.map((w) => w.message).join("; ") || "none"}`,
  );
  for (const warning of result.warnings) {
    if (options.line !== undefined) {
      assert.ok(
        warning.loc.startsWith(`${fixture.filename}:${options.line}:`),
        `the warning is at line ${options.line}: ${warning.loc}`,
      );
    }
    for (const text of options.mentions ?? [])
      assert.ok(
        warning.message.includes(text),
        `the warning mentions ${JSON.stringify(text)}: ${warning.message}`,
      );
    // The warning's parts are separate fields; front-ends print `${loc}: warning ${code}: ${message}`.
    assert.ok(
      !warning.message.includes(`warning ${warning.code}`),
      `the message repeats the location and code: ${warning.message}`,
    );
  }
}

const fixtures = listFixtures((group) => group === "errors");

describe("compile errors and warnings", () => {
  for (const fixture of fixtures) {
    it(fixture.name, () => {
      const options = fixture.options as ErrorFixtureOptions;
      if (options.throws !== undefined) checkThrows(fixture, options);
      else {
        assert.ok(options.warnings, `${fixture.name}: options.json needs "throws" or "warnings"`);
        checkWarnings(fixture, options);
      }
    });
  }

  it("every DT1xx code (registry and compiler sources) has a fixture", () => {
    const covered = new Set(fixtures.flatMap((f) => [f.options.throws, ...(f.options.warnings ?? [])]));
    const fromRegistry = Object.keys(ERROR_CODES).filter((code) => code.startsWith("DT1"));
    const fromSources = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith(".ts"))
          for (const m of readFileSync(path, "utf8").matchAll(/"(DT1\d\d)"/g)) fromSources.add(m[1]!);
      }
    };
    walk(join(REPO, "src/compiler"));
    const missing = [...new Set([...fromRegistry, ...fromSources])]
      .filter((code) => !covered.has(code))
      .sort();
    assert.deepEqual(missing, [], "codes without a fixture in fixtures/errors");
  });
});

describe("runtime guard", () => {
  // This file imports `dasync` from the sources, not from "dtasks": the compiler leaves it alone,
  // exactly as it would leave a module that was never compiled.
  const isDT201 = (name: string) => (error: unknown) => {
    assert.ok(error instanceof DTaskError, `expected a DTaskError, got ${String(error)}`);
    assert.equal(error.code, "DT201");
    assert.ok(error.message.includes(`'${name}'`), `names the function: ${error.message}`);
    assert.ok(
      error.message.includes("--import dtasks/register"),
      `says how to enable the loader: ${error.message}`,
    );
    assert.match(error.message, /dtasks\/plugin/, "mentions the bundler plugin");
    assert.match(error.message, /dtasks build/, "mentions precompiling");
    return true;
  };

  it("DT201: calling an uncompiled d-async function says how to enable the compiler", () => {
    const checkout = dasync(async function notCompiled() {
      return 1;
    });
    assert.throws(() => checkout(), isDT201("notCompiled"));
  });

  it("DT201 for arrows, pinned ids and @dasync methods", () => {
    // At run time an arrow passed to dasync() has no name of its own.
    const arrow = dasync(async () => 1);
    assert.throws(() => arrow(), isDT201("anonymous"));
    const pinned = dasync("orders.pinned", async () => 1);
    assert.throws(() => pinned(), isDT201("orders.pinned"));
    const method = dasync(async function m() {}, {
      kind: "method",
      name: "m",
    } as ClassMethodDecoratorContext);
    assert.throws(() => (method as () => unknown)(), isDT201("m"));
  });

  it("DT107 at run time: dasync() given something that is not a function", () => {
    assert.throws(
      () => dasync(42 as never),
      (error: unknown) =>
        error instanceof DTaskError && error.code === "DT107" && /async function/.test(error.message),
    );
  });
});
