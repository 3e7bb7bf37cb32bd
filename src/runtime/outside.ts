/**
 * Awaiting a DTask from ordinary (non-d-async) code. The API contract: it throws a clear
 * DTaskError. A d-async call awaited there would run without anywhere to store its state (and
 * `Promise.all([a(), b()])` inside d-async code would silently run its branches non-durably), so
 * the error says what to use instead.
 *
 * @module
 */
import { DCall, type DTask, setOutsideAwaiter } from "../core/dtask.js";
import { DTaskError } from "../core/errors.js";

async function awaitOutside(task: DTask<unknown>): Promise<unknown> {
  const what = task instanceof DCall ? `the d-async call '${task.descriptor.id}'` : `DTask.${task.kind}()`;
  throw new DTaskError(
    "DT202",
    `${what} was awaited outside d-async code; await it inside a dasync() function, start it as a flow with host.start() ` +
      "(createTestHost() from dtasks/testing in tests), or combine DTasks with DTask.whenAll/whenAny rather than Promise.all/race",
  );
}

setOutsideAwaiter(awaitOutside);
