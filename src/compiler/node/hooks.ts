/**
 * The dtasks module hooks: d-async functions compiled, TypeScript stripped, and TypeScript's
 * `./x.js` → `./x.ts` imports resolved. `dtasks/register` installs them (with
 * `module.registerHooks()` where Node has it, else by passing this module to `module.register()`).
 * To compose them with another loader, import that loader first: the hook registered last runs
 * first, and ours must see each file's original TypeScript.
 *
 * @example
 * // node --import tsx --import dtasks/register app.ts
 * // tsx then only sees what dtasks passes on (CommonJS, JSON, extensionless imports…).
 *
 * Every hook here is synchronous underneath (Babel's and esbuild's `transformSync`), so the same
 * functions serve `module.register()` (off-thread, where a returned promise from the next hook is
 * passed on) and `module.registerHooks()` (in-thread, where everything must be synchronous).
 *
 * @module
 */
import type { LoadHook, ResolveHook } from "node:module";
import { loadSource } from "./load.js";
import { type LoaderOptions, normalizeLoaderOptions } from "./options.js";
import { resolveTypeScript } from "./resolve.js";

let options: LoaderOptions = {};

/** Receives `data` from `module.register(…, { data })`. */
export function initialize(data: unknown): void {
  options = normalizeLoaderOptions(data);
}

export const resolve: ResolveHook = (specifier, context, nextResolve) => {
  const url = resolveTypeScript(specifier, context.parentURL);
  return url ? { url, format: "module", shortCircuit: true } : nextResolve(specifier, context);
};

export const load: LoadHook = (url, context, nextLoad) =>
  loadSource(url, context, options) ?? nextLoad(url, context);
