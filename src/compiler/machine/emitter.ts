/**
 * The emitter: flattens exploded statements into a listing of cases (states), numbered in source
 * order so that every try, catch and finally block is a contiguous range of states — which is what
 * lets the exception table be static. Jump targets are {@link Label}s whose state is filled in
 * when they are marked (regenerator's loc()/mark()).
 *
 * It also keeps the leap stack (regenerator's LeapManager): the loops, switches, labelled
 * statements and try blocks being emitted, so `break`, `continue` and `return` know where they go
 * and which `finally` blocks they must pass through.
 */
import * as t from "@babel/types";
import { COMPLETION_JUMP, COMPLETION_RETURN, STEP_AWAIT } from "../../core/protocol.js";
import { assert } from "../diagnostics.js";
import type { FunctionContext } from "./context.js";

/** A jump target whose state number is known once it is marked. */
export class Label {
  state = -1;
  private readonly refs: t.NumericLiteral[] = [];

  /** A literal holding this label's state (filled in when marked). */
  ref(): t.NumericLiteral {
    // 0 until marked, not -1: Babel's builder makes (and drops) an Error, stack trace and all, for
    // every negative literal — measured at 7 % of compile time.
    const literal = t.numericLiteral(Math.max(this.state, 0));
    if (this.state < 0) this.refs.push(literal);
    return literal;
  }

  set(state: number): void {
    assert(this.state < 0, "a label is marked once");
    this.state = state;
    for (const literal of this.refs) literal.value = state;
  }
}

export interface Case {
  label: Label;
  body: t.Statement[];
  /** Labels this case may jump to (besides falling through). */
  jumps: Set<Label>;
  /** The case ended with an unconditional transfer, so it cannot fall into the next case. */
  terminal: boolean;
  /** The case returns from the step function (await or return), leaving the frame. */
  exits: boolean;
}

interface LoopEntry {
  kind: "loop";
  breakLabel: Label;
  continueLabel: Label;
  labels: string[];
}
interface BreakableEntry {
  kind: "switch" | "labeled";
  breakLabel: Label;
  labels: string[];
}
export interface TryEntry {
  kind: "try";
  /** Index into `frame.c`. */
  k: number;
  phase: "try" | "catch" | "finally";
  tryLabel: Label;
  catchLabel?: Label;
  finallyLabel?: Label;
  afterLabel: Label;
  /** States that break/continue records passing through this finally may target. */
  jumpTargets: Set<Label>;
  /** Whether a return record may pass through this finally. */
  returns: boolean;
}
export type LeapEntry = LoopEntry | BreakableEntry | TryEntry;

export interface AwaitSite {
  resume: Label;
  node: t.Node;
  /** The awaited expression looks durable (DTask.*, a d-async call): used for DT110 warnings. */
  durable: boolean;
}

export interface HandlerEntry {
  tryLabel: Label;
  catchLabel?: Label;
  finallyLabel?: Label;
  afterLabel: Label;
  catchSlot: string | null;
  k: number;
}

export class Emitter {
  readonly cases: Case[] = [];
  readonly leaps: LeapEntry[] = [];
  readonly handlers: HandlerEntry[] = [];
  readonly awaits: AwaitSite[] = [];
  private current!: Case;
  private tryCount = 0;

  constructor(readonly ctx: FunctionContext) {
    this.mark(new Label());
  }

  /** Starts a new case at `label`. */
  mark(label: Label): Label {
    label.set(this.cases.length);
    this.current = { label, body: [], jumps: new Set(), terminal: false, exits: false };
    this.cases.push(this.current);
    return label;
  }

  /**
   * Starts a case where the try/catch/finally region changes. Falling into it must update
   * `frame.s`, because exception dispatch reads the state to find the handler.
   */
  markBoundary(label: Label): void {
    const previous = this.current;
    this.mark(label);
    if (!previous.terminal)
      this.emit(t.expressionStatement(t.assignmentExpression("=", this.ctx.frame("s"), label.ref())));
  }

  emit(statement: t.Statement): void {
    this.current.body.push(statement);
  }

  get currentCase(): Case {
    return this.current;
  }

  newTryIndex(): number {
    return this.tryCount++;
  }

  // ---- control transfer ----

  /** `_f.s = target; continue _loop;` as statements, recording the edge. */
  gotoCode(target: Label): t.Statement[] {
    this.current.jumps.add(target);
    return [
      t.expressionStatement(t.assignmentExpression("=", this.ctx.frame("s"), target.ref())),
      t.continueStatement(this.ctx.id("loop")),
    ];
  }

  /**
   * The statements that transfer control to `target` from here, passing through every `finally`
   * between (as a jump completion record that each finally forwards).
   */
  jumpCode(target: Label, targetDepth: number): t.Statement[] {
    const crossed = this.finalliesAbove(targetDepth, target);
    if (crossed.length === 0) return this.gotoCode(target);
    for (const entry of crossed) entry.jumpTargets.add(target);
    const innermost = crossed[0]!;
    return [
      this.recordCompletion(
        innermost.k,
        t.objectExpression([
          t.objectProperty(t.identifier("t"), t.numericLiteral(COMPLETION_JUMP)),
          t.objectProperty(t.identifier("s"), target.ref()),
        ]),
      ),
      ...this.gotoCode(innermost.finallyLabel!),
    ];
  }

  /**
   * Unconditional jump within the construct being emitted, ending the current case. It never
   * leaves a try block (break, continue and return go through {@link jumpCode}/{@link returnCode}).
   */
  jump(target: Label): void {
    for (const s of this.gotoCode(target)) this.emit(s);
    this.current.terminal = true;
  }

  /** `if (test) goto target` */
  jumpIf(test: t.Expression, target: Label): void {
    this.emit(t.ifStatement(test, t.blockStatement(this.gotoCode(target))));
  }

  jumpIfNot(test: t.Expression, target: Label): void {
    const negated = t.isUnaryExpression(test, { operator: "!" })
      ? test.argument
      : t.unaryExpression("!", test);
    this.jumpIf(negated, target);
  }

  /** The statements for `return value` from here, through every enclosing finally. */
  returnCode(value: t.Expression): t.Statement[] {
    const crossed = this.finalliesAbove(0);
    if (crossed.length === 0) {
      this.current.exits = true;
      return this.ctx.returnWith(value);
    }
    for (const entry of crossed) entry.returns = true;
    const innermost = crossed[0]!;
    return [
      this.recordCompletion(
        innermost.k,
        t.objectExpression([
          t.objectProperty(t.identifier("t"), t.numericLiteral(COMPLETION_RETURN)),
          t.objectProperty(t.identifier("v"), value),
        ]),
      ),
      ...this.gotoCode(innermost.finallyLabel!),
    ];
  }

  emitReturn(value: t.Expression): void {
    for (const s of this.returnCode(value)) this.emit(s);
    this.current.terminal = true;
  }

  emitThrow(value: t.Expression, from: t.Node): void {
    const statement = t.throwStatement(value);
    statement.loc = from.loc;
    this.emit(statement);
    this.current.terminal = true;
  }

  /** `(_f.c || (_f.c = []))[k] = record;` */
  recordCompletion(k: number, record: t.Expression): t.Statement {
    const completions = t.logicalExpression(
      "||",
      this.ctx.frame("c"),
      t.assignmentExpression("=", this.ctx.frame("c"), t.arrayExpression([])),
    );
    return t.expressionStatement(
      t.assignmentExpression("=", t.memberExpression(completions, t.numericLiteral(k), true), record),
    );
  }

  /** Try entries with a finally that control leaving to depth `depth` passes through, innermost first. */
  finalliesAbove(depth: number, target?: Label): TryEntry[] {
    const crossed: TryEntry[] = [];
    for (let i = this.leaps.length - 1; i >= depth; i--) {
      const entry = this.leaps[i]!;
      if (entry.kind !== "try" || !entry.finallyLabel || entry.phase === "finally") continue;
      // A target already marked inside this try block (a for-of loop head inside the try that
      // closes its iterator) is reached without leaving the try.
      if (target && target.state >= 0 && target.state >= entry.tryLabel.state && entry.phase === "try")
        continue;
      crossed.push(entry);
    }
    return crossed;
  }

  // ---- awaits and temps ----

  /**
   * Emits an await of `value` and returns the expression of its outcome (valid until the next await):
   *
   *     _a = value; _f.s = resume;
   *     if (_a instanceof Promise ? _io.all : _io.d(_a)) return _io.y(1, _a);
   *     _v = await _a;
   *   case resume:
   *
   * A DTask goes to the driver (it may suspend the stack durably), anything else is awaited
   * natively, as in V8 (`_io.all`: the driver's test mode sends every await to the driver).
   *
   * The frame is storable at the native await too (its state is the resume state and the live
   * slots are in `_l`), and a rejection throws at the resume state, as when the driver throws it in.
   * The case counts as ending at the await (terminal, jumping to `resume`): the native path falls
   * into `resume` with nothing live in registers, like a resume from the driver.
   */
  await(value: t.Expression, node: t.Node, durable: boolean): t.Expression {
    const resume = new Label();
    const a = () => this.ctx.id("a");
    const set = t.expressionStatement(t.assignmentExpression("=", a(), value));
    set.loc = node.loc;
    this.emit(set);
    this.emit(t.expressionStatement(t.assignmentExpression("=", this.ctx.frame("s"), resume.ref())));
    // A native promise is never a DTask: it needs no call (measured 0.03x of native on the bench
    // loop), only the driver's test-mode flag.
    const viaDriver: t.Expression = this.ctx.globalPromise
      ? t.conditionalExpression(
          t.binaryExpression("instanceof", a(), t.identifier("Promise")),
          this.ctx.io("all"),
          t.callExpression(this.ctx.io("d"), [a()]),
        )
      : t.callExpression(this.ctx.io("d"), [a()]);
    this.emit(t.ifStatement(viaDriver, this.ctx.leave(STEP_AWAIT, a())));
    this.emit(t.expressionStatement(t.assignmentExpression("=", this.ctx.id("v"), t.awaitExpression(a()))));
    this.current.terminal = true;
    this.current.exits = true;
    this.current.jumps.add(resume);
    this.mark(resume);
    this.awaits.push({ resume, node, durable });
    return this.ctx.id("v");
  }

  /** Stores `value` in a fresh temp slot now; returns the temp. */
  toTemp(value: t.Expression, description?: string): t.MemberExpression {
    const slot = this.ctx.temp(description);
    this.emit(t.expressionStatement(t.assignmentExpression("=", this.ctx.slotRef(slot), value)));
    return this.ctx.slotRef(slot);
  }

  /** Stores `value` in an existing slot reference. */
  assign(target: t.LVal, value: t.Expression): void {
    this.emit(t.expressionStatement(t.assignmentExpression("=", target, value)));
  }

  // ---- leap stack ----

  withEntry<T>(entry: LeapEntry, body: () => T): T {
    this.leaps.push(entry);
    try {
      return body();
    } finally {
      const popped = this.leaps.pop();
      assert(popped === entry, "leap entries are popped in order");
    }
  }

  /** The target of `break [label]`: its label and leap depth. */
  breakTarget(label: string | undefined): { target: Label; depth: number } | undefined {
    for (let i = this.leaps.length - 1; i >= 0; i--) {
      const entry = this.leaps[i]!;
      if (entry.kind === "try") continue;
      if (
        label === undefined ? entry.kind === "loop" || entry.kind === "switch" : entry.labels.includes(label)
      ) {
        return { target: entry.breakLabel, depth: i };
      }
    }
    return undefined;
  }

  /** The target of `continue [label]`. */
  continueTarget(label: string | undefined): { target: Label; depth: number } | undefined {
    for (let i = this.leaps.length - 1; i >= 0; i--) {
      const entry = this.leaps[i]!;
      if (entry.kind !== "loop") continue;
      if (label === undefined || entry.labels.includes(label))
        return { target: entry.continueLabel, depth: i };
    }
    return undefined;
  }
}
