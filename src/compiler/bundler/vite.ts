/**
 * `dtasks/plugin/vite`: the dtasks compiler as a Vite (and Vitest) plugin. Options: {@link DTasksPluginOptions}.
 *
 * @example
 * // vite.config.ts (Vitest reads it too)
 * import { defineConfig } from "vite";
 * import dtasks from "dtasks/plugin/vite";
 * export default defineConfig({ plugins: [dtasks()] });
 *
 * @module
 */
import { dtasks } from "./index.js";

export type { DTasksPluginOptions } from "./options.js";

export default dtasks.vite;
