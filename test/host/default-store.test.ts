// `createHost()` without a store: the embedded SQLite store at ./.dtasks/state.db, opened on first
// use, so that `import "dtasks"` (and a host that is never used) does not load better-sqlite3.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { spawnTs } from "./children/spawn.js";
import { tempDir } from "./helpers.js";

test("import 'dtasks' does not load better-sqlite3; the default store is opened at .dtasks/state.db on first use", {
  timeout: 120_000,
}, async () => {
  const cwd = tempDir("default");
  const child = spawnTs(join(import.meta.dirname, "children/lazy.ts"), [], cwd);
  const line = await child.waitFor((l) => "afterUse" in l);
  assert.deepEqual(line, { afterImport: false, afterCreate: false, afterUse: true, flows: 0, file: true });
  assert.equal((await child.exited).code, 0, child.stderr());
});
