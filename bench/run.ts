/**
 * The one entry point of the benchmarks (`npm run bench`). Benchmarks are not tests: they print
 * numbers measured side by side in one run (ratios, medians), never pass or fail.
 *
 *   npm run bench                          # every benchmark
 *   npm run bench -- --only compiler       # one (repeat --only, or give a comma list, for several)
 *   npm run bench -- --list                # what there is
 *
 * A benchmark is a module of this folder, registered in BENCHES below and loaded only when it
 * runs (so a store benchmark's drivers are not loaded for `--only compiler`). It exports
 * `run(context)`; a module without `run` is a script that measures when imported.
 *
 * @module
 */

export interface BenchContext {
  /** Arguments after the benchmark options (`npm run bench -- --only compiler --rounds 9`). */
  args: string[];
  /** Prints a line of the report. */
  log(line?: string): void;
}

export interface BenchModule {
  run?(context: BenchContext): Promise<void> | void;
}

/** Every benchmark: name → description and loader. Add new ones here. */
const BENCHES: Record<string, { description: string; load: () => Promise<BenchModule> }> = {
  compiler: {
    description: "compiled vs native d-async code on await-heavy loops; compile time per 1,000 lines",
    load: () => import("./compiler.js"),
  },
  engine: {
    description: "the engine on SQLite: checkpoint vs raw write+read, long history, many suspended flows",
    load: () => import("./engine.js"),
  },
  http: {
    description: "requests/s of an async endpoint answering 202 vs a plain endpoint, per adapter and store",
    load: () => import("./http.js"),
  },
  marshal: {
    description: "the snapshot value codec vs JSON.stringify/parse",
    load: () => import("./marshal.js"),
  },
  peers: {
    description:
      "W1/W2/W3 and checkpoint vs raw on SQLite, Redis, PostgreSQL, beside DBOS and Restate (one table of ratios)",
    load: () => import("./peers.js"),
  },
};

interface Parsed {
  only: string[];
  list: boolean;
  rest: string[];
}

function parse(argv: string[]): Parsed {
  const parsed: Parsed = { only: [], list: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--only") {
      const value = argv[++i];
      if (!value) throw new Error("--only needs a benchmark name (see --list)");
      parsed.only.push(...value.split(",").filter(Boolean));
    } else if (arg.startsWith("--only=")) {
      parsed.only.push(...arg.slice("--only=".length).split(",").filter(Boolean));
    } else if (arg === "--list") {
      parsed.list = true;
    } else {
      parsed.rest.push(arg);
    }
  }
  return parsed;
}

async function main(): Promise<void> {
  const { only, list, rest } = parse(process.argv.slice(2));
  if (list) {
    for (const [name, { description }] of Object.entries(BENCHES))
      console.log(`${name.padEnd(12)} ${description}`);
    return;
  }
  const unknown = only.filter((name) => !(name in BENCHES));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(", ")}; there are: ${Object.keys(BENCHES).join(", ")}`);
    process.exitCode = 2;
    return;
  }
  const selected = only.length > 0 ? only : Object.keys(BENCHES);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
  for (const name of selected) {
    console.log(`\n## ${name}: ${BENCHES[name]!.description}\n`);
    const module = await BENCHES[name]!.load();
    await module.run?.({ args: rest, log: (line = "") => console.log(line) });
  }
}

await main();
