/**
 * `dtasks/plugin/webpack`: the dtasks compiler as a webpack plugin. Options: {@link DTasksPluginOptions}.
 *
 * @example
 * // webpack.config.js: the plugin adds a pre-loader, so it sees the source before ts-loader
 * import dtasks from "dtasks/plugin/webpack";
 * export default { plugins: [dtasks()], module: { rules: [{ test: /\.ts$/, loader: "ts-loader" }] } };
 *
 * @module
 */
import { dtasks } from "./index.js";

export type { DTasksPluginOptions } from "./options.js";

export default dtasks.webpack;
