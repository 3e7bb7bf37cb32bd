/** Options of the bundler plugin, checked when the plugin is created (before any build starts). */
import type { FilterPattern } from "unplugin";
import { checkOptions, isBoolean, isStringArray, type OptionSchema } from "../node/check-options.js";

export interface DTasksPluginOptions {
  /**
   * Modules to consider, matched against the module id (globs or regular expressions).
   * @default every `.ts`, `.mts`, `.cts`, `.tsx`, `.js`, `.mjs`, `.cjs` and `.jsx` module
   */
  include?: FilterPattern;
  /**
   * Modules to skip, in addition to everything under `node_modules` (libraries ship compiled
   * output, and compiling them again would change nothing but the build time).
   */
  exclude?: FilterPattern;
  /**
   * Strip TypeScript from the d-async modules the plugin compiles, in the same Babel pass. The
   * output is then plain JavaScript, which every later TypeScript stage accepts. Turn it off to
   * hand a type-checking loader (`ts-loader` without `transpileOnly`) the TypeScript it expects.
   * @default true for TypeScript modules
   */
  stripTypes?: boolean;
  /** Module specifiers whose `dasync` export marks d-async functions. @default ["dtasks"] */
  runtimeModules?: string[];
}

const isPattern = (v: unknown): boolean => typeof v === "string" || v instanceof RegExp;
const isFilterPattern = (v: unknown): boolean => isPattern(v) || (Array.isArray(v) && v.every(isPattern));

const schema: OptionSchema<DTasksPluginOptions> = {
  include: { check: isFilterPattern, expected: "a glob, a regular expression, or an array of them" },
  exclude: { check: isFilterPattern, expected: "a glob, a regular expression, or an array of them" },
  stripTypes: { check: isBoolean, expected: "a boolean" },
  runtimeModules: { check: isStringArray, expected: "an array of module specifiers" },
};

export function normalizePluginOptions(options: unknown): DTasksPluginOptions {
  return checkOptions("dtasks plugin", options, schema);
}
