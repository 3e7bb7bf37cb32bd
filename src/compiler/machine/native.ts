/**
 * Await-free statements are emitted as they are, inside the current case: native loops, tries
 * and switches keep V8's speed and semantics. Only their escapes change — a `return`, or a
 * `break`/`continue` aimed at an exploded statement outside them — which become state
 * transitions (through any exploded `finally` on the way).
 */
import * as t from "@babel/types";
import type { Emitter } from "./emitter.js";

interface Scope {
  /** Inside a native loop: unlabelled `continue` stays native. */
  loops: number;
  /** Inside a native loop or switch: unlabelled `break` stays native. */
  breakables: number;
  /** Labels declared inside the native statement. */
  labels: Set<string>;
}

export function emitNative(e: Emitter, statement: t.Statement): void {
  const escapes =
    statement.type === "ReturnStatement" ||
    statement.type === "BreakStatement" ||
    statement.type === "ContinueStatement";
  e.emit(rewrite(e, statement, { loops: 0, breakables: 0, labels: new Set() }));
  if (escapes) e.currentCase.terminal = true;
}

function block(statements: t.Statement[], from: t.Node): t.BlockStatement {
  const node = t.blockStatement(statements);
  node.loc = from.loc;
  return node;
}

function rewrite(e: Emitter, node: t.Statement, scope: Scope): t.Statement {
  switch (node.type) {
    case "ReturnStatement":
      return block(e.returnCode(node.argument ?? t.identifier("undefined")), node);
    case "BreakStatement": {
      const label = node.label?.name;
      if (label ? scope.labels.has(label) : scope.breakables > 0) return node;
      const target = e.breakTarget(label);
      if (!target) return node; // a syntax error Babel already reported
      return block(e.jumpCode(target.target, target.depth), node);
    }
    case "ContinueStatement": {
      const label = node.label?.name;
      if (label ? scope.labels.has(label) : scope.loops > 0) return node;
      const target = e.continueTarget(label);
      if (!target) return node;
      return block(e.jumpCode(target.target, target.depth), node);
    }
    case "BlockStatement":
      node.body = node.body.map((s) => rewrite(e, s, scope));
      return node;
    case "IfStatement":
      node.consequent = rewrite(e, node.consequent, scope);
      if (node.alternate) node.alternate = rewrite(e, node.alternate, scope);
      return node;
    case "LabeledStatement": {
      const inner: Scope = { ...scope, labels: new Set([...scope.labels, node.label.name]) };
      node.body = rewrite(e, node.body, inner);
      return node;
    }
    case "ForStatement":
    case "ForInStatement":
    case "ForOfStatement":
    case "WhileStatement":
    case "DoWhileStatement": {
      node.body = rewrite(e, node.body, {
        ...scope,
        loops: scope.loops + 1,
        breakables: scope.breakables + 1,
      });
      return node;
    }
    case "SwitchStatement": {
      const inner = { ...scope, breakables: scope.breakables + 1 };
      for (const c of node.cases) c.consequent = c.consequent.map((s) => rewrite(e, s, inner));
      return node;
    }
    case "TryStatement":
      node.block = rewrite(e, node.block, scope) as t.BlockStatement;
      if (node.handler) node.handler.body = rewrite(e, node.handler.body, scope) as t.BlockStatement;
      if (node.finalizer) node.finalizer = rewrite(e, node.finalizer, scope) as t.BlockStatement;
      return node;
    default:
      return node; // expressions, declarations, throw: no escapes (nested functions are their own)
  }
}
