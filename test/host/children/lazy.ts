// Prints whether better-sqlite3 is loaded: after `import "dtasks"`, after createHost(), and after
// the host is first used (which opens the default SQLite store in the working directory).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache).some((path) => path.includes("better-sqlite3"));
const { createHost } = await import("dtasks");
const afterImport = loaded();
const host = createHost();
const afterCreate = loaded();
const listed = await host.list();
const afterUse = loaded();
await host.close();
console.log(
  JSON.stringify({
    afterImport,
    afterCreate,
    afterUse,
    flows: listed.flows.length,
    file: existsSync(".dtasks/state.db"),
  }),
);
