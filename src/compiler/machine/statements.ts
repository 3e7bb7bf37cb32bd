/**
 * Statements containing `await`, exploded into cases: conditionals and loops become jumps between
 * labels, `switch` a chain of strict-equality tests over contiguous bodies (fall-through kept),
 * `try` a contiguous range of states with a row in the static exception table and completion
 * records for `finally`. Await-free statements go to native.ts untouched.
 */
import * as t from "@babel/types";
import { COMPLETION_JUMP, COMPLETION_RETURN, COMPLETION_THROW } from "../../core/protocol.js";
import { locOf } from "../diagnostics.js";
import type { Emitter, TryEntry } from "./emitter.js";
import { Label } from "./emitter.js";
import { destructure, type ExpressionLowering, emitEffect, explode } from "./expressions.js";
import { containsAwait, stripTypeWrappers } from "./meta.js";
import { emitNative } from "./native.js";

/** Markers the slot pass leaves on nodes for this pass. */
export interface SlotMarkers {
  /** On a for-in/of target: boxed slots that need a fresh box per iteration. */
  dtasksForHeadBoxes?: string[];
  /** On a `for (let …)` statement: boxed slots copied into a fresh box before each update. */
  dtasksPerIterationBoxes?: string[];
  /** On a catch clause of an exploded try: the slot the exception is stored in. */
  dtasksCatchSlot?: string | null;
}

export function explodeStatement(x: ExpressionLowering, node: t.Statement, labels: string[] = []): void {
  const e = x.emitter;
  if (!containsAwait(node)) {
    if (isTypeOnly(node)) return;
    emitNative(e, node);
    return;
  }
  switch (node.type) {
    case "ExpressionStatement":
      emitEffect(x, node.expression);
      return;
    case "BlockStatement":
      for (const statement of node.body) explodeStatement(x, statement);
      return;
    case "IfStatement":
      explodeIf(x, node);
      return;
    case "ReturnStatement":
      e.emitReturn(node.argument ? explode(x, node.argument) : t.identifier("undefined"));
      return;
    case "ThrowStatement":
      e.emitThrow(explode(x, node.argument), node);
      return;
    case "LabeledStatement": {
      const all = [...labels, node.label.name];
      if (t.isLoop(node.body)) {
        explodeStatement(x, node.body, all);
        return;
      }
      const after = new Label();
      e.withEntry({ kind: "labeled", breakLabel: after, labels: all }, () => explodeStatement(x, node.body));
      e.mark(after);
      return;
    }
    case "ForStatement":
      explodeFor(x, node, labels);
      return;
    case "WhileStatement":
      explodeWhile(x, node, labels);
      return;
    case "DoWhileStatement":
      explodeDoWhile(x, node, labels);
      return;
    case "ForInStatement":
    case "ForOfStatement":
      explodeForEach(x, node, labels);
      return;
    case "SwitchStatement":
      explodeSwitch(x, node, labels);
      return;
    case "TryStatement":
      explodeTry(x, {
        block: () => explodeStatement(x, node.block),
        handler: node.handler
          ? {
              slot: (node.handler as t.CatchClause & SlotMarkers).dtasksCatchSlot ?? null,
              body: () => explodeStatement(x, node.handler!.body),
            }
          : undefined,
        finalizer: node.finalizer ? () => explodeStatement(x, node.finalizer!) : undefined,
      });
      return;
    default:
      x.unsupported(node, `an await inside ${node.type}`);
  }
}

function isTypeOnly(node: t.Statement): boolean {
  return (
    t.isTSTypeAliasDeclaration(node) ||
    t.isTSInterfaceDeclaration(node) ||
    (t.isTSModuleDeclaration(node) && node.declare === true) ||
    t.isTSDeclareFunction(node)
  );
}

function explodeIf(x: ExpressionLowering, node: t.IfStatement): void {
  const e = x.emitter;
  const test = explode(x, node.test);
  if (!containsAwait(node.consequent) && !containsAwait(node.alternate)) {
    emitNative(e, t.ifStatement(test, node.consequent, node.alternate));
    return;
  }
  const after = new Label();
  if (!node.alternate) {
    e.jumpIfNot(test, after);
    explodeStatement(x, node.consequent);
    e.mark(after);
    return;
  }
  const elseLabel = new Label();
  e.jumpIfNot(test, elseLabel);
  explodeStatement(x, node.consequent);
  e.jump(after);
  e.mark(elseLabel);
  explodeStatement(x, node.alternate);
  e.mark(after);
}

function explodeFor(x: ExpressionLowering, node: t.ForStatement, labels: string[]): void {
  const e = x.emitter;
  if (node.init) {
    if (t.isVariableDeclaration(node.init)) emitNative(e, node.init);
    else emitEffect(x, node.init);
  }
  const head = new Label();
  const update = new Label();
  const after = new Label();
  e.mark(head);
  if (node.test) e.jumpIfNot(explode(x, node.test), after);
  const depth = e.leaps.length;
  e.withEntry({ kind: "loop", breakLabel: after, continueLabel: update, labels }, () =>
    explodeStatement(x, node.body),
  );
  void depth;
  e.mark(update);
  for (const slot of (node as t.ForStatement & SlotMarkers).dtasksPerIterationBoxes ?? []) {
    // CreatePerIterationEnvironment: closures of this iteration keep the old box.
    const box = e.ctx.slotRef(slot);
    e.assign(
      e.ctx.slotRef(slot),
      t.objectExpression([t.objectProperty(t.identifier("v"), t.memberExpression(box, t.identifier("v")))]),
    );
  }
  if (node.update) emitEffect(x, node.update);
  e.jump(head);
  e.mark(after);
}

function explodeWhile(x: ExpressionLowering, node: t.WhileStatement, labels: string[]): void {
  const e = x.emitter;
  const head = new Label();
  const after = new Label();
  e.mark(head);
  e.jumpIfNot(explode(x, node.test), after);
  e.withEntry({ kind: "loop", breakLabel: after, continueLabel: head, labels }, () =>
    explodeStatement(x, node.body),
  );
  e.jump(head);
  e.mark(after);
}

function explodeDoWhile(x: ExpressionLowering, node: t.DoWhileStatement, labels: string[]): void {
  const e = x.emitter;
  const body = new Label();
  const test = new Label();
  const after = new Label();
  e.mark(body);
  e.withEntry({ kind: "loop", breakLabel: after, continueLabel: test, labels }, () =>
    explodeStatement(x, node.body),
  );
  e.mark(test);
  e.jumpIf(explode(x, node.test), body);
  e.mark(after);
}

/**
 * `for-in`, `for-of` and `for await` with an exploded body walk a cursor kept in a slot (an array
 * cursor stores in a snapshot; other iterators cannot). for-of loops run inside a synthesized
 * try/finally that closes the iterator on every early exit.
 */
function explodeForEach(
  x: ExpressionLowering,
  node: t.ForInStatement | t.ForOfStatement,
  labels: string[],
): void {
  const e = x.emitter;
  const isAwait = node.type === "ForOfStatement" && node.await;
  if (node.type === "ForOfStatement" && !isAwait) warnNonArrayCursor(x, node);
  const right = explode(x, node.right);
  const kind = node.type === "ForInStatement" ? "keys" : isAwait ? "aiter" : "iter";
  const cursorSlot = e.ctx.temp(node.type === "ForInStatement" ? "for-in keys" : "for-of iterator", "cursor");
  const cursor = () => e.ctx.slotRef(cursorSlot);
  e.assign(cursor(), t.callExpression(e.ctx.io(kind), [right]));
  const head = new Label();
  const after = new Label();

  const loop = (): void => {
    e.mark(head);
    let next: t.Expression = t.callExpression(e.ctx.io("next"), [cursor()]);
    if (isAwait) next = t.callExpression(e.ctx.io("took"), [cursor(), e.await(next, node, false)]);
    const result = e.toTemp(next);
    const doneBody: t.Statement[] = [];
    if (kind !== "keys")
      doneBody.push(t.expressionStatement(t.assignmentExpression("=", cursor(), t.identifier("undefined"))));
    doneBody.push(...e.jumpCode(after, e.leaps.length - 1));
    e.emit(
      t.ifStatement(
        t.memberExpression(t.cloneNode(result), t.identifier("done")),
        t.blockStatement(doneBody),
      ),
    );
    const value = t.memberExpression(t.cloneNode(result), t.identifier("value"));
    const left = node.left as t.LVal & SlotMarkers;
    for (const slot of left.dtasksForHeadBoxes ?? []) {
      e.assign(
        e.ctx.slotRef(slot),
        t.objectExpression([t.objectProperty(t.identifier("v"), t.identifier("undefined"))]),
      );
    }
    if (t.isVariableDeclaration(left)) {
      // A declaration the slot pass left native cannot reach here (its scope awaits): invariant.
      x.unsupported(left, "a loop variable declaration of this kind");
    }
    destructure(x, left, value);
    explodeStatement(x, node.body);
    e.jump(head);
  };

  const entry = { kind: "loop" as const, breakLabel: after, continueLabel: head, labels };
  e.withEntry(entry, () => {
    if (kind === "keys") {
      loop();
      return;
    }
    explodeTry(x, {
      block: loop,
      finalizer: (k) => {
        // When the loop is left by an exception, an error thrown by return() must not replace it.
        const pending = t.memberExpression(e.ctx.frame("c"), t.numericLiteral(k), true);
        const throwing = t.logicalExpression(
          "&&",
          t.logicalExpression("&&", e.ctx.frame("c"), pending),
          t.binaryExpression(
            "===",
            t.memberExpression(t.cloneNode(pending), t.identifier("t")),
            t.numericLiteral(COMPLETION_THROW),
          ),
        );
        const close = t.callExpression(e.ctx.io("close"), [cursor(), throwing]);
        if (!isAwait) {
          e.emit(t.expressionStatement(close));
          return;
        }
        // `await iterator.return()` only when there is one to call: a loop that ran to its end
        // closes nothing and must not take an extra tick.
        const closing = e.toTemp(close);
        const closed = new Label();
        e.jumpIf(t.binaryExpression("===", t.cloneNode(closing), t.identifier("undefined")), closed);
        e.await(t.cloneNode(closing), node, false);
        e.mark(closed);
      },
    });
  });
  e.mark(after);
}

function explodeSwitch(x: ExpressionLowering, node: t.SwitchStatement, labels: string[]): void {
  const e = x.emitter;
  const discriminant = e.toTemp(explode(x, node.discriminant));
  const after = new Label();
  const bodies = node.cases.map(() => new Label());
  let defaultIndex = -1;
  node.cases.forEach((c, i) => {
    if (!c.test) {
      defaultIndex = i;
      return;
    }
    e.jumpIf(t.binaryExpression("===", t.cloneNode(discriminant), explode(x, c.test)), bodies[i]!);
  });
  e.jump(defaultIndex >= 0 ? bodies[defaultIndex]! : after);
  e.withEntry({ kind: "switch", breakLabel: after, labels }, () => {
    node.cases.forEach((c, i) => {
      e.mark(bodies[i]!);
      for (const statement of c.consequent) explodeStatement(x, statement);
    });
  });
  e.mark(after);
}

interface TryParts {
  block: () => void;
  handler?: { slot: string | null; body: () => void };
  /** Emits the finally block; `k` indexes the completion record that brought control there. */
  finalizer?: (k: number) => void;
}

/**
 * A try statement as a contiguous range of states: [try) [catch) [finally) after. The row goes in
 * the exception table when the statement is complete, so inner rows come first.
 */
export function explodeTry(x: ExpressionLowering, parts: TryParts): void {
  const e = x.emitter;
  const entry: TryEntry = {
    kind: "try",
    k: e.newTryIndex(),
    phase: "try",
    tryLabel: new Label(),
    catchLabel: parts.handler ? new Label() : undefined,
    finallyLabel: parts.finalizer ? new Label() : undefined,
    afterLabel: new Label(),
    jumpTargets: new Set(),
    returns: false,
  };
  e.markBoundary(entry.tryLabel);
  if (parts.finalizer) {
    // A record left by an earlier pass (say a loop iteration that threw through this finally and
    // was caught outside) must not leak into this one.
    e.emit(
      t.expressionStatement(
        t.logicalExpression(
          "&&",
          e.ctx.frame("c"),
          t.assignmentExpression(
            "=",
            t.memberExpression(e.ctx.frame("c"), t.numericLiteral(entry.k), true),
            t.identifier("undefined"),
          ),
        ),
      ),
    );
  }
  e.withEntry(entry, () => {
    parts.block();
    if (parts.handler) {
      if (!e.currentCase.terminal) {
        for (const s of e.gotoCode(entry.finallyLabel ?? entry.afterLabel)) e.emit(s);
        e.currentCase.terminal = true;
      }
      entry.phase = "catch";
      e.markBoundary(entry.catchLabel!);
      parts.handler.body();
    }
    if (parts.finalizer) {
      entry.phase = "finally";
      e.markBoundary(entry.finallyLabel!);
      parts.finalizer(entry.k);
      emitFinallyDispatch(e, entry);
    }
  });
  e.markBoundary(entry.afterLabel);
  e.handlers.push({
    tryLabel: entry.tryLabel,
    catchLabel: entry.catchLabel,
    finallyLabel: entry.finallyLabel,
    afterLabel: entry.afterLabel,
    catchSlot: parts.handler?.slot ?? null,
    k: entry.k,
  });
}

/** The end of a finally block: carry on with whatever completion brought control here. */
function emitFinallyDispatch(e: Emitter, entry: TryEntry): void {
  const ctx = e.ctx;
  const name = `${ctx.names.e}c`;
  const c = () => t.identifier(name);
  const record = t.memberExpression(ctx.frame("c"), t.numericLiteral(entry.k), true);
  const outer = e.finalliesAbove(0)[0];
  const is = (kind: number) =>
    t.binaryExpression("===", t.memberExpression(c(), t.identifier("t")), t.numericLiteral(kind));
  const forward = (): t.Statement[] => {
    if (!outer) throw new Error("invariant: forward without an outer finally");
    return [e.recordCompletion(outer.k, c()), ...e.gotoCode(outer.finallyLabel!)];
  };
  const onReturn: t.Statement[] = outer
    ? forward()
    : ctx.returnWith(t.memberExpression(c(), t.identifier("v")));
  if (!outer) e.currentCase.exits = true;
  if (outer) outer.returns ||= entry.returns;
  const target = () => t.memberExpression(c(), t.identifier("s"));
  const goTarget = (): t.Statement[] => [
    t.expressionStatement(t.assignmentExpression("=", ctx.frame("s"), target())),
    t.continueStatement(ctx.id("loop")),
  ];
  for (const label of entry.jumpTargets) e.currentCase.jumps.add(label);
  let onJump: t.Statement[] = goTarget();
  if (outer) {
    const inOuter = t.logicalExpression(
      "&&",
      t.binaryExpression(">=", target(), outer.tryLabel.ref()),
      t.binaryExpression("<", target(), outer.finallyLabel!.ref()),
    );
    // Targets that also leave the outer try were registered there by jumpCode; the others stay inside it.
    onJump = [t.ifStatement(inOuter, t.blockStatement(goTarget())), ...forward()];
  }
  e.emit(
    t.blockStatement([
      t.variableDeclaration("const", [
        t.variableDeclarator(c(), t.logicalExpression("&&", ctx.frame("c"), record)),
      ]),
      t.ifStatement(
        c(),
        t.blockStatement([
          t.expressionStatement(t.assignmentExpression("=", t.cloneNode(record), t.identifier("undefined"))),
          t.ifStatement(is(COMPLETION_THROW), t.throwStatement(t.memberExpression(c(), t.identifier("v")))),
          t.ifStatement(is(COMPLETION_RETURN), t.blockStatement(onReturn)),
          t.ifStatement(is(COMPLETION_JUMP), t.blockStatement(onJump)),
        ]),
      ),
    ]),
  );
}

/**
 * DT111: a for-of whose iterable is certainly not an array (a Set, a Map, `.keys()`, `.entries()`,
 * `matchAll`…) around a durable await: its iterator would have to be stored, which it cannot be.
 */
function warnNonArrayCursor(x: ExpressionLowering, node: t.ForOfStatement): void {
  const right = stripTypeWrappers(node.right);
  const nonArray =
    (t.isNewExpression(right) &&
      t.isIdentifier(right.callee) &&
      ["Set", "Map"].includes(right.callee.name)) ||
    (t.isCallExpression(right) &&
      t.isMemberExpression(right.callee) &&
      t.isIdentifier(right.callee.property) &&
      ["keys", "values", "entries", "matchAll"].includes(right.callee.property.name));
  if (!nonArray) return;
  let durable = false;
  t.traverseFast(node.body, (inner) => {
    if (t.isAwaitExpression(inner) && x.isDurable(stripTypeWrappers(inner.argument))) durable = true;
  });
  if (!durable) return;
  const ctx = x.emitter.ctx;
  ctx.warn({
    code: "DT111",
    loc: locOf(ctx.file, node),
    message: `this for-of iterates ${ctx.sourceOf(node.right)}, which is not an array, around a durable await: its iterator cannot be stored in a snapshot; iterate over an array instead (Array.from(…) or [...…])`,
  });
}
