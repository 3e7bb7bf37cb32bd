/**
 * Expressions containing `await`, lowered to A-normal form: children are evaluated left to right,
 * and a child's value is kept in a temp slot when a later sibling awaits (the await ends the step
 * function; the temp carries the value across). `&&`, `||`, `??`, `?:`, optional chains and
 * logical assignment become jumps, so the short-circuited side (and its awaits) run only when they
 * would natively.
 *
 * Callees are the one place where a value is deliberately not kept: a function cannot be stored in
 * a snapshot, so `o.m(await x)` keeps the receiver and the key and reads the method after the
 * await, and `helper(await x)` reads `helper` again. (Documented in docs/compiler.md.)
 */
import * as t from "@babel/types";
import { fail } from "../diagnostics.js";
import type { Emitter } from "./emitter.js";
import { Label } from "./emitter.js";
import { containsAwait, isConstant, stripTypeWrappers } from "./meta.js";
import { withLoc } from "./slots.js";

export interface ExpressionLowering {
  emitter: Emitter;
  /** Whether an awaited expression looks durable (a DTask factory or a d-async call). */
  isDurable(argument: t.Expression): boolean;
  /** For code-framed errors. */
  unsupported(node: t.Node, message: string): never;
}

/** Lowers `node`, emitting whatever must run first; returns an await-free expression of its value. */
export function explode(x: ExpressionLowering, node: t.Expression, ignoreResult = false): t.Expression {
  if (!containsAwait(node)) return node;
  const e = x.emitter;
  const expr = stripTypeWrappers(node);
  switch (expr.type) {
    case "AwaitExpression": {
      const argument = explode(x, expr.argument);
      return e.await(argument, expr, x.isDurable(stripTypeWrappers(expr.argument)));
    }
    case "SequenceExpression": {
      const last = expr.expressions.length - 1;
      expr.expressions.forEach((item, i) => {
        if (i < last) emitEffect(x, item);
      });
      return explode(x, expr.expressions[last]!, ignoreResult);
    }
    case "BinaryExpression": {
      if (expr.left.type === "PrivateName") return x.unsupported(expr, "an await next to '#x in obj'");
      const [left, right] = explodeAll(x, [expr.left, expr.right]);
      return withLoc(t.binaryExpression(expr.operator, left!, right!), expr);
    }
    case "UnaryExpression": {
      const argument = stripTypeWrappers(expr.argument);
      if (
        expr.operator === "delete" &&
        (argument.type === "MemberExpression" || argument.type === "OptionalMemberExpression")
      ) {
        const target = explodeMember(x, argument as t.MemberExpression, false);
        return withLoc(t.unaryExpression("delete", target), expr);
      }
      return withLoc(t.unaryExpression(expr.operator, explode(x, expr.argument)), expr);
    }
    case "LogicalExpression":
      return explodeLogical(x, expr, ignoreResult);
    case "ConditionalExpression":
      return explodeConditional(x, expr, ignoreResult);
    case "AssignmentExpression":
      return explodeAssignment(x, expr, ignoreResult);
    case "UpdateExpression": {
      const argument = stripTypeWrappers(expr.argument as t.Expression);
      if (argument.type !== "MemberExpression")
        return x.unsupported(expr, "an await inside an update target");
      const target = explodeMember(x, argument, false);
      return withLoc(t.updateExpression(expr.operator, target, expr.prefix), expr);
    }
    case "MemberExpression":
      return explodeMember(x, expr, false);
    case "OptionalMemberExpression":
    case "OptionalCallExpression":
      return explodeOptionalChain(x, expr);
    case "CallExpression":
      return explodeCall(x, expr);
    case "NewExpression": {
      const callee = explodeCallee(x, expr.callee as t.Expression, expr.arguments);
      const args = explodeArguments(x, expr.arguments);
      return withLoc(t.newExpression(callee, args), expr);
    }
    case "ArrayExpression": {
      const values = explodeElements(x, expr.elements);
      return withLoc(t.arrayExpression(values), expr);
    }
    case "ObjectExpression":
      return explodeObject(x, expr);
    case "TemplateLiteral": {
      const values = explodeAll(x, expr.expressions as t.Expression[], true);
      return withLoc(t.templateLiteral(expr.quasis, values), expr);
    }
    case "TaggedTemplateExpression": {
      const subs = expr.quasi.expressions as t.Expression[];
      const tag = explodeCallee(x, expr.tag, subs);
      const values = explodeAll(x, subs);
      return withLoc(t.taggedTemplateExpression(tag, t.templateLiteral(expr.quasi.quasis, values)), expr);
    }
    case "SpreadElement" as string:
      return x.unsupported(expr, "a spread outside a call, array or object");
    default:
      return x.unsupported(expr, `an await inside ${describe(expr)}`);
  }
}

/** Evaluates `node` for its side effects only. */
export function emitEffect(x: ExpressionLowering, node: t.Expression): void {
  const value = explode(x, node, true);
  if (value.type === "Identifier" && value.name === x.emitter.ctx.names.v) return;
  if (isConstant(value) || value.type === "Identifier" || x.emitter.ctx.slotOf(value)) return;
  x.emitter.emit(withLoc(t.expressionStatement(value), node));
}

/** Lowers siblings left to right, keeping a value in a temp when a later sibling awaits. */
function explodeAll(x: ExpressionLowering, nodes: t.Expression[], stringify = false): t.Expression[] {
  const lastAwait = lastIndexContainingAwait(nodes);
  return nodes.map((node, i) => {
    const value = explode(x, node);
    if (i >= lastAwait || isConstant(value)) return value;
    // A template substitution is converted to a string when it is evaluated, before later ones.
    const kept = stringify
      ? t.templateLiteral([t.templateElement({ raw: "" }), t.templateElement({ raw: "" }, true)], [value])
      : value;
    return x.emitter.toTemp(kept);
  });
}

function lastIndexContainingAwait(nodes: (t.Node | null)[]): number {
  for (let i = nodes.length - 1; i >= 0; i--) if (containsAwait(nodes[i])) return i;
  return -1;
}

/** Array elements (with holes and spreads). A spread is expanded when evaluated, so it is kept as an array. */
function explodeElements(
  x: ExpressionLowering,
  elements: (t.Expression | t.SpreadElement | null)[],
): (t.Expression | t.SpreadElement | null)[] {
  const lastAwait = lastIndexContainingAwait(elements);
  return elements.map((element, i) => {
    if (element === null) return null;
    if (element.type === "SpreadElement") {
      const value = explode(x, element.argument);
      if (i >= lastAwait) return t.spreadElement(value);
      return t.spreadElement(x.emitter.toTemp(t.arrayExpression([t.spreadElement(value)])));
    }
    const value = explode(x, element);
    return i >= lastAwait || isConstant(value) ? value : x.emitter.toTemp(value);
  });
}

function explodeArguments(
  x: ExpressionLowering,
  args: (t.Expression | t.SpreadElement | t.ArgumentPlaceholder)[],
): (t.Expression | t.SpreadElement)[] {
  for (const arg of args) if (arg.type === "ArgumentPlaceholder") x.unsupported(arg, "argument placeholders");
  return explodeElements(x, args as (t.Expression | t.SpreadElement)[]) as (t.Expression | t.SpreadElement)[];
}

/**
 * The callee of a call whose arguments await: a member callee keeps its receiver (and computed
 * key) and is re-read after; a plain name is re-read after; anything else is kept in a temp.
 */
function explodeCallee(
  x: ExpressionLowering,
  calleeNode: t.Expression | t.V8IntrinsicIdentifier,
  args: (t.Node | null)[],
): t.Expression {
  if (calleeNode.type === "V8IntrinsicIdentifier") return x.unsupported(calleeNode, "V8 intrinsics");
  const callee = stripTypeWrappers(calleeNode);
  const argsAwait = lastIndexContainingAwait(args) >= 0;
  if (callee.type === "Super") return x.unsupported(callee, "super calls");
  if (callee.type === "MemberExpression") {
    if (argsAwait && !containsAwait(callee) && isReadAgain(x, callee.object as t.Expression)) return callee;
    return explodeMember(x, callee, argsAwait);
  }
  if (!argsAwait) return explode(x, callee);
  if (callee.type === "Identifier" || isSlotCallee(callee) || isFrameRef(x, callee)) return callee;
  const value = explode(x, callee);
  return t.sequenceExpression([t.numericLiteral(0), x.emitter.toTemp(value)]);
}

/** `(0, _l.fn)`: a slot read in callee position. */
function isSlotCallee(node: t.Expression): boolean {
  return (
    node.type === "SequenceExpression" &&
    node.expressions.length === 2 &&
    isConstant(node.expressions[0]!) &&
    !containsAwait(node.expressions[1]!)
  );
}

/** `_f.d.fn` (the self-name) and other frame reads. */
function isFrameRef(x: ExpressionLowering, node: t.Expression): boolean {
  let current: t.Expression = node;
  while (current.type === "MemberExpression") current = current.object as t.Expression;
  return current.type === "Identifier" && current.name === x.emitter.ctx.names.f;
}

/** Frame accesses the compiler made (`_l.x`, `_l.x.v`, `_f.self`, `_f.d.fn`): values, never decomposed. */
function isAtomic(x: ExpressionLowering, node: t.Expression): boolean {
  const { ctx } = x.emitter;
  if (ctx.slotOf(node)) return true;
  if (node.type !== "MemberExpression" || node.computed) return false;
  const boxed = ctx.slotOf(node.object);
  if (boxed && ctx.slots.get(boxed)?.boxed && t.isIdentifier(node.property, { name: "v" })) return true;
  const object = node.object;
  if (object.type === "Identifier" && object.name === ctx.names.f) return true; // `_f.self`
  return (
    object.type === "MemberExpression" &&
    !object.computed &&
    object.object.type === "Identifier" &&
    object.object.name === ctx.names.f // `_f.d.fn`
  );
}

/**
 * A receiver that is read again after an await rather than kept: a module binding or global
 * (`Math`, an imported namespace or object, `DTask`), or `this` (which is in the frame anyway),
 * possibly with plain property names after it. Keeping them in a temp would put a module object
 * (or an intrinsic) into the snapshot, which cannot hold it; reading them again is the documented
 * callee rule.
 */
function isReadAgain(x: ExpressionLowering, node: t.Expression): boolean {
  const { ctx } = x.emitter;
  if (node.type === "Identifier") return node.name !== ctx.names.l && node.name !== ctx.names.f;
  if (node.type === "ThisExpression") return true;
  if (node.type === "MemberExpression" && !node.computed) {
    if (ctx.slotOf(node)) return false;
    if (
      node.object.type === "Identifier" &&
      node.object.name === ctx.names.f &&
      t.isIdentifier(node.property, { name: "self" })
    )
      return true;
    return isReadAgain(x, node.object as t.Expression);
  }
  return false;
}

/** A member expression; with `keepForLater`, its object (and key) go to temps because something awaits after. */
function explodeMember(
  x: ExpressionLowering,
  expr: t.MemberExpression,
  keepForLater: boolean,
): t.MemberExpression {
  if (isAtomic(x, expr) && !containsAwait(expr)) return expr;
  const property = expr.property;
  if (property.type === "PrivateName") {
    const object = explode(x, expr.object);
    return withLoc(t.memberExpression(keepForLater ? keep(x, object) : object, property), expr);
  }
  const propertyAwaits = expr.computed && containsAwait(property);
  let object = explode(x, expr.object);
  // A module binding, global or `this` is read again after the await (the callee rule): a copy of
  // a module's object in the snapshot would take the writes after a resume (`counter.n = await x`,
  // `mod[await k] = v`). The key is still evaluated once, in order.
  if ((propertyAwaits || keepForLater) && !isReadAgain(x, expr.object)) object = keep(x, object);
  let key: t.Expression = property as t.Expression;
  if (expr.computed) {
    key = explode(x, property as t.Expression);
    if (keepForLater) key = keep(x, key);
  }
  return withLoc(t.memberExpression(object, key, expr.computed), expr);
}

/** Keeps a value in a temp unless it cannot change (a literal). */
function keep(x: ExpressionLowering, value: t.Expression): t.Expression {
  return isConstant(value) ? value : x.emitter.toTemp(value);
}

function explodeCall(x: ExpressionLowering, expr: t.CallExpression): t.Expression {
  if (expr.callee.type === "Import") {
    const args = explodeArguments(x, expr.arguments);
    return withLoc(t.callExpression(expr.callee, args), expr);
  }
  const callee = explodeCallee(x, expr.callee as t.Expression, expr.arguments);
  const args = explodeArguments(x, expr.arguments);
  return withLoc(t.callExpression(callee, args), expr);
}

function explodeLogical(
  x: ExpressionLowering,
  expr: t.LogicalExpression,
  ignoreResult: boolean,
): t.Expression {
  const left = explode(x, expr.left);
  if (!containsAwait(expr.right)) return withLoc(t.logicalExpression(expr.operator, left, expr.right), expr);
  const e = x.emitter;
  const result = e.toTemp(left);
  const after = new Label();
  e.jumpIf(shortCircuits(expr.operator, result), after);
  const right = explode(x, expr.right, ignoreResult);
  e.assign(t.cloneNode(result), right);
  e.mark(after);
  return t.cloneNode(result);
}

/** The test under which `left op right` does not evaluate `right`. */
function shortCircuits(operator: "&&" | "||" | "??", value: t.Expression): t.Expression {
  const v = t.cloneNode(value);
  if (operator === "&&") return t.unaryExpression("!", v);
  if (operator === "||") return v;
  return t.binaryExpression("!=", v, t.nullLiteral());
}

function explodeConditional(
  x: ExpressionLowering,
  expr: t.ConditionalExpression,
  ignoreResult: boolean,
): t.Expression {
  const test = explode(x, expr.test);
  if (!containsAwait(expr.consequent) && !containsAwait(expr.alternate)) {
    return withLoc(t.conditionalExpression(test, expr.consequent, expr.alternate), expr);
  }
  const e = x.emitter;
  const elseLabel = new Label();
  const after = new Label();
  const result = ignoreResult ? undefined : e.ctx.slotRef(e.ctx.temp());
  e.jumpIfNot(test, elseLabel);
  const consequent = explode(x, expr.consequent, ignoreResult);
  if (result) e.assign(t.cloneNode(result), consequent);
  else emitValue(x, consequent);
  e.jump(after);
  e.mark(elseLabel);
  const alternate = explode(x, expr.alternate, ignoreResult);
  if (result) e.assign(t.cloneNode(result), alternate);
  else emitValue(x, alternate);
  e.mark(after);
  return result ? t.cloneNode(result) : t.identifier("undefined");
}

function emitValue(x: ExpressionLowering, value: t.Expression): void {
  if (!isConstant(value) && value.type !== "Identifier") x.emitter.emit(t.expressionStatement(value));
}

function explodeAssignment(
  x: ExpressionLowering,
  expr: t.AssignmentExpression,
  ignoreResult: boolean,
): t.Expression {
  const e = x.emitter;
  const left = expr.left;
  const operator = expr.operator;
  if (left.type === "ObjectPattern" || left.type === "ArrayPattern") {
    if (operator !== "=") return x.unsupported(expr, "a compound assignment to a pattern");
    const value = explode(x, expr.right);
    if (!containsAwait(left)) return withLoc(t.assignmentExpression("=", left, value), expr);
    const source = e.toTemp(value);
    destructure(x, left, source);
    return t.cloneNode(source);
  }
  // A compound or logical assignment reads its target and then writes it: a computed key with
  // effects (`a[i++] += 1`) must run once, so object and key go to temps.
  const target = lowerTarget(x, left as t.Expression, containsAwait(expr.right), operator !== "=");

  if (operator === "=") {
    const value = explode(x, expr.right);
    return withLoc(t.assignmentExpression("=", target, value), expr);
  }
  if (operator === "&&=" || operator === "||=" || operator === "??=") {
    const logical = operator.slice(0, 2) as "&&" | "||" | "??";
    const current = e.toTemp(t.cloneNode(target));
    const after = new Label();
    e.jumpIf(shortCircuits(logical, current), after);
    const value = explode(x, expr.right);
    e.assign(t.cloneNode(current), value);
    e.emit(t.expressionStatement(t.assignmentExpression("=", t.cloneNode(target), t.cloneNode(current))));
    e.mark(after);
    return t.cloneNode(current);
  }
  // Compound: the old value is read before the right-hand side runs (GetValue order).
  const old = containsAwait(expr.right) ? e.toTemp(t.cloneNode(target)) : t.cloneNode(target);
  const value = explode(x, expr.right);
  const binary = operator.slice(0, -1) as t.BinaryExpression["operator"];
  void ignoreResult;
  return withLoc(t.assignmentExpression("=", target, t.binaryExpression(binary, old, value)), expr);
}

/** An assignment target whose object/key are fixed before the right-hand side awaits. */
function lowerTarget(
  x: ExpressionLowering,
  target: t.Expression,
  rightAwaits: boolean,
  usedTwice: boolean,
): t.MemberExpression | t.Identifier {
  const node = stripTypeWrappers(target);
  if (node.type === "Identifier") return node;
  if (node.type === "MemberExpression") {
    // A slot, or a boxed slot's `.v` (the box never changes within an iteration).
    if (isAtomic(x, node)) return node;
    // Object and key fixed before the right-hand side (a module binding as the object is read
    // again instead: see explodeMember).
    return explodeMember(x, node, rightAwaits || usedTwice);
  }
  return x.unsupported(target, "an await in this assignment target");
}

/**
 * Destructuring whose defaults or computed keys await: done step by step on `source`, in the
 * order of the pattern (properties left to right; array elements through the iterator protocol).
 */
export function destructure(x: ExpressionLowering, pattern: t.LVal, source: t.Expression): void {
  const e = x.emitter;
  if (pattern.type !== "AssignmentPattern" && !containsAwait(pattern)) {
    e.assign(pattern, source);
    return;
  }
  if (pattern.type === "AssignmentPattern") {
    const value = e.toTemp(source);
    const after = new Label();
    e.jumpIf(t.binaryExpression("!==", t.cloneNode(value), t.identifier("undefined")), after);
    e.assign(t.cloneNode(value), explode(x, pattern.right));
    e.mark(after);
    destructure(x, pattern.left, t.cloneNode(value));
    return;
  }
  if (pattern.type === "ObjectPattern") {
    const object = e.toTemp(source);
    e.emit(
      t.ifStatement(
        t.binaryExpression("==", t.cloneNode(object), t.nullLiteral()),
        t.throwStatement(
          t.newExpression(t.identifier("TypeError"), [
            t.stringLiteral("Cannot destructure 'null' or 'undefined'"),
          ]),
        ),
      ),
    );
    const seen: t.Expression[] = [];
    for (const prop of pattern.properties) {
      if (prop.type === "RestElement") {
        const rest = t.objectPattern([
          ...seen.map((key, i) => t.objectProperty(key, t.identifier(`_$${i}`), true)),
          t.restElement(t.identifier("$rest")),
        ]);
        const restTemp = e.ctx.slotRef(e.ctx.temp());
        e.emit(
          t.expressionStatement(
            t.callExpression(
              t.arrowFunctionExpression(
                [],
                t.blockStatement([
                  t.variableDeclaration("const", [t.variableDeclarator(rest, t.cloneNode(object))]),
                  t.expressionStatement(t.assignmentExpression("=", restTemp, t.identifier("$rest"))),
                ]),
              ),
              [],
            ),
          ),
        );
        destructure(x, prop.argument, t.cloneNode(restTemp));
        continue;
      }
      let key: t.Expression = prop.key as t.Expression;
      if (prop.computed) key = e.toTemp(explode(x, prop.key as t.Expression));
      else if (key.type === "Identifier") key = t.stringLiteral(key.name);
      seen.push(t.cloneNode(key));
      const value = t.memberExpression(t.cloneNode(object), t.cloneNode(key), true);
      destructure(x, prop.value as t.LVal, value);
    }
    return;
  }
  if (pattern.type === "ArrayPattern") {
    const cursor = e.toTemp(t.callExpression(e.ctx.io("iter"), [source]), "destructuring iterator");
    const step = (): t.Expression => {
      const result = e.toTemp(t.callExpression(e.ctx.io("next"), [t.cloneNode(cursor)]));
      return t.memberExpression(result, t.identifier("value"));
    };
    for (const element of pattern.elements) {
      if (element === null) {
        step();
        continue;
      }
      if (element.type === "RestElement") {
        const rest = e.toTemp(t.arrayExpression([]));
        const loop = new Label();
        const done = new Label();
        e.mark(loop);
        const r = e.toTemp(t.callExpression(e.ctx.io("next"), [t.cloneNode(cursor)]));
        e.jumpIf(t.memberExpression(t.cloneNode(r), t.identifier("done")), done);
        e.emit(
          t.expressionStatement(
            t.callExpression(t.memberExpression(t.cloneNode(rest), t.identifier("push")), [
              t.memberExpression(t.cloneNode(r), t.identifier("value")),
            ]),
          ),
        );
        e.jump(loop);
        e.mark(done);
        destructure(x, element.argument, t.cloneNode(rest));
        continue;
      }
      destructure(x, element as t.LVal, step());
    }
    e.emit(t.expressionStatement(t.callExpression(e.ctx.io("close"), [t.cloneNode(cursor)])));
    return;
  }
  if (pattern.type === "MemberExpression") {
    e.assign(pattern, source);
    return;
  }
  x.unsupported(pattern, "an await inside this destructuring pattern");
}

/**
 * An optional chain containing an await: each `?.` link tests its base and jumps to the end with
 * `undefined` when it is nullish, so nothing to its right (awaits included) runs.
 */
function explodeOptionalChain(
  x: ExpressionLowering,
  expr: t.OptionalMemberExpression | t.OptionalCallExpression,
): t.Expression {
  const e = x.emitter;
  const result = e.ctx.slotRef(e.ctx.temp());
  const nullish = new Label();
  const after = new Label();

  const guard = (value: t.Expression): void => {
    e.jumpIf(t.binaryExpression("==", t.cloneNode(value), t.nullLiteral()), nullish);
  };

  // Only optional links are walked; anything else (a slot read such as `_l.o`, a parenthesized
  // chain, the base) is an ordinary expression.
  const walk = (node: t.Expression): t.Expression => {
    const n = stripTypeWrappers(node);
    if (n.type === "OptionalMemberExpression") {
      const object = e.toTemp(walk(n.object as t.Expression));
      if (n.optional) guard(object);
      const key = n.computed ? keep(x, explode(x, n.property as t.Expression)) : n.property;
      return t.memberExpression(t.cloneNode(object), key as t.Expression, n.computed);
    }
    if (n.type === "OptionalCallExpression") {
      const calleeNode = stripTypeWrappers(n.callee as t.Expression);
      let callee: t.Expression;
      const isMember =
        calleeNode.type === "OptionalMemberExpression" ||
        (calleeNode.type === "MemberExpression" && !isAtomic(x, calleeNode));
      if (isMember) {
        const member = calleeNode as t.MemberExpression | t.OptionalMemberExpression;
        const base =
          member.type === "OptionalMemberExpression"
            ? walk(member.object as t.Expression)
            : explode(x, member.object as t.Expression);
        const object = e.toTemp(base);
        if (member.type === "OptionalMemberExpression" && member.optional) guard(object);
        const key = member.computed ? keep(x, explode(x, member.property as t.Expression)) : member.property;
        callee = t.memberExpression(t.cloneNode(object), key as t.Expression, member.computed);
        if (n.optional) guard(callee);
      } else {
        callee = e.toTemp(walk(calleeNode));
        if (n.optional) guard(callee);
        callee = t.sequenceExpression([t.numericLiteral(0), t.cloneNode(callee)]);
      }
      const args = explodeArguments(x, n.arguments);
      return t.callExpression(t.cloneNode(callee), args);
    }
    return explode(x, n);
  };

  e.assign(t.cloneNode(result), walk(expr));
  e.jump(after);
  e.mark(nullish);
  e.assign(t.cloneNode(result), t.identifier("undefined"));
  e.mark(after);
  return t.cloneNode(result);
}

function explodeObject(x: ExpressionLowering, expr: t.ObjectExpression): t.Expression {
  // Keys and values are evaluated in order into temps up to the last await, then the literal is
  // built at once, which defines the same properties in the same order.
  const parts: t.Node[] = [];
  for (const prop of expr.properties) {
    if (prop.type === "ObjectProperty") {
      if (prop.computed) parts.push(prop.key);
      parts.push(prop.value);
    } else if (prop.type === "SpreadElement") {
      parts.push(prop.argument);
    } else {
      if (prop.computed) parts.push(prop.key);
      parts.push(t.nullLiteral()); // a method: nothing to evaluate but its key
    }
  }
  const lastAwait = lastIndexContainingAwait(parts);
  let index = 0;
  const take = (node: t.Expression): t.Expression => {
    const i = index++;
    const value = explode(x, node);
    return i >= lastAwait || isConstant(value) ? value : x.emitter.toTemp(value);
  };
  const properties = expr.properties.map((prop) => {
    if (prop.type === "ObjectProperty") {
      const key = prop.computed ? take(prop.key as t.Expression) : prop.key;
      const value = take(prop.value as t.Expression);
      return t.objectProperty(key, value, prop.computed, false);
    }
    if (prop.type === "SpreadElement") {
      const i = index++;
      const value = explode(x, prop.argument);
      if (i >= lastAwait) return t.spreadElement(value);
      // A spread copies the properties when it is evaluated, before later awaits.
      return t.spreadElement(x.emitter.toTemp(t.objectExpression([t.spreadElement(value)])));
    }
    if (prop.computed) prop.key = take(prop.key as t.Expression);
    index++;
    return prop;
  });
  return withLoc(t.objectExpression(properties), expr);
}

function describe(node: t.Node): string {
  return node.type.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/** Throws DT103 through the lowering's error channel. */
export function unsupportedAwait(x: ExpressionLowering, node: t.Node, what: string): never {
  return x.unsupported(node, `${what} is not supported by the dtasks compiler yet`);
}

export { fail };
