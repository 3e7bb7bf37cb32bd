import { DTask, dasync } from "dtasks";
import { announce } from "../flows.js";

/** Version 2: same id as v1.ts, another body, so another version hash. */
export const review = dasync("tests.review", async function review(key: string) {
  const started = Date.now();
  const verdict = await DTask.callback<string>((id) => announce(key, id));
  return `v2 reviewed ${key}: ${verdict} after ${Date.now() - started} ms`;
});
