/**
 * The compiler's cost, as ratios measured side by side in one run.
 *
 * 1. Await-heavy loops: the same loop written once, run as a native async function and as a
 *    compiled d-async function driven by the stack driver. Each iteration does `steps` arithmetic
 *    steps in a native inner loop, then `await work(i)` where `work` returns `Promise.resolve(…)`:
 *    an ordinary await, the case the compiler must keep near native speed (durable waits cost
 *    milliseconds of storage anyway). Rounds alternate native, compiled, native, compiled…
 *    after a warm-up; the table shows medians. The bar is ≤ 1.2× at each point.
 * 2. Compile time per 1,000 lines of d-async code (warm), next to Babel alone (parse, strip the
 *    types, print) on the same text, for scale.
 *
 *   npm run bench -- --only compiler [--iterations 300000] [--rounds 7]
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { transformSync } from "@babel/core";
// @ts-expect-error: the plugin ships no types
import transformTypescript from "@babel/plugin-transform-typescript";
import { transform } from "../src/compiler/index.js";
import type { DCall } from "../src/core/dtask.js";
import { start } from "../src/runtime/local.js";
import type { BenchContext } from "./run.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const RUNTIME_URL = pathToFileURL(join(REPO, "src/index.ts")).href;

const LOOP = `async function loop(n, steps) {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < steps; k++) acc = (acc * 31 + k) | 0;
    acc = (acc + (await work(i))) | 0;
  }
  return acc;
}`;

const PRELUDE = "const work = (i) => Promise.resolve(i & 7);\n";

let loads = 0;
async function load(code: string): Promise<Record<string, any>> {
  const text = `// bench module ${++loads}\n${code}`;
  return (await import(`data:text/javascript;base64,${Buffer.from(text).toString("base64")}`)) as Record<
    string,
    any
  >;
}

async function loops() {
  const source = `import { dasync } from "dtasks";\n${PRELUDE}export const loop = dasync(${LOOP});\n`;
  const { code } = transform(source, { filename: "bench/loop.js", root: REPO, sourceMaps: false });
  const compiled = await load(code.replace('from "dtasks"', `from ${JSON.stringify(RUNTIME_URL)}`));
  const native = await load(`${PRELUDE}export const loop = ${LOOP};\n`);
  return {
    code,
    native: (n: number, steps: number) => native.loop(n, steps) as Promise<number>,
    compiled: async (n: number, steps: number) => {
      const outcome = await start(compiled.loop(n, steps) as DCall<number>);
      if (outcome.status !== "succeeded") throw new Error(`compiled loop ended ${outcome.status}`);
      return outcome.value as number;
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * CPU time of the process (user + system, ms) spent in `run`. The loops never wait for I/O, so this
 * equals wall time on an idle machine, and it leaves out the time the process is descheduled on a
 * busy one (shared CI runners, other test processes).
 */
async function timed(run: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000;
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

/** About 1,000 lines of d-async code of every construct family: loops, try/finally, switch, destructuring, awaits in expressions. */
export function generatedModule(functions: number): string {
  const parts = [
    'import { dasync, DTask } from "dtasks";',
    "",
    "const load = (x: unknown) => Promise.resolve(x);",
    "",
  ];
  for (let f = 0; f < functions; f++) {
    parts.push(
      `export const flow${f} = dasync(async function flow${f}(input: { id: string; items: number[]; mode?: string }) {`,
      "  const { id, items, mode = 'a' } = input;",
      "  let total = 0;",
      "  const seen: string[] = [];",
      "  for (let i = 0; i < items.length; i++) {",
      "    const value = (await load(items[i]!)) as number;",
      "    if (value < 0) continue;",
      "    total += value * 2 + (await load(i) as number);",
      "  }",
      "  try {",
      "    await DTask.delay('1m');",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the generated TypeScript has a template literal
      "    seen.push(`${id}:${await load(total)}`);",
      "  } catch (error) {",
      "    seen.push(String(error));",
      "  } finally {",
      "    total += 1;",
      "  }",
      "  switch (mode) {",
      "    case 'a':",
      "      total += (await load(1)) as number;",
      "    case 'b':",
      "      break;",
      "    default:",
      "      return null;",
      "  }",
      "  const result = { id, total, seen, extra: input.items?.[0] ?? (await load(0)) };",
      "  return result;",
      "});",
      "",
    );
  }
  return parts.join("\n");
}

function compileTime(context: BenchContext): void {
  const source = generatedModule(36);
  const lines = source.split("\n").length;
  const filename = join(REPO, "bench/generated.ts");
  const babelOnly = () =>
    transformSync(source, {
      filename,
      babelrc: false,
      configFile: false,
      sourceType: "module",
      sourceMaps: true,
      parserOpts: { plugins: ["typescript"] },
      plugins: [[transformTypescript, { allowDeclareFields: true }]],
    });
  const dtasks = () => transform(source, { filename, root: REPO, sourceMaps: true });
  for (let i = 0; i < 5; i++) {
    babelOnly();
    dtasks();
  }
  const babelTimes: number[] = [];
  const dtasksTimes: number[] = [];
  for (let i = 0; i < 10; i++) {
    let t0 = performance.now();
    babelOnly();
    babelTimes.push(performance.now() - t0);
    t0 = performance.now();
    dtasks();
    dtasksTimes.push(performance.now() - t0);
  }
  const perThousand = (ms: number) => ((ms / lines) * 1000).toFixed(1);
  context.log(
    `compile time, warm, median of 10 (${lines} lines, 36 d-async functions, TypeScript, with source map):`,
  );
  context.log("");
  context.log("| pipeline | per module | per 1,000 lines |");
  context.log("|---|---|---|");
  context.log(
    `| dtasks transform (compile + strip types) | ${median(dtasksTimes).toFixed(1)} ms | ${perThousand(median(dtasksTimes))} ms |`,
  );
  context.log(
    `| Babel alone (parse + strip types + print) | ${median(babelTimes).toFixed(1)} ms | ${perThousand(median(babelTimes))} ms |`,
  );
}

export async function run(context: BenchContext): Promise<void> {
  const iterations = option(context.args, "iterations", 300_000);
  const rounds = option(context.args, "rounds", 7);
  const { native, compiled } = await loops();

  // The two must compute the same thing, or the comparison means nothing.
  for (const steps of [0, 20]) {
    const [a, b] = [await native(1000, steps), await compiled(1000, steps)];
    if (a !== b) throw new Error(`native ${a} ≠ compiled ${b} at ${steps} steps`);
  }

  context.log(
    `await-heavy loop: ${iterations.toLocaleString("en")} iterations, each \`steps\` arithmetic steps then \`await work(i)\`;`,
  );
  context.log(
    `CPU time, median of ${rounds} rounds, native and compiled alternating, after 3 warm-up rounds each`,
  );
  context.log("");
  context.log("| CPU steps per await | native | compiled | ratio |");
  context.log("|---|---|---|---|");
  for (const steps of [0, 20, 200]) {
    for (let i = 0; i < 3; i++) {
      await native(iterations, steps);
      await compiled(iterations, steps);
    }
    const nativeTimes: number[] = [];
    const compiledTimes: number[] = [];
    for (let r = 0; r < rounds; r++) {
      nativeTimes.push(await timed(() => native(iterations, steps)));
      compiledTimes.push(await timed(() => compiled(iterations, steps)));
    }
    const n = median(nativeTimes);
    const c = median(compiledTimes);
    const ns = (ms: number) => `${((ms * 1e6) / iterations).toFixed(0)} ns/await`;
    context.log(
      `| ${steps} | ${n.toFixed(1)} ms (${ns(n)}) | ${c.toFixed(1)} ms (${ns(c)}) | **${(c / n).toFixed(2)}×** |`,
    );
  }
  context.log("");
  compileTime(context);
}
