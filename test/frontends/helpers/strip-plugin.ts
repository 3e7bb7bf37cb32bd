/**
 * What a Rollup or webpack user adds next to the dtasks plugin to handle TypeScript (there,
 * `@rollup/plugin-typescript` or `ts-loader`): `./x.js` → `./x.ts` resolution and esbuild type
 * stripping. Kept minimal and test-only; it runs after the dtasks plugin, as a real one would.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";
import { createUnplugin } from "unplugin";

export const stripTypeScript = createUnplugin(() => ({
  name: "test-strip-typescript",
  // Rollup only: webpack resolves through its own `resolve` options (see bundle.ts).
  rollup: {
    resolveId(id: string, importer: string | undefined) {
      // dtasks is bundled from this checkout's source (its `source` export condition); other
      // packages stay external and load from the app's node_modules at run time.
      if (id === "dtasks") return fileURLToPath(import.meta.resolve(id));
      if (/^[\w@]/.test(id)) return { id, external: true };
      if (!importer || !/^(\.{1,2})?\//.test(id) || !id.endsWith(".js")) return null;
      const ts = resolve(dirname(importer), id).replace(/\.js$/, ".ts");
      return existsSync(ts) ? ts : null;
    },
  },
  transform: {
    filter: { id: /\.ts$/ },
    handler(code, id) {
      const result = transformSync(code, { loader: "ts", sourcefile: id, sourcemap: "external" });
      return { code: result.code, map: JSON.parse(result.map) };
    },
  },
}));
