/** The source files of a tree, in a stable order (so manifests and logs do not depend on the disk). */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { isSourceFile } from "../../compiler/node/extensions.js";

/**
 * Every compilable file under `dir`, sorted. Skips `node_modules` (packages ship compiled code),
 * hidden folders, and the folders in `skip` (the output folder, when it lies inside the sources).
 * Symbolic links to folders are not followed, so a link cannot make the walk loop.
 */
export function sourceFiles(dir: string, skip: ReadonlySet<string>): string[] {
  const files: string[] = [];
  const visit = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === "node_modules" || entry.name.startsWith(".") || skip.has(path)) continue;
        visit(path);
      } else if (entry.isFile() && isSourceFile(path)) {
        files.push(path);
      }
    }
  };
  visit(dir);
  return files.sort();
}
