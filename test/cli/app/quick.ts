// A flow for the CLI tests that finishes without suspending, or fails when asked to.
import { dasync } from "dtasks";

export const main = dasync(async function main(what = "ok") {
  if (what === "fail") throw new RangeError("asked to fail");
  return { what, at: new Date(Date.UTC(2030, 0, 1)), tags: new Set(["a"]) };
});

export function notDAsync() {
  return 1;
}
