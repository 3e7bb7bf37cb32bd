/**
 * Frames: creating one for a call, storing one as a record of its live slots, and rebuilding it
 * from a record on resume (with the version and state checks that keep a resume from silently
 * misbehaving on changed code).
 *
 * @module
 */
import { lookupFunction } from "../core/dasync.js";
import type { DCall } from "../core/dtask.js";
import { DTaskError } from "../core/errors.js";
import type { Frame, FrameRecord, FunctionDescriptor } from "../core/protocol.js";

export function newFrame(call: DCall<unknown>): Frame {
  const d = call.descriptor;
  const frame: Frame = { d, s: 0, l: d.init(), a: call.args, self: call.self, c: null };
  d.hoist?.(frame.l, frame);
  return frame;
}

/** The slots live at the frame's current (resume) state. */
export function liveSlots(frame: Frame): string[] {
  const point = frame.d.sp[frame.s];
  if (!point)
    throw new Error(`invariant: frame of '${frame.d.id}' stored at state ${frame.s}, which is no await`);
  return point.live;
}

/** The storable record of a suspended frame: only live slots, completion records and `this`. */
export function frameRecord(frame: Frame): FrameRecord {
  const locals: Record<string, unknown> = {};
  for (const slot of liveSlots(frame)) locals[slot] = frame.l[slot];
  const record: FrameRecord = { fn: frame.d.id, v: frame.d.version, s: frame.s, l: locals };
  if (frame.c?.some((c) => c !== undefined)) record.c = frame.c;
  if (frame.d.method) record.self = frame.self;
  return record;
}

/** Finds the compiled function a record names, checking that it is the same version. */
export function resolveRecord(record: FrameRecord): FunctionDescriptor {
  const d = lookupFunction(record.fn);
  if (!d) {
    throw new DTaskError(
      "DT207",
      `the snapshot names d-async function '${record.fn}', which is not loaded in this process; import its module (or preload the build manifest) before resuming`,
    );
  }
  if (d.version !== record.v) {
    const error = new DTaskError(
      "DT208",
      `d-async function '${record.fn}' changed since the snapshot was taken (snapshot version ${record.v}, code version ${d.version}); resume it with a worker running the old code, or let it finish there before deploying`,
    );
    Object.assign(error, { functionId: record.fn, snapshotVersion: record.v, codeVersion: d.version });
    throw error;
  }
  if (!d.sp[record.s]) {
    throw new DTaskError(
      "DT209",
      `the snapshot puts '${record.fn}' at state ${record.s}, which it does not have`,
    );
  }
  return d;
}

/** Rebuilds a frame from its record: fresh slots, then the live values. */
export function restoreFrame(record: FrameRecord): Frame {
  const d = resolveRecord(record);
  const frame: Frame = { d, s: record.s, l: d.init(), a: null, self: record.self, c: record.c ?? null };
  d.hoist?.(frame.l, frame);
  for (const slot of d.sp[record.s]!.live) frame.l[slot] = record.l[slot];
  return frame;
}
