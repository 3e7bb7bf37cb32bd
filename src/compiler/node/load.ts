/**
 * The loader's `load` step for the files dtasks handles: ES modules written in TypeScript
 * (`.ts`, `.mts`, `.tsx`), and JavaScript ES modules that may define d-async functions. Such a
 * file is read, compiled and returned as the end of the chain; everything else is left to the
 * next loader. CommonJS is left alone: on Node 20, `require()` ignores load hooks, so d-async
 * code must be ESM there, and one rule for every version is simpler to follow. (On Node ≥ 22.15
 * the hooks run in the main thread and `require()` goes through them, so `require()` of a d-async
 * ES module gets the compiled module.)
 */
import { readFileSync } from "node:fs";
import type { LoadFnOutput } from "node:module";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { compileFile, formatWarning } from "./compile-file.js";
import { isSourceFile, isTypeScript } from "./extensions.js";
import type { LoaderOptions } from "./options.js";
import { isInNodeModules, packageOf } from "./package-info.js";

/** The module for `url`, or undefined when the next loader should load it. Synchronous on purpose. */
export function loadSource(
  url: string,
  context: { format?: string | null | undefined },
  options: LoaderOptions,
): LoadFnOutput | undefined {
  if (!url.startsWith("file:")) return undefined;
  const file = fileURLToPath(url);
  if (!isSourceFile(file)) return undefined;
  // JavaScript of installed packages is never compiled: leave it to Node without reading it twice
  // (with `module.registerHooks` this runs in the main thread, for every module the app loads).
  if (isInNodeModules(file) && !isTypeScript(file)) return undefined;
  if (formatOf(file, context.format) !== "module") return undefined;
  const compiled = compileFile(readFileSync(file, "utf8"), file, { sourceMaps: "inline", ...options });
  if (compiled.kind === "untouched") return undefined;
  if (compiled.kind === "compiled")
    for (const warning of compiled.warnings) console.warn(formatWarning(warning));
  return { format: "module", source: compiled.code, shortCircuit: true };
}

/**
 * TypeScript files are ES modules whatever the package says (as with `tsx`); a `.js` file
 * follows the format Node resolved for it, else its package's `type`.
 */
function formatOf(file: string, hint: string | null | undefined): "module" | "commonjs" {
  if (extname(file) !== ".js") return "module";
  if (hint === "module" || hint === "commonjs") return hint;
  return packageOf(file)?.type ?? "commonjs";
}
