/**
 * The d-async functions the HTTP tests start through async endpoints, and where their callback
 * ids go (a test reads them to resume through the resumption routes, as an e-mail link would).
 */
import { DTask, dasync } from "dtasks";

/** Callback ids by label, as each flow announces them. */
export const callbacks = new Map<string, string>();

/** Resolves with the callback id of `label` once its flow has announced it. */
export async function callbackOf(label: string, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const id = callbacks.get(label);
    if (id !== undefined) return id;
    if (Date.now() > until) throw new Error(`no callback announced for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Finishes at once: no suspension. */
export const echo = dasync(async function echo(input: unknown) {
  return { echo: input };
});

/** Returns undefined at once (answered 204). */
export const nothing = dasync(async function nothing() {
  return undefined;
});

/** Returns what JSON alone cannot say. */
export const unusual = dasync(async function unusual() {
  return { big: 12345678901234567890n, map: new Map([["a", 1]]), set: new Set([1, 2]) };
});

/** Throws before any suspension. */
export const failNow = dasync(async function failNow(message: string) {
  throw Object.assign(new Error(message), { code: "E_TEST" });
});

/** Waits for a callback, then answers with what it was resumed with. */
export const waitFor = dasync(async function waitFor(label: string) {
  const value = await DTask.callback<unknown>((callbackId) => {
    callbacks.set(label, callbackId);
  });
  return { label, value };
});

/** Waits for a callback, then fails with its value as the message. */
export const waitThenFail = dasync(async function waitThenFail(label: string) {
  const value = await DTask.callback<string>((callbackId) => {
    callbacks.set(label, callbackId);
  });
  throw new Error(`failed after ${value}`);
});

/** Suspends at a yield (a worker goes on), then returns. */
export const yieldThen = dasync(async function yieldThen(value: unknown) {
  await DTask.yield();
  return { after: "yield", value };
});

/** Waits for a durable timer. */
export const sleepFor = dasync(async function sleepFor(ms: number) {
  await DTask.delay(ms);
  return { slept: ms };
});
