/**
 * `dtasks/plugin/esbuild`: the dtasks compiler as a esbuild plugin. Options: {@link DTasksPluginOptions}.
 *
 * @example
 * import { build } from "esbuild";
 * import dtasks from "dtasks/plugin/esbuild";
 * await build({ entryPoints: ["src/main.ts"], bundle: true, platform: "node", plugins: [dtasks()] });
 *
 * @module
 */
import { dtasks } from "./index.js";

export type { DTasksPluginOptions } from "./options.js";

export default dtasks.esbuild;
