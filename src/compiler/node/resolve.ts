/**
 * TypeScript's ESM convention: a TypeScript module imports its neighbour `./x.ts` as `./x.js`,
 * the name it will have once compiled. Node's resolver only knows the `.js` name, so the loader
 * maps it back, following TypeScript's own rules (`.js` → `.ts`/`.tsx`, `.jsx` → `.tsx`,
 * `.mjs` → `.mts`). Importers written in TypeScript get the TypeScript file even when a compiled
 * `.js` lies beside it, as `tsc` would; JavaScript importers get it only when the `.js` is missing.
 */
import { existsSync } from "node:fs";
import { extname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isTypeScript } from "./extensions.js";

const CANDIDATES: Record<string, string[]> = {
  ".js": [".ts", ".tsx"],
  ".jsx": [".tsx"],
  ".mjs": [".mts"],
};

/** The `file:` URL of the TypeScript file that `specifier` names, if it names one. */
export function resolveTypeScript(specifier: string, parentURL: string | undefined): string | undefined {
  if (!parentURL?.startsWith("file:") || !isPathSpecifier(specifier)) return undefined;
  const url = new URL(specifier, parentURL);
  const path = fileURLToPath(new URL(url.pathname, url));
  const ext = extname(path);
  const candidates = CANDIDATES[ext];
  if (!candidates) return undefined;
  if (!isTypeScript(fileURLToPath(parentURL)) && existsSync(path)) return undefined;
  const stem = path.slice(0, -ext.length);
  for (const candidate of candidates) {
    if (existsSync(stem + candidate)) return pathToFileURL(stem + candidate).href + url.search + url.hash;
  }
  return undefined;
}

/** Relative, absolute or `file:` specifiers: the ones that name a file rather than a package. */
function isPathSpecifier(specifier: string): boolean {
  return /^(\.{1,2}\/|\/|file:)/.test(specifier);
}
