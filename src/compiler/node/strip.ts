/**
 * Strips TypeScript from files that define no d-async function, with esbuild: one fast,
 * well-known stripper for everything the compiler does not rewrite. Imports that are only used as
 * types are dropped, as `tsc` does; decorators and other syntax newer than the running Node are
 * lowered to it.
 */
import { transformSync } from "esbuild";
import { stripError } from "./compile-error.js";
import { typeScriptLoader } from "./extensions.js";

export interface Stripped {
  code: string;
  /** The source map, when asked for as a separate object (`sourceMaps: true`). */
  map: object | null;
}

/** Lowers only what this Node cannot run, so stack traces stay close to the source. */
const target = `node${process.versions.node}`;

export function stripTypeScript(source: string, file: string, sourceMaps: "inline" | true): Stripped {
  try {
    const result = transformSync(source, {
      loader: typeScriptLoader(file),
      target,
      sourcefile: file,
      sourcemap: sourceMaps === "inline" ? "inline" : "external",
      sourcesContent: true,
    });
    return { code: result.code, map: result.map ? (JSON.parse(result.map) as object) : null };
  } catch (error) {
    throw stripError(error, file, source);
  }
}
