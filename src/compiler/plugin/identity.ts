/**
 * Function identity: the id users see and the version that guards resumes. The version hashes the
 * function's normalized source (printed compact, without comments), so formatting and comments
 * never change it, plus the compiler scheme, so a change in how functions are compiled does.
 */
import { createHash } from "node:crypto";
import * as generator from "@babel/generator";
import * as t from "@babel/types";

// Bump when the compiled shape of a function changes in a way old snapshots cannot resume on.
export const COMPILER_SCHEME = 1;

type Generate = (node: t.Node, options: object) => { code: string };
// @babel/generator is CommonJS: its function is `default` (or `default.default` through some loaders).
const generate: Generate =
  ((generator as unknown as { default: Generate | { default: Generate } }).default as { default?: Generate })
    .default ?? (generator as unknown as { default: Generate }).default;

export function functionVersion(fn: t.Function): string {
  const { code } = generate(normalized(fn), {
    comments: false,
    compact: true,
    retainLines: false,
    jsescOption: { quotes: "double" },
  });
  return createHash("sha256").update(`dtasks-scheme-${COMPILER_SCHEME}\n${code}`).digest("hex").slice(0, 12);
}

/** `src/orders.ts` → `src/orders` */
export function moduleId(file: string): string {
  return file.replace(/\.(c|m)?(t|j)sx?$/, "");
}

/**
 * A copy of the function without what does not change what it does: literals' raw spellings
 * (quote style, `1_000` vs `1000`, parentheses kept as written) and TypeScript types (annotations,
 * `as`, `!`, `satisfies`, type parameters). A formatter or a type-only edit keeps the version, so
 * it does not strand suspended flows.
 */
function normalized(fn: t.Function): t.Node {
  const copy = t.cloneNode(fn, true, true);
  return strip(copy) as t.Node;
}

const TYPE_KEYS = [
  "typeAnnotation",
  "returnType",
  "typeParameters",
  "typeArguments",
  "superTypeParameters",
  "implements",
];

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip).filter((n) => n !== null);
  if (!node || typeof node !== "object" || typeof (node as { type?: unknown }).type !== "string") return node;
  let n = node as t.Node;
  while (
    t.isTSAsExpression(n) ||
    t.isTSSatisfiesExpression(n) ||
    t.isTSNonNullExpression(n) ||
    t.isTSTypeAssertion(n) ||
    t.isTSInstantiationExpression(n) ||
    t.isParenthesizedExpression(n)
  ) {
    n = n.expression;
  }
  if (t.isTSTypeAliasDeclaration(n) || t.isTSInterfaceDeclaration(n) || t.isTSDeclareFunction(n)) return null;
  const record = n as unknown as Record<string, unknown>;
  delete record.extra;
  for (const key of TYPE_KEYS) if (key in record) record[key] = null;
  if ("optional" in record && t.isIdentifier(n)) record.optional = false;
  if ("definite" in record) record.definite = false;
  if (t.isFunction(n)) {
    n.params = n.params.filter((p) => !(t.isIdentifier(p) && p.name === "this"));
  }
  for (const key of t.VISITOR_KEYS[n.type] ?? []) record[key] = strip(record[key]);
  return n;
}
