/**
 * The task table of a flow, in memory. Every DTask the flow has touched has a TaskState: the root,
 * branches started by whenAll/whenAny/run (each with its own stack of frames), d-async calls run
 * inline on a stack, durable leaves (delay, callback, yield) and combinators. A task parked on
 * another is woken when that one completes.
 *
 * @module
 */
import {
  CallbackTask,
  DCall,
  DelayTask,
  type DTask,
  RunTask,
  WhenAllTask,
  WhenAnyTask,
  YieldTask,
} from "../core/dtask.js";
import type { Frame } from "../core/protocol.js";

export type TaskKind = "call" | "delay" | "yield" | "callback" | "completed" | "whenAll" | "whenAny" | "run";

export class TaskState {
  /** Tasks whose stack is parked on this one (woken when it completes). */
  readonly waiters: TaskState[] = [];
  /** Combinators over this task. */
  readonly watchers: TaskState[] = [];
  /** Own stack (root and branches); inline calls run on their caller's stack. */
  stack: Frame[] | null = null;
  /** The DCall each frame of `stack` runs (null when unknown), parallel to `stack`. */
  calls: (DCall<unknown> | null)[] = [];
  /** What the innermost frame awaits, while parked. */
  parkedOn: TaskState | null = null;
  /** Store wait id of a durable leaf (timer, callback, yield). */
  waitId: string | null = null;
  /** Due time of a delay (absolute ms), once it has started. */
  dueAt: number | null = null;
  /** The wait existed before this run (loaded from the snapshot). */
  loaded = false;
  /** A branch: has its own stack and runs concurrently. */
  branch = false;
  /**
   * Its outcome has been propagated to waiters and watchers. (The driver marks a d-async call's
   * DTask succeeded or failed as its frame returns, before the run propagates the outcome.)
   */
  settled = false;

  constructor(
    readonly id: string,
    readonly obj: DTask<unknown>,
  ) {}

  get kind(): TaskKind {
    return kindOf(this.obj);
  }

  get children(): DTask<unknown>[] {
    const obj = this.obj;
    if (obj instanceof WhenAllTask || obj instanceof WhenAnyTask) return obj.tasks;
    if (obj instanceof RunTask) return [obj.task];
    return [];
  }

  get done(): boolean {
    return this.obj.isCompleted;
  }
}

export function kindOf(task: DTask<unknown>): TaskKind {
  if (task instanceof DCall) return "call";
  if (task instanceof DelayTask) return "delay";
  if (task instanceof YieldTask) return "yield";
  if (task instanceof CallbackTask) return "callback";
  if (task instanceof WhenAllTask) return "whenAll";
  if (task instanceof WhenAnyTask) return "whenAny";
  if (task instanceof RunTask) return "run";
  return "completed";
}

/** Durable leaves: the tasks that wait on the outside world. */
export function isLeaf(kind: TaskKind): boolean {
  return kind === "delay" || kind === "yield" || kind === "callback";
}
