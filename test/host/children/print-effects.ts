// Loaded with `dtasks worker --import` in the CLI tests: the flows' effects in that worker process
// go to stdout, one `effect <json>` line each, so a test can see a run start there.
import { setEffects } from "../../faults/support/flows.js";

setEffects((effect) => process.stdout.write(`effect ${JSON.stringify(effect)}\n`));
