/**
 * Constructs a d-async function cannot contain, each a code-framed compile error with a stable
 * code. Checked before any rewriting, on the function as the user wrote it.
 */
import type { NodePath } from "@babel/traverse";
import type * as t from "@babel/types";
import { fail } from "../diagnostics.js";

export function checkSupported(
  fnPath: NodePath<t.Function>,
  isDAsyncCall: (path: NodePath<t.CallExpression>) => boolean,
): void {
  const fn = fnPath.node;
  if (fn.generator)
    fail(fnPath, "DT105", "a d-async function cannot be a generator; use an ordinary async function");
  if (!fn.async) fail(fnPath, "DT107", "dasync() expects an async function");
  const isArrow = fnPath.isArrowFunctionExpression();
  fnPath.traverse({
    Function(path) {
      if (path.node.generator) {
        fail(
          path,
          "DT105",
          "generators cannot be defined inside a d-async function; move the generator to module level",
        );
      }
    },
    Identifier(path) {
      if (path.node.name !== "arguments" || !path.isReferencedIdentifier()) return;
      if (path.scope.getBinding("arguments")) return; // a user variable named `arguments`
      const owner = path.getFunctionParent();
      const lexicalOwner = owner && (owner === fnPath || isLexicallyOurs(owner, fnPath));
      if (lexicalOwner)
        fail(
          path,
          "DT101",
          "'arguments' is not supported inside a d-async function; use rest parameters (...args)",
        );
    },
    ThisExpression(path) {
      if (isArrow && lexicalOwnerIsUs(path, fnPath)) {
        fail(
          path,
          "DT102",
          "'this' inside a d-async arrow function has no meaning after a resume; use a function expression or an @dasync method",
        );
      }
    },
    Super(path) {
      if (lexicalOwnerIsUs(path, fnPath))
        fail(path, "DT108", "'super' is not supported inside a d-async method; call a helper method instead");
    },
    CallExpression(path) {
      const callee = path.node.callee;
      if (callee.type === "Identifier" && callee.name === "eval" && !path.scope.getBinding("eval")) {
        fail(
          path,
          "DT104",
          "direct eval is not supported inside a d-async function (it could read locals that live in the frame); use indirect eval, (0, eval)(code), which sees only globals, or new Function",
        );
      }
      if (isDAsyncCall(path))
        fail(
          path,
          "DT106",
          "a d-async function cannot be defined inside another d-async function; define it at module level",
        );
    },
    WithStatement(path) {
      fail(
        path,
        "DT104",
        "'with' is not supported inside a d-async function; name the object's properties explicitly",
      );
    },
    YieldExpression(path) {
      if (path.getFunctionParent() === fnPath)
        fail(path, "DT105", "'yield' is not supported in a d-async function");
    },
  });
}

/** True when `this`/`super` at `path` is the d-async function's own (only arrows in between). */
function lexicalOwnerIsUs(path: NodePath, fnPath: NodePath<t.Function>): boolean {
  for (let p = path.parentPath; p; p = p.parentPath) {
    if (p === fnPath) return true;
    if (p.isFunction() && !p.isArrowFunctionExpression()) return false;
    if (p.isClass()) return false;
  }
  return false;
}

function isLexicallyOurs(owner: NodePath<t.Function>, fnPath: NodePath<t.Function>): boolean {
  return owner.isArrowFunctionExpression() && lexicalOwnerIsUs(owner, fnPath);
}
