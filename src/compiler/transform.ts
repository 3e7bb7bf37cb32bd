/**
 * The compiler entry: one Babel pass that compiles the module's d-async functions and (for
 * TypeScript input) strips types, with a source map back to the original file.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { type PluginItem, transformSync } from "@babel/core";
// @ts-expect-error: the plugin ships no types
import proposalDecorators from "@babel/plugin-proposal-decorators";
// @ts-expect-error: the plugin ships no types
import transformTypescript from "@babel/plugin-transform-typescript";
import { dtasksPlugin, type PluginOptions } from "./plugin/index.js";
import type { TransformOptions, TransformResult } from "./types.js";

const DEFAULT_RUNTIME_MODULES = ["dtasks"];

/** Every Babel pass of the compiler: no user config, ES modules, plain-text code frames. */
const BABEL_BASE = {
  babelrc: false,
  configFile: false,
  sourceType: "module",
  // Messages are data (errors, warnings, logs): a code frame must not carry terminal colors,
  // which Babel would add where it detects color support (CI=true, for instance).
  highlightCode: false,
} as const;

/**
 * A cheap test that lets files that cannot define d-async functions skip the parser: they must
 * mention `dasync` and import one of the runtime modules.
 */
export function mightContainDAsync(
  code: string,
  runtimeModules: readonly string[] = DEFAULT_RUNTIME_MODULES,
): boolean {
  if (!code.includes("dasync")) return false;
  return runtimeModules.some(
    (specifier) => code.includes(`"${specifier}"`) || code.includes(`'${specifier}'`),
  );
}

const rootCache = new Map<string, string>();

/** The nearest folder with a package.json (function ids are relative to it). */
export function packageRootOf(file: string): string {
  let dir = dirname(file);
  const seen: string[] = [];
  for (;;) {
    const cached = rootCache.get(dir);
    if (cached) return remember(seen, cached);
    seen.push(dir);
    if (existsSync(join(dir, "package.json"))) return remember(seen, dir);
    const parent = dirname(dir);
    if (parent === dir) return remember(seen, dirname(file));
    dir = parent;
  }
}

function remember(dirs: string[], root: string): string {
  for (const dir of dirs) rootCache.set(dir, root);
  return root;
}

export function transform(code: string, options: TransformOptions): TransformResult {
  const absolute = isAbsolute(options.filename)
    ? options.filename
    : resolve(options.root ?? process.cwd(), options.filename);
  const root = options.root ? resolve(options.root) : packageRootOf(absolute);
  const file = relative(root, absolute).split(sep).join("/");
  const isTypeScript = /\.(c|m)?tsx?$/.test(absolute);
  const stripTypes = options.stripTypes ?? isTypeScript;
  const output: PluginOptions["output"] = { functions: [], warnings: [] };
  const hasDAsync = mightContainDAsync(code, options.runtimeModules);
  if (!hasDAsync && !stripTypes) {
    return { code, map: null, manifest: { file, functions: [] }, warnings: [], changed: false };
  }
  const plugins: PluginItem[] = [];
  if (hasDAsync) {
    const pluginOptions: PluginOptions = {
      file,
      source: code,
      keepNative: options.keepNative ?? false,
      runtimeModules: options.runtimeModules ?? DEFAULT_RUNTIME_MODULES,
      output,
    };
    plugins.push([dtasksPlugin, pluginOptions]);
  }
  if (stripTypes && isTypeScript) {
    plugins.push([transformTypescript, { allowDeclareFields: true, isTSX: absolute.endsWith("x") }]);
  }
  const result = transformSync(code, {
    filename: absolute,
    ...BABEL_BASE,
    sourceMaps: options.sourceMaps ?? true,
    inputSourceMap: (options.inputSourceMap as never) ?? undefined,
    parserOpts: {
      plugins: [
        ...(isTypeScript ? (["typescript"] as const) : []),
        ...(absolute.endsWith("x") ? (["jsx"] as const) : []),
        ["decorators", { decoratorsBeforeExport: true }],
      ] as never,
    },
    plugins,
  });
  if (!result?.code && result?.code !== "") throw new Error(`dtasks compiler produced no output for ${file}`);
  const lowered = output.otherDecorators
    ? lowerDecorators(result.code, result.map, absolute, options)
    : result;
  return {
    code: lowered.code!,
    map: (lowered.map as object | null | undefined) ?? null,
    manifest: { file, functions: output.functions },
    warnings: output.warnings,
    changed: output.functions.length > 0,
  };
}

/**
 * Decorators other than `@dasync` in a module with d-async functions: no Node.js runs decorator
 * syntax yet, so they are lowered here, as standard (TC39 2023-11) decorators — the same semantics
 * esbuild gives the decorators of TypeScript files without d-async functions (`node/strip.ts`).
 * A second pass, only for such modules, so that `@dasync` is gone before the class is rewritten;
 * the source map goes through both.
 */
function lowerDecorators(
  code: string,
  map: unknown,
  filename: string,
  options: TransformOptions,
): { code?: string | null; map?: unknown } {
  const result = transformSync(code, {
    filename,
    ...BABEL_BASE,
    sourceMaps: options.sourceMaps ?? true,
    inputSourceMap: (map as never) ?? undefined,
    plugins: [[proposalDecorators, { version: "2023-11" }]],
  });
  if (!result?.code) throw new Error(`dtasks compiler produced no output for ${filename}`);
  return result;
}
