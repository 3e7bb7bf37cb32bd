/**
 * Microtask interleaving: a compiled d-async function that never suspends durably, awaited by
 * plain async code while other plain async code runs, must interleave with that code exactly as
 * the native async function does — tick for tick. The compiled function is started the ordinary
 * way (`await main(...)` from plain code, which runs it in process) and its log shares one list
 * with two concurrent tickers: one on microtasks (`await null`), one on macrotasks (setImmediate).
 *
 * Hand-written scenarios cover each ingredient (ordinary awaits of values, promises, thenables and
 * rejections; child d-async calls that return or throw without suspending; loops; try/finally);
 * a property runs random programs of the differential generator without durable waits.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { DCall } from "../../src/core/dtask.js";
import { start } from "../../src/runtime/local.js";
import { makeEnv, PRELUDE } from "./differential/env.js";
import { avoidFromEnvironment, printProgram, programArbitrary } from "./differential/generator.js";
import { report, settings } from "./differential/property.js";
import { loadCompiled, loadNative } from "./harness/run.js";
import { show, showThrown } from "./harness/show.js";

/** Runs `start` (plain code awaiting the function) next to two tickers; returns the shared log. */
async function interleave(entries: string[], start: () => Promise<unknown>): Promise<string[]> {
  const micro = async () => {
    for (let i = 0; i < 60; i++) {
      entries.push(`~${i}`);
      await null;
    }
  };
  const macro = async () => {
    for (let i = 0; i < 12; i++) {
      entries.push(`≈${i}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const caller = (async () => {
    try {
      entries.push(`returned ${show(await start())}`);
    } catch (error) {
      entries.push(`threw ${showThrown(error)}`);
    }
  })();
  await Promise.all([caller, micro(), macro()]);
  return entries;
}

let counter = 0;

/** The interleaving of `source`'s `main(...args)`, native and compiled. */
async function both(source: string, args: unknown[]): Promise<{ native: string[]; compiled: string[] }> {
  const name = `test/compiler/interleaving/i${counter++}.js`;
  const nativeEnv = makeEnv();
  const nativeModule = await loadNative(source, name, nativeEnv.globals);
  // Both sides go through one `then` between the function's promise and the caller, so the
  // caller sees the outcome at the same tick.
  const native = await interleave(nativeEnv.entries, () =>
    (nativeModule.main as (...a: unknown[]) => Promise<unknown>)(...args).then(
      (value) => value,
      (error) => {
        throw error;
      },
    ),
  );
  const compiledEnv = makeEnv();
  const { exports } = await loadCompiled(source, name, compiledEnv.globals);
  // Started by the stack driver, which runs the first step synchronously, as a native call does.
  const compiled = await interleave(compiledEnv.entries, () =>
    start((exports.main as (...a: unknown[]) => DCall<unknown>)(...args)).then((outcome) => {
      if (outcome.status === "faulted") throw outcome.error;
      if (outcome.status === "suspended") throw new Error("suspended durably");
      return outcome.value;
    }),
  );
  return { native, compiled };
}

const HEADER = `import { dasync, DTask } from "dtasks";\n${PRELUDE}`;

const SCENARIOS: { name: string; body: string; args?: unknown[] }[] = [
  {
    name: "awaits of values, resolved promises, macrotask promises and thenables",
    body: `
const main = dasync(async function main() {
  log("a"); await 1; log("b"); await micro(2); log("c"); await macro(3); log("d");
  await thenable(4); log("e"); await Promise.resolve().then(() => log("then")); log("f");
  return 5;
});
export { main };`,
  },
  {
    name: "rejections caught and uncaught",
    body: `
const main = dasync(async function main() {
  try { await rej(1); } catch (e) { log("caught " + msg(e)); }
  log("after");
  try { await rejMacro(2); } finally { log("finally"); }
  return "unreached";
});
export { main };`,
  },
  {
    name: "child d-async calls that return without suspending",
    body: `
const leaf = dasync(async function leaf(x) { log("leaf " + x); return x * 2; });
const mid = dasync(async function mid(x) { log("mid in"); const y = await leaf(x); await micro(0); log("mid out"); return y + 1; });
const quick = dasync(async function quick() { return 7; });
const main = dasync(async function main() {
  const r = [];
  r.push(await mid(1));
  r.push(await quick());
  r.push(h2(await leaf(3), 1));
  log("r " + r.join());
  return r;
});
export { main };`,
  },
  {
    name: "child d-async calls that throw, caught by the parent and propagated to the caller",
    body: `
const bad = dasync(async function bad(x) { log("bad " + x); if (x > 1) await micro(x); throw new TypeError("bad " + x); });
const main = dasync(async function main() {
  try { await bad(1); } catch (e) { log("caught " + msg(e)); }
  try { await bad(2); } catch (e) { log("caught " + msg(e)); }
  await bad(3);
});
export { main };`,
  },
  {
    name: "loops, switch and finally between awaits",
    body: `
const step = dasync(async function step(i) { await micro(i); return i; });
const main = dasync(async function main(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    try {
      switch (i % 3) {
        case 0: acc += await step(i); break;
        case 1: acc += await macro(i);
        default: log("fall " + i);
      }
      if (i === 3) continue;
      log("i " + i);
    } finally {
      await null;
      log("fin " + i);
    }
  }
  for (const x of [1, 2]) for await (const y of [x, micro(x * 10)]) log("xy " + y);
  return acc;
});
export { main };`,
    args: [5],
  },
  {
    name: "returns through a native finally after an ordinary await (the finally runs, and may override the return, before the caller goes on)",
    body: `
const child = dasync(async function child(x) {
  await micro(x);
  try { if (x) return "ret " + x; } finally { log("finally " + x); if (x === 2) throw new TypeError("fin"); if (x === 3) return "over"; }
  return "end";
});
const main = dasync(async function main() {
  for (const x of [0, 1, 2, 3]) {
    try { log("got " + (await child(x))); } catch (e) { log("caught " + msg(e)); }
  }
  try { return "main"; } finally { log("main finally"); }
});
export { main };`,
  },
  {
    name: "for await over an async iterator, a sync iterable of promises, and an early exit",
    body: `
const main = dasync(async function main() {
  for await (const x of amk(2, "a")) log("a " + x);
  for await (const x of [1, micro(2), thenable(3)]) log("b " + x);
  for await (const x of agen(5, "g")) { log("g " + x); if (x > 2) break; }
  return "done";
});
export { main };`,
  },
];

for (const scenario of SCENARIOS) {
  test(`interleaving: ${scenario.name}`, async () => {
    const { native, compiled } = await both(HEADER + scenario.body, scenario.args ?? []);
    assert.deepEqual(compiled, native);
  });
}

test("interleaving: generated programs without durable waits", { timeout: 600_000 }, async (t) => {
  const { seed, path } = settings(0);
  const runs = process.env.DTASKS_FC_RUNS ? Number(process.env.DTASKS_FC_RUNS) : 150;
  const arbitrary = programArbitrary({
    stmtDepth: 3,
    exprDepth: 2,
    blockLength: 3,
    avoid: [...avoidFromEnvironment(), "durable"],
  });
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (tree) => {
      const printed = printProgram(tree, `il${counter}`);
      const { native, compiled } = await both(printed.source, printed.args);
      if (!isSame(native, compiled)) {
        throw new Error(
          `compiled interleaving differs from native\n  native:   ${native.join(" ")}\n  compiled: ${compiled.join(" ")}\n  program:\n${printed.source}`,
        );
      }
    }),
    { numRuns: runs, seed, path },
  );
  t.diagnostic(`seed ${seed}: ${details.numRuns} programs`);
  if (details.failed) throw new Error(report(details, "interleaving"));
});

function isSame(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
