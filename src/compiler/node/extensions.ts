/** Which files the front-ends handle, by extension, and how each one is parsed and loaded. */
import { extname } from "node:path";

/** TypeScript extensions and the esbuild loader that strips each. */
const TYPESCRIPT: Record<string, "ts" | "tsx"> = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx" };

/** Everything `dtasks build` and the loader compile. `.cts`/`.cjs` are left out: d-async code is ESM. */
export const SOURCE_EXTENSIONS = [".ts", ".mts", ".tsx", ".js", ".mjs"] as const;

export function isTypeScript(file: string): boolean {
  return extname(file) in TYPESCRIPT && !isDeclarationFile(file);
}

export function isDeclarationFile(file: string): boolean {
  return /\.d\.[cm]?ts$/.test(file);
}

export function isSourceFile(file: string): boolean {
  return (SOURCE_EXTENSIONS as readonly string[]).includes(extname(file)) && !isDeclarationFile(file);
}

/** The esbuild loader for a TypeScript file. */
export function typeScriptLoader(file: string): "ts" | "tsx" {
  return TYPESCRIPT[extname(file)] ?? "ts";
}

/**
 * The extension of the JavaScript emitted for a source file, as `tsc` names it: `.mts` becomes
 * `.mjs`, the other TypeScript extensions `.js`; JavaScript keeps its own.
 */
export function outputExtension(file: string): string {
  const ext = extname(file);
  if (ext === ".mts") return ".mjs";
  if (ext === ".ts" || ext === ".tsx") return ".js";
  return ext;
}
