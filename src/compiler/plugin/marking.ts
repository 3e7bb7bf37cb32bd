/**
 * Finding d-async functions: `dasync(async function …)`, `dasync(async (…) => …)` named by its
 * variable, `dasync("pinned.id", fn)`, and `@dasync` on async class methods. Recognized by the
 * import binding of `dasync` from the runtime module, never by text, so a local function that
 * happens to be called `dasync` is left alone.
 */
import type { NodePath } from "@babel/traverse";
import * as t from "@babel/types";
import { fail } from "../diagnostics.js";

export interface RuntimeBindings {
  /** Local names bound to the runtime's `dasync`. */
  dasync: Set<string>;
  /** Local names bound to the runtime's `DTask`. */
  dtask: Set<string>;
  /** Local names of namespace imports of the runtime (`import * as dt from "dtasks"`). */
  namespaces: Set<string>;
}

export function findRuntimeBindings(program: NodePath<t.Program>, runtimeModules: string[]): RuntimeBindings {
  const bindings: RuntimeBindings = { dasync: new Set(), dtask: new Set(), namespaces: new Set() };
  for (const statement of program.node.body) {
    if (!t.isImportDeclaration(statement) || !runtimeModules.includes(statement.source.value)) continue;
    if (statement.importKind === "type") continue;
    for (const specifier of statement.specifiers) {
      if (t.isImportNamespaceSpecifier(specifier)) bindings.namespaces.add(specifier.local.name);
      if (!t.isImportSpecifier(specifier) || specifier.importKind === "type") continue;
      const imported = t.isIdentifier(specifier.imported)
        ? specifier.imported.name
        : specifier.imported.value;
      if (imported === "dasync") bindings.dasync.add(specifier.local.name);
      if (imported === "DTask") bindings.dtask.add(specifier.local.name);
    }
  }
  return bindings;
}

/** True when `node` refers to the runtime's `dasync` through its import binding. */
export function isDasyncRef(path: NodePath, node: t.Node, bindings: RuntimeBindings): boolean {
  if (t.isIdentifier(node) && bindings.dasync.has(node.name)) {
    return path.scope.getBinding(node.name)?.kind === "module";
  }
  if (
    t.isMemberExpression(node) &&
    !node.computed &&
    t.isIdentifier(node.object) &&
    bindings.namespaces.has(node.object.name) &&
    t.isIdentifier(node.property, { name: "dasync" })
  ) {
    return path.scope.getBinding(node.object.name)?.kind === "module";
  }
  return false;
}

export interface MarkedCall {
  call: NodePath<t.CallExpression>;
  fn: NodePath<t.FunctionExpression | t.ArrowFunctionExpression>;
  name: string;
  pinnedId?: string;
  selfName?: string;
}

/** Reads a `dasync(...)` call; fails with DT107 on a form it cannot compile. */
export function readMarkedCall(call: NodePath<t.CallExpression>): MarkedCall {
  const args = call.get("arguments");
  let pinnedId: string | undefined;
  let fnArg = args[0];
  if (args[0]?.isStringLiteral()) {
    pinnedId = args[0].node.value;
    if (!/^[\w./:@-]+(#[\w.$-]+)?$/.test(pinnedId)) {
      fail(
        args[0],
        "DT107",
        `'${pinnedId}' is not a valid d-async function id (letters, digits and . / : @ - _ #)`,
      );
    }
    fnArg = args[1];
  }
  if (!fnArg || !(fnArg.isFunctionExpression() || fnArg.isArrowFunctionExpression())) {
    fail(
      fnArg ?? call,
      "DT107",
      "dasync() must be given the async function itself (dasync(async function name() {…}) or dasync(async () => …)), so the compiler can see its body",
    );
  }
  if (args.length > (pinnedId === undefined ? 1 : 2))
    fail(call, "DT107", "dasync() takes one function (or an id and a function)");
  const fn = fnArg as NodePath<t.FunctionExpression | t.ArrowFunctionExpression>;
  const selfName = fn.isFunctionExpression() ? fn.node.id?.name : undefined;
  const name = selfName ?? inferredName(call);
  if (!name) {
    fail(
      call,
      "DT107",
      'a d-async function needs a name: use a named function expression, assign it to a variable, or pin an id with dasync("id", fn)',
    );
  }
  return { call, fn, name, pinnedId, selfName };
}

/** The name a function gets from where it is assigned (`const x = …`, `x = …`, `{ x: … }`). */
function inferredName(call: NodePath<t.CallExpression>): string | undefined {
  const parent = call.parentPath;
  if (parent.isVariableDeclarator() && t.isIdentifier(parent.node.id)) return parent.node.id.name;
  if (parent.isAssignmentExpression() && t.isIdentifier(parent.node.left)) return parent.node.left.name;
  if (
    parent.isAssignmentExpression() &&
    t.isMemberExpression(parent.node.left) &&
    t.isIdentifier(parent.node.left.property)
  ) {
    return parent.node.left.property.name;
  }
  if ((parent.isObjectProperty() || parent.isClassProperty()) && t.isIdentifier(parent.node.key))
    return parent.node.key.name;
  return undefined;
}

export interface MarkedMethod {
  method: NodePath<t.ClassMethod>;
  decorator: NodePath<t.Decorator>;
  className: string;
  name: string;
  /** The statement the class stands in (to put the descriptor after it). */
  statement: NodePath<t.Statement>;
}

export function readMarkedMethod(
  decorator: NodePath<t.Decorator>,
  bindings: RuntimeBindings,
): MarkedMethod | undefined {
  if (!isDasyncRef(decorator, decorator.node.expression, bindings)) return undefined;
  const method = decorator.parentPath;
  if (method.isClassPrivateMethod()) {
    fail(
      method,
      "DT109",
      "@dasync methods need a plain name (not computed or private): the id is built from it",
    );
  }
  if (!method.isClassMethod() || method.node.kind !== "method" || !method.node.async) {
    fail(decorator, "DT109", "@dasync goes on an async class method");
  }
  if (method.node.computed || !t.isIdentifier(method.node.key)) {
    fail(method, "DT109", "@dasync methods need a plain name (not computed or private)");
  }
  const classPath = method.parentPath.parentPath;
  if (!classPath?.isClassDeclaration() || !classPath.node.id) {
    fail(decorator, "DT109", "@dasync methods must belong to a named class declaration (class Name { … })");
  }
  let statement: NodePath = classPath;
  if (
    statement.parentPath?.isExportNamedDeclaration() ||
    statement.parentPath?.isExportDefaultDeclaration()
  ) {
    statement = statement.parentPath;
  }
  return {
    method,
    decorator,
    className: classPath.node.id.name,
    name: method.node.key.name,
    statement: statement as NodePath<t.Statement>,
  };
}
