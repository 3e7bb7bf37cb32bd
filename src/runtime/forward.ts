/**
 * `return x` where x is a promise or a DTask resolves to x's outcome, as in a native async
 * function. The driver replaces the returning frame by this one-await forwarder, so a returned
 * d-async call runs as a child on the same stack (and may suspend durably) instead of becoming the
 * value. It has an id and a suspension point like any compiled function, so it can be stored.
 *
 * @module
 */
import { dasync } from "../core/dasync.js";
import { type Frame, type FunctionDescriptor, PROTOCOL_VERSION, type StepIO } from "../core/protocol.js";

export const FORWARD: FunctionDescriptor = {
  $dtask: PROTOCOL_VERSION,
  id: "dtasks#return",
  version: "1",
  name: "return",
  file: "",
  loc: "(return of a thenable)",
  init: () => ({}),
  step(frame: Frame, io: StepIO) {
    if (io.t) throw io.v;
    if (frame.s === 0) {
      io.v = frame.a![0];
      frame.a = null;
      frame.s = 1;
      return 1;
    }
    return 0; // the outcome of the await, in io.v, is the value
  },
  sp: { 1: { live: [], loc: "(return of a thenable)", src: "return <thenable>" } },
  handlers: [],
  slots: {},
};

dasync(FORWARD as never);

export function isThenable(value: unknown): boolean {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

export function forwarderFrame(thenable: unknown): Frame {
  return { d: FORWARD, s: 0, l: {}, a: [thenable], self: undefined, c: null };
}
