/**
 * The flow snapshot: the task table as data. DTask objects anywhere in the flow's values (locals,
 * arguments, results) are stored as references to table rows (`task` special nodes), so their
 * identity survives a resume (`winner === timeout`); cancellation sources keep theirs through the
 * codec's shared references. Rows reference each other by id, so there is no cycle through custom
 * data. Only rows reachable from the root, the running branches and the stored values are kept:
 * the snapshot's size depends on the live state, never on the flow's history.
 *
 * @module
 */
import { DCancellationToken, DCancellationTokenSource } from "../core/cancellation.js";
import { lookupFunction } from "../core/dasync.js";
import {
  CallbackTask,
  CompletedTask,
  DCall,
  DelayTask,
  DTask,
  type DTaskStatus,
  RunTask,
  WhenAllTask,
  WhenAnyTask,
  YieldTask,
} from "../core/dtask.js";
import { DTaskError } from "../core/errors.js";
import type { FrameRecord } from "../core/protocol.js";
import type { Bytes } from "../core/store.js";
import { type Format, type MarshalOptions, marshal, type SpecialHooks, unmarshal } from "../marshal/index.js";
import type { ServiceRegistry } from "./engine.js";
import type { TaskKind } from "./tasks.js";

/** Snapshot format version (of this layout, not of the value codec). */
export const SNAPSHOT_VERSION = 1;

export interface TaskRecord {
  k: TaskKind;
  st: DTaskStatus;
  r?: unknown;
  e?: unknown;
  /** call: function id, and (pending) arguments and `this`. */
  fn?: string;
  a?: unknown[];
  self?: unknown;
  /** A root or branch with its own stack: frames outer to inner, and the call id of each. */
  frames?: FrameRecord[];
  fc?: (string | null)[];
  /** The task the innermost frame is parked on. */
  on?: string;
  br?: 1;
  /** Leaves: wait id, delay length and due time, token. */
  w?: string;
  ms?: number;
  due?: number;
  tok?: DCancellationToken;
  /** Combinators: child ids; whenAllSettled. */
  ch?: string[];
  set?: 1;
}

export interface FlowSnapshot {
  v: typeof SNAPSHOT_VERSION;
  root: string;
  /** Ids of the tasks with their own stacks that are still running. */
  branches: string[];
  tasks: Record<string, TaskRecord>;
  /** Next task id number. */
  n: number;
}

const CLASSES: Record<TaskKind, object> = {
  call: DCall.prototype,
  delay: DelayTask.prototype,
  yield: YieldTask.prototype,
  callback: CallbackTask.prototype,
  completed: CompletedTask.prototype,
  whenAll: WhenAllTask.prototype,
  whenAny: WhenAnyTask.prototype,
  run: RunTask.prototype,
};

/** What the codec needs from the run to store DTasks and services. */
export interface TaskIdentity {
  /** The id of a DTask object (assigning one to a task the run has not seen yet). */
  idOf(task: DTask<unknown>): string;
  kindOf(task: DTask<unknown>): TaskKind;
}

export interface EncodeContext {
  identity: TaskIdentity;
  services: ServiceRegistry | undefined;
  /** Told of every cancellation source stored. */
  onSource?: (source: DCancellationTokenSource) => void;
}

export interface DecodeContext {
  /** DTask objects by id: references become placeholders filled in from their rows afterwards. */
  objects: Map<string, DTask<unknown>>;
  services: ServiceRegistry | undefined;
  /** Told of every cancellation source read. */
  onSource?: (source: DCancellationTokenSource) => void;
}

// The codec validates an options object once and caches it by identity, so the options (and the
// hooks in them) are module constants; the hooks read the context of the call in progress.
// marshal/unmarshal are synchronous, so a context is set exactly for the duration of one call
// (saved and restored, should a hook ever marshal again).
let encoding: EncodeContext | null = null;
let decoding: DecodeContext | null = null;

const ENCODE_HOOKS: SpecialHooks = {
  encode(value) {
    const context = encoding!;
    // Plain objects and arrays (most of what a snapshot holds) are never DTasks or tokens: only a
    // service lookup for them.
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== Array.prototype) {
      if (DTask.isDTask(value)) {
        return { tag: "task", data: `${context.identity.kindOf(value)}:${context.identity.idOf(value)}` };
      }
      if (value instanceof DCancellationTokenSource) {
        context.onSource?.(value);
        return { tag: "cts", data: [value._canceled ? 1 : 0, value._cancelAt, value._cancelAfterMs] };
      }
      if (value instanceof DCancellationToken) return { tag: "ctok", data: value.source };
    }
    const token = context.services?.tokenOf(value);
    if (token !== undefined) return { tag: "svc", data: token };
    return undefined;
  },
  decode() {
    throw new Error("invariant: encoding hooks do not decode");
  },
};

const DECODE_HOOKS: SpecialHooks = {
  encode() {
    return undefined;
  },
  decode(tag, data) {
    const context = decoding!;
    switch (tag) {
      case "task": {
        const [kind, id] = splitRef(data);
        let task = context.objects.get(id);
        if (!task) {
          task = Object.create(CLASSES[kind]) as DTask<unknown>;
          context.objects.set(id, task);
        }
        return task;
      }
      case "cts": {
        const [canceled, at, afterMs] = data as [number, number | null, number | null];
        const source = new DCancellationTokenSource();
        source._canceled = canceled === 1;
        source._cancelAt = at;
        source._cancelAfterMs = afterMs;
        context.onSource?.(source);
        return source;
      }
      case "ctok":
        return (data as DCancellationTokenSource).token;
      case "svc": {
        const service = context.services?.resolve(String(data));
        if (service === undefined) {
          throw new DTaskError(
            "DT305",
            `the snapshot holds the service '${String(data)}', which is not registered with this host; register it with host.registerService()`,
          );
        }
        return service;
      }
      default:
        throw new DTaskError("DT302", `corrupt snapshot: unknown runtime value '${tag}'`);
    }
  },
};

const OPTIONS: Record<Format, { encode: MarshalOptions; decode: MarshalOptions }> = {
  json: {
    encode: { format: "json", special: ENCODE_HOOKS },
    decode: { format: "json", special: DECODE_HOOKS },
  },
  msgpack: {
    encode: { format: "msgpack", special: ENCODE_HOOKS },
    decode: { format: "msgpack", special: DECODE_HOOKS },
  },
};

/** Marshals a flow value: DTasks by id, sources and tokens by value, services by token. */
export function encodeWith(context: EncodeContext, value: unknown, format: Format = "json"): Bytes {
  const previous = encoding;
  encoding = context;
  try {
    return marshal(value, OPTIONS[format].encode);
  } finally {
    encoding = previous;
  }
}

/** Unmarshals a flow value (any format). */
export function decodeWith(context: DecodeContext, bytes: Bytes): unknown {
  const previous = decoding;
  decoding = context;
  try {
    return unmarshal(bytes, OPTIONS.json.decode);
  } finally {
    decoding = previous;
  }
}

function splitRef(data: unknown): [TaskKind, string] {
  if (typeof data !== "string")
    throw new DTaskError("DT302", "corrupt snapshot: a task reference without an id");
  const colon = data.indexOf(":");
  const kind = data.slice(0, colon) as TaskKind;
  if (colon < 0 || !(kind in CLASSES))
    throw new DTaskError("DT302", `corrupt snapshot: a task reference of unknown kind '${data}'`);
  return [kind, data.slice(colon + 1)];
}

/**
 * Fills a DTask object (a placeholder, or a fresh object) from its row. Pending calls need their
 * function loaded (DT207 otherwise); other rows are data.
 */
export function restoreTask(
  target: DTask<unknown> | undefined,
  record: TaskRecord,
  objectOf: (id: string) => DTask<unknown>,
  options: { lenient?: boolean } = {},
): DTask<unknown> {
  const task = (target ?? Object.create(CLASSES[record.k])) as Record<string, unknown> & DTask<unknown>;
  Object.defineProperty(task, "kind", {
    value: record.k,
    writable: true,
    enumerable: true,
    configurable: true,
  });
  task._status = record.st;
  task._value = record.r;
  task._error = record.e;
  switch (record.k) {
    case "call": {
      const descriptor = lookupFunction(record.fn ?? "");
      if (!descriptor && !options.lenient) {
        throw new DTaskError(
          "DT207",
          `the snapshot names d-async function '${record.fn}', which is not loaded in this process; import its module before resuming`,
        );
      }
      task.descriptor = descriptor ?? { id: record.fn };
      task.args = record.a ?? [];
      task.self = record.self;
      break;
    }
    case "delay":
      task.ms = record.ms ?? 0;
      task.token = record.tok;
      break;
    case "callback":
      task.callback = () => undefined; // already called when the wait was stored
      break;
    case "whenAll":
    case "whenAny":
      task.tasks = (record.ch ?? []).map(objectOf);
      if (record.k === "whenAll") task.settled = record.set === 1;
      break;
    case "run":
      task.task = objectOf(record.ch?.[0] ?? "");
      break;
  }
  return task;
}
