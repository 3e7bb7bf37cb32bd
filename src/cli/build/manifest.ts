/**
 * `dtasks-manifest.json`: every d-async function of a build, by id. A worker reads it to import
 * the modules a snapshot may name before resuming it; CI diffs it between releases to catch a
 * deploy that changes a function in-flight flows are suspended in.
 */
import type { ModuleManifest, SuspensionPointManifest } from "../../compiler/index.js";

export const MANIFEST_FILE = "dtasks-manifest.json";

/** Format of the manifest file itself, bumped on incompatible changes. */
export const MANIFEST_FORMAT = 1;

export interface BuildManifest {
  dtasksManifest: typeof MANIFEST_FORMAT;
  functions: Record<string, BuildManifestFunction>;
}

export interface BuildManifestFunction {
  name: string;
  /** Source module, relative to its package root (as in the function id). */
  file: string;
  /** Compiled module, relative to the manifest (with `/` separators), for `import()`. */
  module: string;
  version: string;
  /** `file:line:column` of the function in the source. */
  loc: string;
  /** Every await: the state it resumes at, its location and source, and the variables live there. */
  suspensionPoints: SuspensionPointManifest[];
}

/**
 * Merges module manifests (given in a stable order). Two functions with one id would make a
 * snapshot ambiguous; each clash is returned as a problem instead of being silently overwritten.
 */
export function mergeManifests(modules: { manifest: ModuleManifest; module: string }[]): {
  manifest: BuildManifest;
  clashes: string[];
} {
  const functions: Record<string, BuildManifestFunction> = {};
  const clashes: string[] = [];
  for (const { manifest, module } of modules) {
    for (const fn of manifest.functions) {
      const existing = functions[fn.id];
      if (existing) {
        clashes.push(
          `d-async function id '${fn.id}' is defined at ${existing.loc} and at ${fn.loc}; give one of them its own id with dasync("<id>", fn)`,
        );
        continue;
      }
      functions[fn.id] = {
        name: fn.name,
        file: manifest.file,
        module,
        version: fn.version,
        loc: fn.loc,
        suspensionPoints: fn.suspensionPoints,
      };
    }
  }
  return { manifest: { dtasksManifest: MANIFEST_FORMAT, functions }, clashes };
}
