/**
 * What every part of the compiler shares while it compiles one d-async function: the reserved
 * names of the step function's parameters, the slot table, and where diagnostics go.
 */
import * as t from "@babel/types";
import type { WarningSink } from "../diagnostics.js";

/** Identifiers the generated code uses, chosen so they collide with nothing in the module. */
export interface Names {
  /** The frame parameter of the step function (and of `hoist`). */
  f: string;
  /** The outcome of the last await (a local: `io.v` at entry, then each native await's value). */
  v: string;
  /** Whether that outcome is an exception (a local: `io.t` at entry). */
  t: string;
  /** The step IO parameter. */
  io: string;
  /** The slots object (`frame.l`). */
  l: string;
  /** The label of the dispatch loop. */
  loop: string;
  /** The catch parameter of the dispatch loop. */
  e: string;
  /**
   * The value being awaited. A local of its own, not the `v` parameter: writing a parameter before
   * a native await measured 0.05× of native slower on the await-heavy bench loop.
   */
  a: string;
}

export type SlotKind = "param" | "var" | "let" | "const" | "function" | "class" | "catch" | "temp" | "cursor";

export interface Slot {
  /** The name as written (or a description for compiler temps). */
  name: string;
  /** `file:line:column` of the declaration. */
  decl: string;
  kind: SlotKind;
  /** Read or written inside a nested function: always stored, never a register. */
  captured: boolean;
  /** Holds a fresh `{ v }` box per loop iteration, because closures capture it per iteration. */
  boxed: boolean;
  /** Written by the runtime (catch slots): never a register. */
  runtimeWritten: boolean;
  /** Assigned a function or class value somewhere (for the DT110 warning). */
  holdsFunction: boolean;
}

export class FunctionContext {
  readonly slots = new Map<string, Slot>();
  private tempCount = 0;
  /**
   * `Promise` in the step function is the global one (nothing in the module shadows it), so an
   * await can tell a native promise from a DTask without a call (see Emitter.await).
   */
  globalPromise = true;

  constructor(
    readonly names: Names,
    /** Module path relative to the package root, for locations. */
    readonly file: string,
    /** The module source, for `src` snippets of awaits. */
    readonly source: string,
    readonly warn: WarningSink,
  ) {}

  /** Reserves a slot name, adding `$1`, `$2`… when the name is taken. */
  addSlot(
    preferred: string,
    info: Omit<Slot, "captured" | "boxed" | "runtimeWritten" | "holdsFunction"> & Partial<Slot>,
  ): string {
    let name = preferred;
    for (let i = 1; this.slots.has(name); i++) name = `${preferred}$${i}`;
    this.slots.set(name, {
      captured: false,
      boxed: false,
      runtimeWritten: false,
      holdsFunction: false,
      ...info,
    });
    return name;
  }

  /** A new compiler temp slot. */
  temp(description = "temporary", kind: "temp" | "cursor" = "temp"): string {
    this.tempCount++;
    return this.addSlot(`$t${this.tempCount}`, { name: description, decl: "", kind });
  }

  /** `_l.slot` */
  slotRef(slot: string): t.MemberExpression {
    return t.memberExpression(t.identifier(this.names.l), t.identifier(slot));
  }

  /** The slot a node reads, when it is exactly `_l.slot`. */
  slotOf(node: t.Node): string | undefined {
    if (
      node.type === "MemberExpression" &&
      !node.computed &&
      node.object.type === "Identifier" &&
      node.object.name === this.names.l &&
      node.property.type === "Identifier"
    ) {
      return node.property.name;
    }
    return undefined;
  }

  id(name: keyof Names): t.Identifier {
    return t.identifier(this.names[name]);
  }

  /** `_f.prop` */
  frame(prop: string): t.MemberExpression {
    return t.memberExpression(this.id("f"), t.identifier(prop));
  }

  /** `_io.prop` */
  io(prop: string): t.MemberExpression {
    return t.memberExpression(this.id("io"), t.identifier(prop));
  }

  /** `return _io.y(signal, value);`: the step leaves the frame (see StepIO.y). */
  leave(signal: number, value: t.Expression): t.ReturnStatement {
    return t.returnStatement(t.callExpression(this.io("y"), [t.numericLiteral(signal), value]));
  }

  /**
   * `_v = value; break _loop;`: the function returns. The step reports it after the dispatch loop,
   * once every native `finally` the return passes through has run (and perhaps overridden it):
   * after a native await, reporting it is what runs the parent frame.
   */
  returnWith(value: t.Expression): t.Statement[] {
    return [
      t.expressionStatement(t.assignmentExpression("=", this.id("v"), value)),
      t.breakStatement(this.id("loop")),
    ];
  }

  /** The source text of a node, shortened, for messages. */
  sourceOf(node: t.Node): string {
    if (node.start == null || node.end == null) return "";
    const text = this.source.slice(node.start, node.end).replace(/\s+/g, " ");
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  }
}
