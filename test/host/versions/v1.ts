import { DTask, dasync } from "dtasks";
import { announce } from "../flows.js";

/** Version 1 of a function whose id is pinned, so v2.ts can change its body under the same id. */
export const review = dasync("tests.review", async function review(key: string) {
  const verdict = await DTask.callback<string>((id) => announce(key, id));
  return `v1 reviewed ${key}: ${verdict}`;
});
