// Runs the test files it is given, in that order, with Node's test runner (`run()`), the spec
// reporter and a concurrency of its first argument. `node --test` would sort the files by name;
// scripts/test.mjs orders them longest first. The execArgv of this process (the source
// conditions and the TypeScript loader) is what every test file's process gets.
import { run } from "node:test";
import { spec } from "node:test/reporters";

const [concurrency, ...files] = process.argv.slice(2);
let failed = false;
const stream = run({ files, concurrency: Number(concurrency) });
stream.on("test:fail", () => {
  failed = true;
});
stream.on("end", () => {
  process.exitCode = failed ? 1 : 0;
});
stream.compose(spec).pipe(process.stdout);
