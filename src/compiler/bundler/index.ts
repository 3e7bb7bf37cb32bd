/**
 * `dtasks/plugin`: the dtasks compiler as one plugin for Vite (and Vitest), Rollup, esbuild and
 * webpack, built with unplugin. Each d-async module is compiled from its original source, before
 * any other plugin strips its types, so function ids and versions are the same as under the Node
 * loader and `dtasks build`: a flow suspended by a bundled server resumes on any of them.
 *
 * The plugin compiles d-async functions only; TypeScript elsewhere is left to the bundler (Vite
 * and esbuild strip it natively; Rollup and webpack need their usual TypeScript plugin or loader,
 * placed after this one).
 *
 * @example
 * // vite.config.ts
 * import dtasks from "dtasks/plugin/vite";
 * export default { plugins: [dtasks()] };
 *
 * @module
 */
import { createUnplugin, type SourceMapCompact, type UnpluginInstance } from "unplugin";
import { mightContainDAsync, transform } from "../index.js";
import { compileError } from "../node/compile-error.js";
import { formatWarning } from "../node/compile-file.js";
import { isTypeScript } from "../node/extensions.js";
import { packageOf } from "../node/package-info.js";
import { type DTasksPluginOptions, normalizePluginOptions } from "./options.js";

export type { DTasksPluginOptions } from "./options.js";

const SCRIPT = /\.[cm]?[jt]sx?(?:$|\?)/;
/** Installed packages, and virtual modules (Rollup convention: a leading NUL). */
const NEVER = [/[\\/]node_modules[\\/]/, /^\0/];

export const dtasks: UnpluginInstance<DTasksPluginOptions | undefined, false> = createUnplugin(
  (rawOptions) => {
    const options = normalizePluginOptions(rawOptions);
    const userExclude = options.exclude === undefined ? [] : [options.exclude].flat();
    return {
      name: "dtasks",
      // Vite and webpack order plugins by this; for Rollup and esbuild, list dtasks first.
      enforce: "pre",
      transform: {
        filter: { id: { include: options.include ?? SCRIPT, exclude: [...NEVER, ...userExclude] } },
        handler(code, id) {
          if (!mightContainDAsync(code)) return null;
          const file = id.replace(/[?#].*$/, "");
          let result: ReturnType<typeof transform>;
          try {
            result = transform(code, {
              filename: file,
              root: packageOf(file)?.root,
              stripTypes: options.stripTypes ?? isTypeScript(file),
              sourceMaps: true,
              runtimeModules: options.runtimeModules,
            });
          } catch (error) {
            throw compileError(error, file);
          }
          if (!result.changed) return null;
          for (const warning of result.warnings) this.warn(formatWarning(warning));
          return { code: result.code, map: withAbsoluteSource(result.map as SourceMapCompact | null, file) };
        },
      },
    };
  },
);

/**
 * The compiler names the source by its base name, which Rollup and Vite read relative to the
 * module but webpack relative to its context folder; an absolute path means the same to all.
 */
function withAbsoluteSource(map: SourceMapCompact | null, file: string): SourceMapCompact | null {
  if (map?.sources.length !== 1) return map;
  const { sourceRoot: _, ...rest } = map;
  return { ...rest, sources: [file] };
}

export default dtasks;
