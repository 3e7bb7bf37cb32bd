// Development loader for this repository's own tests: tsx loads our TypeScript sources (including
// the loader hooks themselves, in the hooks thread), then `dtasks/register` is installed from
// source. Hooks registered last run first, so the dtasks hooks see every file's original
// TypeScript and handle it, exactly as `dtasks/register` does for users of the published package;
// tsx only loads the hook modules themselves and whatever the dtasks hooks pass on.
import { existsSync } from "node:fs";
import { register as registerTsx } from "tsx/esm/api";

registerTsx();
const dtasksRegister = new URL("../../src/compiler/node/register.ts", import.meta.url);
if (existsSync(dtasksRegister)) await import(dtasksRegister.href);
