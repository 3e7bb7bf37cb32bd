/**
 * Compiles one source file the way every non-bundler front-end does (the Node loader and
 * `dtasks build`): files that mention `dasync` go through the dtasks compiler, which strips
 * their TypeScript in the same Babel pass; other TypeScript is stripped by esbuild; other
 * JavaScript is left alone. Files of installed packages are never compiled (see
 * {@link isInNodeModules}).
 */
import { mightContainDAsync, transform } from "../index.js";
import type { CompilerWarning, ModuleManifest } from "../types.js";
import { compileError } from "./compile-error.js";
import { isTypeScript } from "./extensions.js";
import { isInNodeModules, packageOf } from "./package-info.js";
import { stripTypeScript } from "./strip.js";

export interface CompileFileOptions {
  /** `"inline"` appends the source map to the code (loaders); `true` returns it in `map` (builds). */
  sourceMaps: "inline" | true;
  /** Passed to the compiler: module specifiers whose `dasync` export marks d-async functions. */
  runtimeModules?: string[] | undefined;
  /** Passed to the compiler: keep the original function in each descriptor (differential tests). */
  keepNative?: boolean | undefined;
}

export type CompiledFile =
  /** The module defines d-async functions and was compiled. */
  | {
      kind: "compiled";
      code: string;
      map: object | null;
      manifest: ModuleManifest;
      warnings: CompilerWarning[];
    }
  /** TypeScript without d-async functions: types stripped. */
  | { kind: "stripped"; code: string; map: object | null }
  /** JavaScript without d-async functions: use the source as it is. */
  | { kind: "untouched" };

/** Compiles `source`, the text of the file at the absolute path `file`. Throws a readable error. */
export function compileFile(source: string, file: string, options: CompileFileOptions): CompiledFile {
  const typescript = isTypeScript(file);
  if (!isInNodeModules(file) && mightContainDAsync(source)) {
    let result: ReturnType<typeof transform>;
    try {
      result = transform(source, {
        filename: file,
        root: packageOf(file)?.root,
        stripTypes: typescript,
        sourceMaps: options.sourceMaps,
        runtimeModules: options.runtimeModules,
        keepNative: options.keepNative,
      });
    } catch (error) {
      throw compileError(error, file);
    }
    if (result.changed) {
      return {
        kind: "compiled",
        code: result.code,
        map: result.map,
        manifest: result.manifest,
        warnings: result.warnings,
      };
    }
    // The word appeared, but no d-async function is defined here (the runtime itself, a
    // re-export): strip it with esbuild like every other such file, so that how a module is
    // stripped never depends on whether it happens to mention `dasync`.
  }
  if (typescript) return { kind: "stripped", ...stripTypeScript(source, file, options.sourceMaps) };
  return { kind: "untouched" };
}

/** `file:line:column: warning DTxxx: message`, as compilers print warnings (once, if already so). */
export function formatWarning(warning: CompilerWarning): string {
  if (warning.message.includes(`warning ${warning.code}`)) return warning.message;
  return `${warning.loc}: warning ${warning.code}: ${warning.message}`;
}
