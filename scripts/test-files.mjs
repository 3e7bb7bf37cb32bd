// Runs the test files it is given, in that order, with Node's test runner (`run()`), the spec
// reporter and a concurrency of its first argument. `node --test` would sort the files by name;
// scripts/test.mjs orders them longest first. The execArgv of this process (the source
// conditions and the TypeScript loader) is what every test file's process gets.
import { run } from "node:test";
import { spec } from "node:test/reporters";

const [concurrency, ...files] = process.argv.slice(2);
const stream = run({ files, concurrency: Number(concurrency) });
// Any failure, of a test or of a whole file (one that throws while loading), fails the run.
stream.on("test:fail", () => {
  process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
