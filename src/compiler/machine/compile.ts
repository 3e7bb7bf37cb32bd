/**
 * Compiles one d-async function into its descriptor: slots (hoist), explosion into cases,
 * liveness and registers, assembly. The steps, in order, are the table of contents of this folder.
 */
import type { NodePath } from "@babel/traverse";
import * as t from "@babel/types";
import { fail, locOf, type WarningSink } from "../diagnostics.js";
import type { FunctionManifest } from "../types.js";
import { allocateRegisters, buildDescriptor, buildStep } from "./assemble.js";
import { FunctionContext, type Names } from "./context.js";
import { Emitter } from "./emitter.js";
import type { ExpressionLowering } from "./expressions.js";
import { analyzeLiveness } from "./liveness.js";
import { emitNative } from "./native.js";
import { hoistSlots } from "./slots.js";
import { explodeStatement } from "./statements.js";

export interface CompileRequest {
  fnPath: NodePath<t.Function>;
  id: string;
  name: string;
  version: string;
  /** Module path relative to the package root. */
  file: string;
  source: string;
  names: Names;
  /** The function expression's own name, which refers to the d-async function. */
  selfName?: string;
  method: boolean;
  keepNative: boolean;
  warn: WarningSink;
  isDurable(argument: t.Expression): boolean;
  /** Fresh identifier names for registers. */
  uid(hint: string): string;
}

export interface CompiledFunction {
  descriptor: t.ObjectExpression;
  manifest: FunctionManifest;
}

export function compileFunction(request: CompileRequest): CompiledFunction {
  const { fnPath } = request;
  const fn = fnPath.node;
  const native = request.keepNative ? nativeCopy(fn) : undefined;
  const ctx = new FunctionContext(request.names, request.file, request.source, request.warn);
  ctx.globalPromise = fnPath.scope.getBinding("Promise") === undefined;

  const { prologue, hoisted } = hoistSlots(fnPath, ctx, request.selfName);

  const body: t.Statement[] = t.isBlockStatement(fn.body)
    ? fn.body.body
    : [t.returnStatement(fn.body as t.Expression)];

  const emitter = new Emitter(ctx);
  const lowering: ExpressionLowering = {
    emitter,
    isDurable: request.isDurable,
    unsupported: (node, message) => {
      const path = findPath(fnPath, node);
      return fail(
        path ?? fnPath,
        "DT103",
        `${message} is not supported inside a d-async function; compute the awaited value in a statement of its own first (const value = await …) and use the local here`,
      );
    },
  };
  for (const statement of prologue) emitNative(emitter, statement);
  for (const statement of body) explodeStatement(lowering, statement);
  if (!emitter.currentCase.terminal) emitter.emitReturn(t.identifier("undefined"));

  // Liveness: what each await must store; what never needs storing becomes a register.
  const { liveIn } = analyzeLiveness(ctx, emitter.cases, emitter.handlers);
  const alwaysStored = [...ctx.slots]
    .filter(([, s]) => s.captured && s.kind !== "function")
    .map(([slot]) => slot);
  const suspensionPoints = emitter.awaits.map((site) => {
    const live = new Set(liveIn[site.resume.state]);
    for (const slot of alwaysStored) live.add(slot);
    for (const slot of live) if (ctx.slots.get(slot)?.kind === "function") live.delete(slot);
    return { site, live: [...live].sort() };
  });
  const liveSomewhere = new Set(suspensionPoints.flatMap((p) => p.live));
  const registers = new Map<string, string>();
  for (const [slot, info] of ctx.slots) {
    if (liveSomewhere.has(slot) || info.captured || info.runtimeWritten || info.kind === "function") continue;
    registers.set(slot, request.uid(slot.replace(/\$/g, "_")));
  }
  allocateRegisters(ctx, emitter.cases, registers);

  for (const { site, live } of suspensionPoints) {
    if (!site.durable) continue;
    for (const slot of live) {
      const info = ctx.slots.get(slot)!;
      if (info.holdsFunction) {
        request.warn({
          code: "DT110",
          loc: locOf(request.file, site.node),
          message: `local '${info.name}' (declared ${info.decl}) may hold a function or class and is live across this durable await; it cannot be stored in a snapshot (keep it out of the frame: create it after the await, or move it to module level)`,
        });
      }
    }
  }

  const step = buildStep(
    ctx,
    request.name,
    emitter.cases,
    emitter.handlers,
    registers,
    liveIn[0]!,
    emitter.awaits.length > 0,
  );
  const slots = [...ctx.slots.keys()].filter((slot) => !registers.has(slot));
  const points = suspensionPoints.map(({ site, live }) => ({
    state: site.resume.state,
    live,
    loc: locOf(request.file, site.node),
    src: ctx.sourceOf(site.node),
  }));
  const loc = locOf(request.file, fn);
  const descriptor = buildDescriptor(ctx, {
    id: request.id,
    version: request.version,
    name: request.name,
    file: request.file,
    loc,
    slots,
    hoisted,
    step,
    suspensionPoints: points,
    handlers: emitter.handlers,
    method: request.method,
    native,
  });
  return {
    descriptor,
    manifest: { id: request.id, name: request.name, version: request.version, loc, suspensionPoints: points },
  };
}

/** The original function, kept for differential tests (`keepNative`). */
function nativeCopy(fn: t.Function): t.Expression {
  const copy = t.cloneNode(fn, true) as t.Function;
  if (t.isArrowFunctionExpression(copy)) return copy;
  if (t.isObjectMethod(copy) || t.isClassMethod(copy) || t.isClassPrivateMethod(copy)) {
    return t.functionExpression(
      null,
      copy.params as t.FunctionExpression["params"],
      copy.body,
      copy.generator,
      copy.async,
    );
  }
  return t.functionExpression(
    (copy as t.FunctionExpression).id ?? null,
    copy.params,
    copy.body as t.BlockStatement,
    copy.generator,
    copy.async,
  );
}

function findPath(root: NodePath, node: t.Node): NodePath | undefined {
  let found: NodePath | undefined;
  root.traverse({
    enter(path) {
      if (path.node === node) {
        found = path;
        path.stop();
      }
    },
  });
  return found;
}
