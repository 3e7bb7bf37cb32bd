/**
 * The package a source file belongs to: the nearest folder with a `package.json`, and its module
 * type. Function ids are relative to that folder, so every front-end must find the same one; they
 * all ask here. Lookups are cached per folder because a loader asks once per module and a build
 * asks once per file, nearly always for the same few packages.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface PackageInfo {
  /** Absolute path of the folder holding the `package.json`. */
  root: string;
  /** The `type` field: how `.js` files of the package are loaded. */
  type: "module" | "commonjs";
}

/** Folder → its package (null: no package.json up to the file-system root). */
const cache = new Map<string, PackageInfo | null>();

/** The package of `file` (an absolute path), or undefined when no folder above it has a package.json. */
export function packageOf(file: string): PackageInfo | undefined {
  const visited: string[] = [];
  let dir = dirname(file);
  let found: PackageInfo | null = null;
  for (;;) {
    const cached = cache.get(dir);
    if (cached !== undefined) {
      found = cached;
      break;
    }
    visited.push(dir);
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      found = { root: dir, type: readType(manifest) };
      break;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const folder of visited) cache.set(folder, found);
  return found ?? undefined;
}

function readType(manifest: string): PackageInfo["type"] {
  try {
    const json = JSON.parse(readFileSync(manifest, "utf8")) as { type?: unknown };
    return json.type === "module" ? "module" : "commonjs";
  } catch {
    // Node itself reports a broken package.json when it loads the package; ours is only a hint.
    return "commonjs";
  }
}

/**
 * True for files of installed packages. They are never compiled: a library that defines d-async
 * functions publishes compiled output (`dtasks build`), so its ids and versions are the ones it
 * was built with, whatever loader or bundler the application uses.
 */
export function isInNodeModules(file: string): boolean {
  return /[\\/]node_modules[\\/]/.test(file);
}
