/**
 * Payloads the host writes itself: the value of `host.resume` and the error of `host.fail`,
 * encoded with the snapshot codec so the run that applies them gets back the same kinds of values
 * a snapshot can hold (Dates, Maps, registered classes, errors with their cause…). Encoding happens
 * before anything is stored, so a value that cannot be stored (DT301) changes nothing.
 *
 * @module
 */
import { ensureError } from "../core/errors.js";
import type { Bytes } from "../core/store.js";
import { marshal } from "../marshal/index.js";

export function encodeResumeValue(value: unknown, format: "json" | "msgpack"): Bytes {
  return marshal(value, { format });
}

export function encodeFailure(error: unknown, format: "json" | "msgpack"): Bytes {
  return marshal(ensureError(error), { format });
}
