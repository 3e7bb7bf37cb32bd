/**
 * `dtasks/register`: compiles d-async functions and strips TypeScript as Node loads them.
 *
 * @example
 * node --import dtasks/register app.ts
 * NODE_OPTIONS="--import dtasks/register" node app.ts
 * node --require dtasks/register app.ts   # Node 20 and ≥ 22.15: this module has no top-level await
 *
 * On Node ≥ 22.15 (and ≥ 23.5) the hooks are installed with `module.registerHooks()`: in-thread,
 * synchronous, and seen by `require()` too. Older Node (20.x to 22.14) gets the same hooks through
 * `module.register()`, which runs them in a loader thread. Source maps are turned on, so stack
 * traces point at the original TypeScript lines.
 *
 * @module
 */
import Module, { createRequire, type LoadHook, type ResolveHook } from "node:module";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";

/** `module.registerHooks` (Node ≥ 22.15), which @types/node for Node 20 does not describe. */
type RegisterHooks = (hooks: { resolve: ResolveHook; load: LoadHook }) => unknown;

// Read from the module object at run time (not a named import), so it is found where it exists
// and absent, not a link error, where it does not.
const registerHooks = (Module as unknown as { registerHooks?: RegisterHooks }).registerHooks;

process.setSourceMapsEnabled(true);

// `hooks.js` next to the published `register.js`; `hooks.ts` when run from source.
const hooksFile = `./hooks${extname(fileURLToPath(import.meta.url))}`;

if (typeof registerHooks === "function") {
  // Loaded with require() (require(esm), unflagged wherever registerHooks exists) rather than a
  // top-level `await import()`: a module with top-level await cannot be `require()`d, so that
  // would break `node --require dtasks/register`. The hooks module is loaded before the hooks are
  // installed, so it never goes through them.
  const hooks = createRequire(import.meta.url)(hooksFile) as typeof import("./hooks.js");
  hooks.initialize(undefined);
  registerHooks({ resolve: hooks.resolve, load: hooks.load });
} else {
  Module.register(new URL(hooksFile, import.meta.url));
}
