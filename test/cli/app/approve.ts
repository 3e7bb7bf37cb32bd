// A flow for the CLI tests: waits for a decision (a callback), then an hour, then answers.
import { DTask, dasync } from "dtasks";

export default dasync(async function main(order = "o-1", hours = "0") {
  const decision = await DTask.callback<{ approved: boolean }>((id) => {
    console.log(JSON.stringify({ callbackId: id }));
  });
  if (hours !== "0") await DTask.delay(`${hours}h`);
  return { order, approved: decision.approved };
});
