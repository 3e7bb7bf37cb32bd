/**
 * `dtasks/plugin/rollup`: the dtasks compiler as a Rollup plugin. Options: {@link DTasksPluginOptions}.
 *
 * @example
 * // rollup.config.js: dtasks first, then the TypeScript plugin
 * import dtasks from "dtasks/plugin/rollup";
 * import typescript from "@rollup/plugin-typescript";
 * export default { input: "src/main.ts", plugins: [dtasks(), typescript()] };
 *
 * @module
 */
import { dtasks } from "./index.js";

export type { DTasksPluginOptions } from "./options.js";

export default dtasks.rollup;
