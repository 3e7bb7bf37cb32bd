/**
 * Builds the fixture app (`src/main.ts`, in a temp copy) into one Node-runnable file with each
 * bundler, through the dtasks plugin, and returns the output's path.
 */
import { join } from "node:path";
import { build as esbuild } from "esbuild";
import { rollup } from "rollup";
import { defaultServerConditions, build as vite } from "vite";
import webpack from "webpack";
import dtasksEsbuild from "../../../src/compiler/bundler/esbuild.js";
import dtasksRollup from "../../../src/compiler/bundler/rollup.js";
import dtasksVite from "../../../src/compiler/bundler/vite.js";
import dtasksWebpack from "../../../src/compiler/bundler/webpack.js";
import { stripTypeScript } from "./strip-plugin.js";

export type Bundler = "vite" | "rollup" | "esbuild" | "webpack";

export const BUNDLERS: Bundler[] = ["vite", "rollup", "esbuild", "webpack"];

/** `dtasks` resolves to this checkout's TypeScript sources, as in the fixture's Node runs. */
const CONDITIONS = ["source"];

export async function bundle(bundler: Bundler, dir: string): Promise<string> {
  const entry = join(dir, "src/main.ts");
  const outDir = join(dir, `out-${bundler}`);
  switch (bundler) {
    case "vite":
      await vite({
        root: dir,
        configFile: false,
        logLevel: "silent",
        plugins: [dtasksVite()],
        ssr: { noExternal: true, resolve: { conditions: [...CONDITIONS, ...defaultServerConditions] } },
        build: {
          ssr: entry,
          outDir,
          minify: false,
          sourcemap: true,
          rollupOptions: { output: { format: "es", entryFileNames: "main.mjs" } },
        },
      });
      return join(outDir, "main.mjs");
    case "rollup": {
      const build = await rollup({
        input: entry,
        // dtasks first: Rollup runs transforms in plugin order, and dtasks must see the TypeScript.
        plugins: [dtasksRollup(), stripTypeScript.rollup()],
        external: (id) => id.startsWith("node:"),
      });
      await build.write({ file: join(outDir, "main.mjs"), format: "es", sourcemap: true });
      await build.close();
      return join(outDir, "main.mjs");
    }
    case "esbuild":
      await esbuild({
        entryPoints: [entry],
        bundle: true,
        platform: "node",
        format: "esm",
        conditions: CONDITIONS,
        outfile: join(outDir, "main.mjs"),
        sourcemap: true,
        logLevel: "silent",
        plugins: [dtasksEsbuild()],
      });
      return join(outDir, "main.mjs");
    case "webpack":
      await new Promise<void>((resolve, reject) => {
        webpack(
          {
            mode: "development",
            devtool: "source-map",
            target: "node",
            context: dir,
            entry,
            output: { path: outDir, filename: "main.cjs" },
            resolve: {
              extensions: [".ts", ".js"],
              extensionAlias: { ".js": [".ts", ".js"] },
              conditionNames: [...CONDITIONS, "..."],
            },
            // The dtasks plugin adds a pre-loader; the TypeScript stripper is a normal loader after it.
            plugins: [dtasksWebpack(), stripTypeScript.webpack()],
          },
          (error, stats) => {
            if (error) reject(error);
            else if (stats?.hasErrors()) reject(new Error(stats.toString({ all: false, errors: true })));
            else resolve();
          },
        );
      });
      return join(outDir, "main.cjs");
  }
}
