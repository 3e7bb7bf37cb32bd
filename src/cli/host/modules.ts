/**
 * Loading the application's modules into a CLI process (`run <file>`, `worker --import`,
 * `show --import`), so that its d-async functions are registered and can run or be described.
 * TypeScript and d-async functions need the dtasks loader: when this process was not started
 * with it (`node --import dtasks/register`), it is installed now, before the first import, which
 * is all `module.register` needs.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { displayPath } from "./store.js";

/** Pushes a problem for every module path that does not exist. */
export function checkModules(
  paths: readonly string[],
  cwd: string,
  problems: string[],
  what = "--import",
): string[] {
  const resolved: string[] = [];
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    if (existsSync(absolute)) resolved.push(absolute);
    else problems.push(`${what} ${path}: no such file (${displayPath(absolute, cwd)})`);
  }
  return resolved;
}

/** Imports modules (absolute paths) under the dtasks loader, in order. */
export async function importModules(paths: readonly string[]): Promise<Record<string, unknown>[]> {
  if (paths.length === 0) return [];
  if (!loaderInstalled()) await import("../../compiler/node/register.js");
  const modules: Record<string, unknown>[] = [];
  for (const path of paths) modules.push((await import(pathToFileURL(path).href)) as Record<string, unknown>);
  return modules;
}

/**
 * Whether the dtasks loader (or this repository's development bootstrap of it) was given to Node
 * on its command line or in NODE_OPTIONS. Installing it twice would compile every module twice.
 */
function loaderInstalled(): boolean {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  return args.some((arg, i) => {
    const value =
      /^--(import|loader|experimental-loader)=(.*)$/.exec(arg)?.[2] ??
      (/^--(import|loader|experimental-loader)$/.test(args[i - 1] ?? "") ? arg : undefined);
    return value !== undefined && /(dtasks\/register|register\.(m?js|ts))$/.test(value);
  });
}
