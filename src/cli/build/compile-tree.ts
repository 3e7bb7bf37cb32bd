/**
 * Compiles a source tree in memory: every file becomes JavaScript plus a source map, and the
 * module manifests are merged. Nothing is written here, so a build with any error writes nothing
 * and leaves the previous output intact.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import type { CompilerWarning, ModuleManifest } from "../../compiler/index.js";
import { compileFile } from "../../compiler/node/compile-file.js";
import { outputExtension } from "../../compiler/node/extensions.js";
import { type BuildManifest, mergeManifests } from "./manifest.js";
import { sourceFiles } from "./source-files.js";

export interface OutputFile {
  path: string;
  text: string;
}

export interface TreeResult {
  /** Files to write, with absolute paths. */
  outputs: OutputFile[];
  manifest: BuildManifest;
  /** Readable errors (with code frames), one per failed file or id clash. Empty on success. */
  errors: string[];
  warnings: CompilerWarning[];
  files: number;
  compiled: number;
}

export function compileTree(srcDir: string, outDir: string): TreeResult {
  const files = sourceFiles(srcDir, new Set([outDir]));
  const outputs: OutputFile[] = [];
  const errors: string[] = [];
  const warnings: CompilerWarning[] = [];
  const modules: { manifest: ModuleManifest; module: string }[] = [];
  for (const file of files) {
    const rel = relative(srcDir, file);
    const out = join(outDir, rel.slice(0, rel.length - extLength(rel)) + outputExtension(file));
    const source = readFileSync(file, "utf8");
    let compiled: ReturnType<typeof compileFile>;
    try {
      compiled = compileFile(source, file, { sourceMaps: true });
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    if (compiled.kind === "untouched") {
      outputs.push({ path: out, text: source });
      continue;
    }
    const mapPath = `${out}.map`;
    outputs.push({
      path: out,
      text: `${compiled.code.trimEnd()}\n//# sourceMappingURL=${basename(mapPath)}\n`,
    });
    if (compiled.map)
      outputs.push({ path: mapPath, text: JSON.stringify(relocateMap(compiled.map, file, out)) });
    if (compiled.kind === "compiled") {
      warnings.push(...compiled.warnings);
      if (compiled.manifest.functions.length > 0) {
        modules.push({ manifest: compiled.manifest, module: relative(outDir, out).split(sep).join("/") });
      }
    }
  }
  const { manifest, clashes } = mergeManifests(modules);
  errors.push(...clashes);
  return { outputs, manifest, errors, warnings, files: files.length, compiled: modules.length };
}

function extLength(file: string): number {
  return file.length - file.lastIndexOf(".");
}

/** Points the map at the source file from where the output lives, whatever the compiler wrote. */
function relocateMap(map: object, source: string, out: string): object {
  const sources = (map as { sources?: unknown[] }).sources;
  const relocated = { ...map, file: basename(out) } as Record<string, unknown>;
  if (Array.isArray(sources) && sources.length === 1) {
    relocated.sources = [relative(dirname(out), source).split(sep).join("/")];
    delete relocated.sourceRoot;
  }
  return relocated;
}
