/**
 * Analysis predicates over the AST, memoized per node (results stay off the AST, as in
 * regenerator's meta.ts). "Contains an await" never looks inside nested functions: their awaits
 * belong to them.
 */
import * as t from "@babel/types";

const awaitMemo = new WeakMap<t.Node, boolean>();

const SKIP_KEYS = new Set([
  "loc",
  "start",
  "end",
  "leadingComments",
  "trailingComments",
  "innerComments",
  "extra",
  "typeAnnotation",
  "returnType",
  "typeParameters",
]);

/** True when `node` (not counting nested functions or classes' method bodies) contains an `await`. */
export function containsAwait(node: t.Node | null | undefined): boolean {
  if (!node) return false;
  const known = awaitMemo.get(node);
  if (known !== undefined) return known;
  let found = false;
  if (node.type === "AwaitExpression" || (node.type === "ForOfStatement" && node.await)) {
    found = true;
  } else if (!t.isFunction(node)) {
    for (const key of t.VISITOR_KEYS[node.type] ?? []) {
      if (SKIP_KEYS.has(key)) continue;
      const child = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(child)) {
        for (const item of child)
          if (item && typeof item === "object" && containsAwait(item as t.Node)) found = true;
      } else if (child && typeof child === "object" && containsAwait(child as t.Node)) {
        found = true;
      }
      if (found) break;
    }
  }
  awaitMemo.set(node, found);
  return found;
}

/** Forget memoized answers for a subtree that was rewritten. */
export function forgetAwait(node: t.Node): void {
  awaitMemo.delete(node);
}

/** Expressions whose evaluation has no side effects and whose value cannot change: never need a temp. */
export function isConstant(node: t.Expression): boolean {
  return (
    t.isStringLiteral(node) ||
    t.isNumericLiteral(node) ||
    t.isBooleanLiteral(node) ||
    t.isNullLiteral(node) ||
    t.isBigIntLiteral(node) ||
    (t.isTemplateLiteral(node) && node.expressions.length === 0)
  );
}

/** The expression without TypeScript-only wrappers (`x as T`, `x!`, `<T>x`, `x satisfies T`). */
export function stripTypeWrappers(node: t.Expression): t.Expression {
  let current: t.Expression = node;
  for (;;) {
    if (
      t.isTSAsExpression(current) ||
      t.isTSNonNullExpression(current) ||
      t.isTSSatisfiesExpression(current) ||
      t.isTSTypeAssertion(current) ||
      t.isTSInstantiationExpression(current) ||
      t.isParenthesizedExpression(current)
    ) {
      current = current.expression;
    } else {
      return current;
    }
  }
}
