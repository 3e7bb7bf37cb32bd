// Runs the whole suite with Node's own test runner. The files are found here (Node 20's `--test`
// does not expand globs) and run by scripts/test-files.mjs in the order given here (`--test`
// would sort them by name); any arguments narrow the run to files whose path contains them.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function findTests(dir, out = []) {
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "fixtures" || entry === "corpus") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (/\.test\.(ts|mts|js|mjs)$/.test(entry)) out.push(relative(root, path));
  }
  return out;
}

// The longest files start first (they spawn processes and servers for minutes), so that the
// runner's lanes finish together instead of one lane running the fault suite alone at the end.
const LONG_FIRST = [
  "test/faults/faults.test.ts",
  "test/frontends/",
  "test/examples/",
  "test/compiler/differential/",
  "test/store/redis-faults.test.ts",
];
const rank = (file) => {
  const i = LONG_FIRST.findIndex((prefix) => file.startsWith(prefix));
  return i < 0 ? LONG_FIRST.length : i;
};

const filters = process.argv.slice(2);
const files = [...findTests(join(root, "src")), ...findTests(join(root, "test"))]
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    "--conditions=source",
    "--enable-source-maps",
    "--import",
    "./test/setup/register.mjs",
    join(root, "scripts/test-files.mjs"),
    String(process.env.TEST_CONCURRENCY ?? 2),
    ...files.map((file) => join(root, file)),
  ],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
