/**
 * Options of the Node loader. They reach the hooks as `data` (`module.register`) or directly
 * (`module.registerHooks`), so they are plain data, checked at run time.
 */
import { checkOptions, isBoolean, isStringArray, type OptionSchema } from "./check-options.js";

export interface LoaderOptions {
  /** Module specifiers whose `dasync` export marks d-async functions. @default ["dtasks"] */
  runtimeModules?: string[];
  /** Keep the original function in each descriptor, for differential tests. @default false */
  keepNative?: boolean;
}

const schema: OptionSchema<LoaderOptions> = {
  runtimeModules: { check: isStringArray, expected: "an array of module specifiers" },
  keepNative: { check: isBoolean, expected: "a boolean" },
};

export function normalizeLoaderOptions(data: unknown): LoaderOptions {
  return checkOptions("dtasks loader", data, schema);
}
