/**
 * Scope → slots (the "hoist" step). Every binding whose scope contains an await becomes a slot of
 * the frame: references turn into `_l.x`, declarations into assignments, nested function
 * declarations move to `hoist`. Bindings scoped inside await-free statements stay ordinary
 * JavaScript bindings: they can never be live across an await, and keeping them native keeps
 * await-free loops (and closures over their per-iteration bindings) exactly as fast and as correct
 * as V8 makes them.
 *
 * Loop-scoped slots captured by closures are boxed (`{ v }`, a fresh box per iteration) and the
 * closure is wrapped so it keeps the box of the iteration that created it.
 */
import type { Binding, NodePath, Scope } from "@babel/traverse";
import * as t from "@babel/types";
import { assert, fail, locOf } from "../diagnostics.js";
import type { FunctionContext, SlotKind } from "./context.js";
import { containsAwait, forgetAwait } from "./meta.js";

export interface HoistResult {
  /** State-0 code: binds the call's arguments to the parameter slots. */
  prologue: t.Statement[];
  /** Nested function declarations, re-created into their slots by `hoist`. */
  hoisted: t.Statement[];
}

type FnPath = NodePath<t.Function>;

/** Rewrites the function in place and fills the slot table. */
export function hoistSlots(fnPath: FnPath, ctx: FunctionContext, selfName: string | undefined): HoistResult {
  const fn = fnPath.node;
  const slotOfBinding = new Map<Binding, string>();
  const boxedClosures = new Map<t.Function, Map<string, string>>(); // closure → slot → box param

  // 1. Which bindings become slots.
  const scopes: Scope[] = [fnPath.scope];
  fnPath.traverse({
    Scopable(path) {
      if (path.isFunction()) {
        path.skip();
        return;
      }
      if (path.scope !== fnPath.scope && path.scope.path === path) scopes.push(path.scope);
    },
  });
  for (const scope of scopes) {
    const exploded = scope === fnPath.scope || scopeContainsAwait(scope);
    if (!exploded) continue;
    for (const [name, binding] of Object.entries(scope.bindings)) {
      if (binding.kind === "local" && name === selfName && scope === fnPath.scope) continue; // the self-name
      const kind = slotKind(binding);
      const slot = ctx.addSlot(name, { name, decl: locOf(ctx.file, binding.identifier), kind });
      slotOfBinding.set(binding, slot);
      const info = ctx.slots.get(slot)!;
      if (kind === "catch") info.runtimeWritten = true;
      const captured = [...binding.referencePaths, ...binding.constantViolations].some(
        (ref) => ref.getFunctionParent() !== fnPath,
      );
      info.captured = captured;
      info.boxed =
        captured &&
        kind !== "function" &&
        kind !== "param" &&
        kind !== "catch" &&
        isInLoop(binding.scope.path, fnPath);
    }
  }

  // 2. References and assignments.
  const refFor = (slot: string, at: NodePath): t.Expression => {
    const info = ctx.slots.get(slot)!;
    if (!info.boxed) return ctx.slotRef(slot);
    const closure = outermostClosure(at, fnPath);
    if (!closure || closure.isFunctionDeclaration()) {
      return t.memberExpression(ctx.slotRef(slot), t.identifier("v"));
    }
    let params = boxedClosures.get(closure.node);
    if (!params) boxedClosures.set(closure.node, (params = new Map()));
    let param = params.get(slot);
    if (!param) params.set(slot, (param = fnPath.scope.generateUid(`${slot}Box`)));
    return t.memberExpression(t.identifier(param), t.identifier("v"));
  };

  for (const [binding, slot] of slotOfBinding) {
    for (const ref of binding.referencePaths) {
      if (!ref.isIdentifier()) continue; // e.g. an export specifier: not inside a function
      // A TypeScript parameter property (`constructor(readonly x)`) declares a field, not a
      // reference, although Babel's scope records it as one.
      if (ref.parentPath?.isTSParameterProperty()) continue;
      replaceReference(ref, refFor(slot, ref));
    }
    for (const violation of binding.constantViolations) {
      rewriteTargets(violation, binding, (at) => refFor(slot, at));
    }
  }

  // 3. `this` and the self-name.
  fnPath.traverse({
    Function(path) {
      if (!path.isArrowFunctionExpression()) path.skip();
    },
    ThisExpression(path) {
      path.replaceWith(ctx.frame("self"));
    },
  });
  if (selfName) {
    const binding = fnPath.scope.getOwnBinding(selfName);
    if (binding && binding.kind === "local") {
      for (const ref of binding.referencePaths) {
        replaceReference(ref, t.memberExpression(ctx.frame("d"), t.identifier("fn")));
      }
    }
  }

  // 4. Declarations → assignments; nested function declarations → hoist.
  const hoisted: t.Statement[] = [];
  const slotOfId = (scope: Scope, name: string): string | undefined => {
    const binding = scope.getBinding(name);
    return binding ? slotOfBinding.get(binding) : undefined;
  };
  fnPath.traverse({
    Function(path) {
      if (path.isFunctionDeclaration() && path.node.id) {
        const slot = slotOfId(path.parentPath.scope, path.node.id.name);
        if (slot) {
          const decl = path.node;
          hoisted.push(
            t.expressionStatement(
              t.assignmentExpression(
                "=",
                ctx.slotRef(slot),
                t.functionExpression(decl.id, decl.params, decl.body, decl.generator, decl.async),
              ),
            ),
          );
          ctx.slots.get(slot)!.holdsFunction = true;
          path.remove();
          return;
        }
      }
      path.skip();
    },
    ClassDeclaration(path) {
      const slot = path.node.id && slotOfId(path.parentPath.scope, path.node.id.name);
      if (!slot) return;
      const { id, superClass, body, decorators } = path.node;
      const expr = t.classExpression(id, superClass, body, decorators);
      ctx.slots.get(slot)!.holdsFunction = true;
      path.replaceWith(t.expressionStatement(t.assignmentExpression("=", ctx.slotRef(slot), expr)));
      path.skip();
    },
    CatchClause(path) {
      const param = path.node.param;
      const marker = path.node as t.CatchClause & { dtasksCatchSlot?: string | null };
      if (!param) {
        if (containsAwait(path.parentPath.node)) marker.dtasksCatchSlot = null;
        return;
      }
      const names = boundNames(param);
      const first = names[0] && slotOfId(path.scope, names[0]);
      if (!first) return;
      if (t.isIdentifier(param)) {
        marker.dtasksCatchSlot = first;
        return;
      }
      // A destructured catch parameter: the runtime stores the error in a temp, the catch block
      // starts by destructuring it.
      const caught = ctx.temp("caught error");
      ctx.slots.get(caught)!.runtimeWritten = true;
      const pattern = t.cloneNode(param, true);
      for (const name of names) {
        const slot = slotOfId(path.scope, name)!;
        walkPattern(
          pattern,
          name,
          (r) => r,
          () => ctx.slotRef(slot),
        );
      }
      path.node.body.body.unshift(
        t.expressionStatement(t.assignmentExpression("=", pattern, ctx.slotRef(caught))),
      );
      forgetAwait(path.node.body);
      marker.dtasksCatchSlot = caught;
    },
    VariableDeclaration(path) {
      const converted = convertDeclaration(path, ctx, slotOfId);
      if (converted === undefined) return;
      if (converted === null) path.remove();
      else path.replaceWith(converted);
    },
  });

  // 5. Closures that capture boxed slots keep their iteration's boxes.
  for (const [closure, params] of boxedClosures) {
    const wrapped = t.callExpression(
      t.arrowFunctionExpression(
        [...params.values()].map((p) => t.identifier(p)),
        t.cloneNode(closure as t.Expression, false),
      ),
      [...params.keys()].map((slot) => ctx.slotRef(slot)),
    );
    replaceNodeInPlace(closure, wrapped);
  }

  // 6. Parameters.
  const prologue = bindParameters(fn, ctx, slotOfBinding, fnPath);
  fn.params = [];
  forgetAwait(fn.body);
  return { prologue, hoisted };
}

function scopeContainsAwait(scope: Scope): boolean {
  const node = scope.path.node;
  if (node.type === "CatchClause") {
    const tryStatement = scope.path.parentPath?.node;
    return containsAwait(tryStatement);
  }
  return containsAwait(node);
}

function slotKind(binding: Binding): SlotKind {
  switch (binding.kind) {
    case "param":
      return "param";
    case "var":
      return "var";
    case "const":
      return "const";
    case "hoisted":
      return "function";
    case "let":
      if (binding.path.isCatchClause()) return "catch";
      if (binding.path.isClassDeclaration()) return "class";
      return "let";
    default:
      return binding.path.isClassDeclaration() ? "class" : "let";
  }
}

function isInLoop(path: NodePath, fnPath: FnPath): boolean {
  for (let p: NodePath | null = path; p && p !== fnPath; p = p.parentPath) {
    if (p.isLoop()) return true;
  }
  return false;
}

/** The outermost nested function between `path` and the d-async function, if any. */
function outermostClosure(path: NodePath, fnPath: FnPath): NodePath<t.Function> | undefined {
  let found: NodePath<t.Function> | undefined;
  for (let p: NodePath | null = path.parentPath; p && p !== fnPath; p = p.parentPath) {
    if (p.isFunction()) found = p;
  }
  return found;
}

/** Replaces an identifier reference, keeping `this` undefined when it is a callee. */
function replaceReference(ref: NodePath, replacement: t.Expression): void {
  const parent = ref.parent;
  const isCallee =
    ((t.isCallExpression(parent) || t.isOptionalCallExpression(parent) || t.isNewExpression(parent)) &&
      parent.callee === ref.node &&
      !t.isNewExpression(parent)) ||
    (t.isTaggedTemplateExpression(parent) && parent.tag === ref.node);
  if (t.isObjectProperty(parent) && parent.shorthand && parent.value === ref.node) parent.shorthand = false;
  const node = isCallee ? t.sequenceExpression([t.numericLiteral(0), replacement]) : replacement;
  copyLoc(node, ref.node);
  copyLoc(replacement, ref.node);
  ref.replaceWith(node);
  ref.skip();
}

/** Rewrites the identifiers a constant violation (assignment, update, for-in/of head) writes. */
function rewriteTargets(violation: NodePath, binding: Binding, refFor: (at: NodePath) => t.Expression): void {
  const node = violation.node;
  const name = binding.identifier.name;
  const owns = (): boolean => violation.scope.getBinding(name) === binding;
  if (!owns()) return;
  const replaceIn = (target: t.Node, set: (replacement: t.Expression) => void): void => {
    if (t.isIdentifier(target)) {
      if (target.name === name) set(withLoc(refFor(violation), target));
      return;
    }
    walkPattern(
      target,
      name,
      (replacement) => replacement,
      () => refFor(violation),
    );
  };
  if (t.isAssignmentExpression(node)) {
    replaceIn(node.left, (r) => {
      node.left = r as t.MemberExpression;
    });
  } else if (t.isUpdateExpression(node)) {
    replaceIn(node.argument, (r) => {
      node.argument = r as t.MemberExpression;
    });
  } else if ((t.isForInStatement(node) || t.isForOfStatement(node)) && !t.isVariableDeclaration(node.left)) {
    replaceIn(node.left, (r) => {
      node.left = r as t.MemberExpression;
    });
  }
  // VariableDeclarator violations (a `var` declared twice) are handled with the declarations.
}

/** Replaces, inside a destructuring pattern, each target identifier `name` by `make()`. */
function walkPattern(
  pattern: t.Node,
  name: string,
  wrap: (r: t.Expression) => t.Expression,
  make: () => t.Expression,
): void {
  const fix = (node: t.Node | null | undefined, set: (r: t.Expression) => void): void => {
    if (!node) return;
    if (t.isIdentifier(node)) {
      if (node.name === name) set(withLoc(wrap(make()), node));
    } else {
      walkPattern(node, name, wrap, make);
    }
  };
  if (t.isArrayPattern(pattern)) {
    pattern.elements.forEach((el, i) => {
      fix(el, (r) => {
        pattern.elements[i] = r as t.MemberExpression;
      });
    });
  } else if (t.isObjectPattern(pattern)) {
    for (const prop of pattern.properties) {
      if (t.isRestElement(prop)) {
        fix(prop.argument, (r) => {
          prop.argument = r as t.MemberExpression;
        });
      } else {
        fix(prop.value, (r) => {
          prop.shorthand = false;
          prop.value = r as t.MemberExpression;
        });
      }
    }
  } else if (t.isAssignmentPattern(pattern)) {
    fix(pattern.left, (r) => {
      pattern.left = r as t.MemberExpression;
    });
  } else if (t.isRestElement(pattern)) {
    fix(pattern.argument, (r) => {
      pattern.argument = r as t.MemberExpression;
    });
  } else if (t.isTSParameterProperty(pattern)) {
    fix(pattern.parameter, () => {});
  }
}

/** Every identifier a declaration pattern binds. */
function boundNames(pattern: t.Node): string[] {
  return Object.keys(t.getBindingIdentifiers(pattern as t.LVal));
}

/**
 * A declaration of slots, as the statement or expression that replaces it: `undefined` = not ours,
 * leave it; `null` = remove it.
 */
function convertDeclaration(
  path: NodePath<t.VariableDeclaration>,
  ctx: FunctionContext,
  slotOfId: (scope: Scope, name: string) => string | undefined,
): t.Node | null | undefined {
  const decl = path.node;
  if (decl.declare) return null; // `declare let x: T` is type-only
  const first = decl.declarations[0];
  if (!first) return undefined;
  const names = boundNames(first.id);
  if (names.length === 0 || !slotOfId(path.scope, names[0]!)) return undefined;

  const parent = path.parentPath;
  const inForHead = (parent.isForInStatement() || parent.isForOfStatement()) && parent.node.left === decl;
  const toTarget = (pattern: t.LVal, boxNew: boolean): t.LVal => {
    if (t.isIdentifier(pattern)) {
      const slot = slotOfId(path.scope, pattern.name)!;
      const info = ctx.slots.get(slot)!;
      if (info.boxed && !boxNew)
        return withLoc(t.memberExpression(ctx.slotRef(slot), t.identifier("v")), pattern);
      return withLoc(ctx.slotRef(slot), pattern);
    }
    const clone = t.cloneNode(pattern, true, false);
    for (const name of boundNames(clone)) {
      const slot = slotOfId(path.scope, name)!;
      const info = ctx.slots.get(slot)!;
      walkPattern(
        clone,
        name,
        (r) => r,
        () => (info.boxed ? t.memberExpression(ctx.slotRef(slot), t.identifier("v")) : ctx.slotRef(slot)),
      );
    }
    // Defaults inside the pattern were rewritten in the original; the clone took them along.
    return clone;
  };

  if (inForHead) {
    // `for (const x of xs)`: the loop assigns the target; boxed slots get a fresh box per iteration
    // from the loop lowering (see statements.ts), which reads this marker.
    const target = toTarget(first.id as t.LVal, false);
    (target as t.Node & { dtasksForHeadBoxes?: string[] }).dtasksForHeadBoxes = boundNames(first.id)
      .map((n) => slotOfId(path.scope, n)!)
      .filter((slot) => ctx.slots.get(slot)!.boxed);
    return target;
  }

  const assignments: t.Expression[] = [];
  for (const declarator of decl.declarations) {
    for (const name of boundNames(declarator.id)) {
      const slot = slotOfId(path.scope, name)!;
      const info = ctx.slots.get(slot)!;
      if (info.boxed)
        assignments.push(
          t.assignmentExpression(
            "=",
            ctx.slotRef(slot),
            t.objectExpression([t.objectProperty(t.identifier("v"), t.identifier("undefined"))]),
          ),
        );
      if (declarator.init && (t.isFunction(declarator.init) || t.isClass(declarator.init)))
        info.holdsFunction = true;
    }
    if (declarator.init) {
      assignments.push(
        withLoc(
          t.assignmentExpression("=", toTarget(declarator.id as t.LVal, false), declarator.init),
          declarator,
        ),
      );
    } else if (decl.kind !== "var" && t.isIdentifier(declarator.id)) {
      const slot = slotOfId(path.scope, declarator.id.name)!;
      if (!ctx.slots.get(slot)!.boxed) {
        assignments.push(
          withLoc(
            t.assignmentExpression("=", toTarget(declarator.id, false), t.identifier("undefined")),
            declarator,
          ),
        );
      }
    }
  }
  if (parent.isForStatement() && parent.node.init === decl) {
    const boxes = decl.declarations
      .flatMap((d) => boundNames(d.id))
      .map((n) => slotOfId(path.scope, n)!)
      .filter((slot) => ctx.slots.get(slot)!.boxed);
    if (boxes.length > 0 && decl.kind !== "var") {
      (parent.node as t.ForStatement & { dtasksPerIterationBoxes?: string[] }).dtasksPerIterationBoxes =
        boxes;
    }
    if (assignments.length === 0) return null;
    return assignments.length === 1 ? assignments[0]! : t.sequenceExpression(assignments);
  }
  if (assignments.length === 0) return null;
  const statements = assignments.map((a) => withLoc(t.expressionStatement(a), a));
  return statements.length === 1 ? statements[0]! : withLoc(t.blockStatement(statements), decl);
}

/** State-0 code binding `_f.a` to the parameter slots, keeping default and destructuring order. */
function bindParameters(
  fn: t.Function,
  ctx: FunctionContext,
  slotOfBinding: Map<Binding, string>,
  fnPath: FnPath,
): t.Statement[] {
  const args = ctx.frame("a");
  const params = fn.params.filter((p) => !(t.isIdentifier(p) && p.name === "this"));
  const simple = params.every((p) => t.isIdentifier(p));
  const out: t.Statement[] = [];
  const slotOf = (name: string): string => {
    const binding = fnPath.scope.getOwnBinding(name);
    const slot = binding && slotOfBinding.get(binding);
    assert(slot, `parameter ${name} has a slot`);
    return slot;
  };
  const target = (p: t.Node): t.LVal => {
    if (t.isIdentifier(p)) return withLoc(ctx.slotRef(slotOf(p.name)), p);
    if (t.isTSParameterProperty(p))
      fail(fnPath, "DT109", "parameter properties are not supported in d-async methods");
    const clone = t.cloneNode(p as t.LVal, true);
    for (const name of boundNames(clone)) {
      const slot = slotOf(name);
      walkPattern(
        clone,
        name,
        (r) => r,
        () => ctx.slotRef(slot),
      );
    }
    stripTypeAnnotations(clone);
    return clone;
  };
  if (simple) {
    params.forEach((p, i) => {
      out.push(
        t.expressionStatement(
          t.assignmentExpression(
            "=",
            target(p),
            t.memberExpression(t.cloneNode(args), t.numericLiteral(i), true),
          ),
        ),
      );
    });
  } else if (params.length > 0) {
    out.push(
      t.expressionStatement(
        t.assignmentExpression("=", t.arrayPattern(params.map(target) as t.PatternLike[]), t.cloneNode(args)),
      ),
    );
  }
  out.push(t.expressionStatement(t.assignmentExpression("=", ctx.frame("a"), t.nullLiteral())));
  return out;
}

function stripTypeAnnotations(node: t.Node): void {
  t.traverseFast(node, (n) => {
    const annotated = n as t.Node & { typeAnnotation?: unknown; optional?: boolean };
    if ("typeAnnotation" in annotated && annotated.typeAnnotation) annotated.typeAnnotation = null;
    if (annotated.optional && t.isIdentifier(n)) annotated.optional = false;
  });
}

export function withLoc<T extends t.Node>(node: T, from: t.Node | null | undefined): T {
  copyLoc(node, from);
  return node;
}

export function copyLoc(node: t.Node, from: t.Node | null | undefined): void {
  if (!from || node.loc) return;
  node.loc = from.loc;
  node.start = from.start;
  node.end = from.end;
}

/** Replaces a node everywhere its parent points at it, without a path (the path may be stale). */
function replaceNodeInPlace(target: t.Node, replacement: t.Node): void {
  // The original object becomes the replacement, so every holder of the reference sees it; the
  // wrapped closure inside the replacement is a shallow clone that kept the original's children.
  for (const key of Object.keys(target)) delete (target as unknown as Record<string, unknown>)[key];
  Object.assign(target, replacement);
}
