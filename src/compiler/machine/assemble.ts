/**
 * Puts the compiled pieces together: the step function (an async dispatch loop over the cases,
 * with the exception dispatch only when some try block awaits) and the descriptor object literal that the
 * runtime receives through `dasync(...)`.
 */
import * as t from "@babel/types";
import { PROTOCOL_VERSION, STEP_RETURN, STEP_THROW } from "../../core/protocol.js";
import type { FunctionContext } from "./context.js";
import type { Case, HandlerEntry } from "./emitter.js";

export function buildStep(
  ctx: FunctionContext,
  name: string,
  cases: Case[],
  handlers: HandlerEntry[],
  registers: Map<string, string>,
  readBeforeWritten: ReadonlySet<string>,
  awaits: boolean,
): t.FunctionExpression {
  const { names } = ctx;
  const id = (n: string) => t.identifier(n);
  const switchStatement = t.switchStatement(
    ctx.frame("s"),
    cases.map((c) => t.switchCase(t.numericLiteral(c.label.state), c.body)),
  );
  // The outcome of the last await comes in `_io.v`/`_io.t`, not as parameters: an async function
  // keeps its parameters across every await, and two fewer measured 0.04× of native faster on the
  // await-heavy bench loop. Locals that are dead at an await cost nothing there.
  const body: t.Statement[] = [
    t.variableDeclaration("const", [t.variableDeclarator(id(names.l), ctx.frame("l"))]),
    t.variableDeclaration("let", [
      t.variableDeclarator(id(names.v), ctx.io("v")),
      t.variableDeclarator(id(names.t), ctx.io("t")),
      ...(awaits ? [t.variableDeclarator(id(names.a))] : []),
    ]),
  ];
  if (registers.size > 0) {
    // A register that every path writes before reading it starts at 0, not undefined: V8 types a
    // loop's phi from all its inputs, and an undefined one makes numeric code box its numbers
    // (measured: a counting loop between two awaits ran 1.26× native with undefined, 1.03× with 0).
    // Registers a path may read first (a `var` read before its assignment) keep undefined.
    body.push(
      t.variableDeclaration(
        "let",
        [...registers].map(([slot, r]) =>
          t.variableDeclarator(id(r), readBeforeWritten.has(slot) ? null : t.numericLiteral(0)),
        ),
      ),
    );
  }
  let loopBody: t.Statement;
  if (handlers.length > 0) {
    const rethrow = t.ifStatement(
      id(names.t),
      t.blockStatement([
        t.expressionStatement(t.assignmentExpression("=", id(names.t), t.booleanLiteral(false))),
        t.throwStatement(id(names.v)),
      ]),
    );
    loopBody = t.tryStatement(
      t.blockStatement([rethrow, switchStatement]),
      t.catchClause(
        id(names.e),
        t.blockStatement([
          t.expressionStatement(
            t.assignmentExpression(
              "=",
              ctx.frame("s"),
              t.callExpression(ctx.io("h"), [id(names.f), id(names.e)]),
            ),
          ),
        ]),
      ),
    );
  } else {
    body.push(t.ifStatement(id(names.t), t.throwStatement(id(names.v))));
    loopBody = switchStatement;
  }
  body.push(
    t.labeledStatement(id(names.loop), t.forStatement(null, null, null, t.blockStatement([loopBody]))),
    // Only a return leaves the loop (see FunctionContext.returnWith).
    ctx.leave(STEP_RETURN, id(names.v)),
  );
  // An async step: whatever escapes the frame is reported to the driver, which may be waiting for
  // it outside this call (after a native await), never left as a rejection of the step's promise.
  const guarded = t.tryStatement(
    t.blockStatement(body),
    t.catchClause(
      id(names.e),
      t.blockStatement([
        t.expressionStatement(t.callExpression(ctx.io("y"), [t.numericLiteral(STEP_THROW), id(names.e)])),
      ]),
    ),
  );
  return t.functionExpression(
    t.identifier(`${safeName(name)}$step`),
    [id(names.f), id(names.io)],
    t.blockStatement([guarded]),
    false,
    // Without an await the step needs no generator: a plain function reporting through `io.y`.
    awaits,
  );
}

/** Replaces register slots' `_l.x` by plain identifiers in the step body (not inside closures). */
export function allocateRegisters(ctx: FunctionContext, cases: Case[], registers: Map<string, string>): void {
  if (registers.size === 0) return;
  const visit = (node: t.Node): void => {
    for (const key of t.VISITOR_KEYS[node.type] ?? []) {
      const child = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(child)) {
        child.forEach((c, i) => {
          if (c && typeof c === "object") {
            const replacement = registerFor(c as t.Node);
            if (replacement) child[i] = replacement;
            else visit(c as t.Node);
          }
        });
      } else if (child && typeof child === "object") {
        const replacement = registerFor(child as t.Node);
        if (replacement) (node as unknown as Record<string, unknown>)[key] = replacement;
        else visit(child as t.Node);
      }
    }
  };
  const registerFor = (node: t.Node): t.Identifier | undefined => {
    const slot = ctx.slotOf(node);
    const register = slot && registers.get(slot);
    if (!register) return undefined;
    const identifier = t.identifier(register);
    identifier.loc = node.loc;
    return identifier;
  };
  for (const c of cases) {
    c.body.forEach((statement, i) => {
      const replaced = registerFor(statement);
      if (replaced) c.body[i] = t.expressionStatement(replaced);
      else visit(statement);
    });
  }
}

function safeName(name: string): string {
  return t.isValidIdentifier(name) ? name : name.replace(/[^\w$]/g, "_");
}

export interface DescriptorParts {
  id: string;
  version: string;
  name: string;
  file: string;
  loc: string;
  slots: string[];
  hoisted: t.Statement[];
  step: t.FunctionExpression;
  suspensionPoints: { state: number; live: string[]; loc: string; src: string }[];
  handlers: HandlerEntry[];
  method: boolean;
  native?: t.Expression;
}

/** The descriptor literal of protocol.ts's FunctionDescriptor. */
export function buildDescriptor(ctx: FunctionContext, parts: DescriptorParts): t.ObjectExpression {
  const prop = (key: string, value: t.Expression) => t.objectProperty(t.identifier(key), value);
  const str = (s: string) => t.stringLiteral(s);
  const properties: t.ObjectProperty[] = [
    prop("$dtask", t.numericLiteral(PROTOCOL_VERSION)),
    prop("id", str(parts.id)),
    prop("version", str(parts.version)),
    prop("name", str(parts.name)),
    prop("file", str(parts.file)),
    prop("loc", str(parts.loc)),
    prop(
      "init",
      t.arrowFunctionExpression(
        [],
        t.objectExpression(
          parts.slots.map((slot) => t.objectProperty(t.identifier(slot), t.identifier("undefined"))),
        ),
      ),
    ),
  ];
  if (parts.hoisted.length > 0) {
    properties.push(
      prop(
        "hoist",
        t.arrowFunctionExpression(
          [t.identifier(ctx.names.l), t.identifier(ctx.names.f)],
          t.blockStatement(parts.hoisted),
        ),
      ),
    );
  }
  properties.push(prop("step", parts.step));
  properties.push(
    prop(
      "sp",
      t.objectExpression(
        parts.suspensionPoints.map((p) =>
          t.objectProperty(
            t.numericLiteral(p.state),
            t.objectExpression([
              prop("live", t.arrayExpression(p.live.map(str))),
              prop("loc", str(p.loc)),
              prop("src", str(p.src)),
            ]),
          ),
        ),
      ),
    ),
  );
  properties.push(
    prop(
      "handlers",
      t.arrayExpression(
        parts.handlers.map((h) =>
          t.arrayExpression([
            t.numericLiteral(h.tryLabel.state),
            stateOrNone(h.catchLabel?.state),
            stateOrNone(h.finallyLabel?.state),
            t.numericLiteral(h.afterLabel.state),
            h.catchSlot === null ? t.nullLiteral() : str(h.catchSlot),
            t.numericLiteral(h.k),
          ]),
        ),
      ),
    ),
  );
  properties.push(
    prop(
      "slots",
      t.objectExpression(
        parts.slots.map((slot) => {
          const info = ctx.slots.get(slot)!;
          return t.objectProperty(t.identifier(slot), t.arrayExpression([str(info.name), str(info.decl)]));
        }),
      ),
    ),
  );
  if (parts.method) properties.push(prop("method", t.booleanLiteral(true)));
  if (parts.native) properties.push(prop("native", parts.native));
  return t.objectExpression(properties);
}

/** A handler row's state, or -1 for none (built as `-1`: Babel's builder warns on negative literals). */
function stateOrNone(state: number | undefined): t.Expression {
  return state === undefined ? t.unaryExpression("-", t.numericLiteral(1)) : t.numericLiteral(state);
}
