/**
 * `dtasks/compiler`: the source-to-source compiler that turns d-async functions into resumable
 * state machines, for toolchains that the loader and bundler plugins do not cover.
 *
 * @example
 * import { transform } from "dtasks/compiler";
 * const { code, map, manifest } = transform(source, { filename: "src/orders.ts" });
 *
 * @module
 */
export { mightContainDAsync, transform } from "./transform.js";
export type {
  CompilerWarning,
  FunctionManifest,
  ModuleManifest,
  SuspensionPointManifest,
  TransformOptions,
  TransformResult,
} from "./types.js";
