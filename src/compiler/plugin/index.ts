/**
 * The Babel plugin: finds the d-async functions of a module (by the `dasync` import binding) and
 * replaces each with its compiled descriptor. All the work happens in `Program` enter, before other
 * plugins (TypeScript stripping) see the module, so we compile the source as written.
 */
import type { NodePath, PluginObj } from "@babel/core";
import * as t from "@babel/types";
import { fail } from "../diagnostics.js";
import { checkSupported } from "../machine/check.js";
import { compileFunction } from "../machine/compile.js";
import type { Names } from "../machine/context.js";
import type { CompilerWarning, FunctionManifest } from "../types.js";
import { functionVersion, moduleId } from "./identity.js";
import {
  findRuntimeBindings,
  isDasyncRef,
  type RuntimeBindings,
  readMarkedCall,
  readMarkedMethod,
} from "./marking.js";

export interface PluginOptions {
  /** Module path relative to the package root (POSIX separators). */
  file: string;
  source: string;
  keepNative: boolean;
  runtimeModules: string[];
  /** Filled in while compiling. */
  output: {
    functions: FunctionManifest[];
    warnings: CompilerWarning[];
    /** Decorators other than `@dasync` remain in the output: the caller lowers them. */
    otherDecorators?: boolean;
  };
}

export function dtasksPlugin(_api: unknown, options: PluginOptions): PluginObj {
  return {
    name: "dtasks",
    visitor: {
      Program(program) {
        const bindings = findRuntimeBindings(program, options.runtimeModules);
        if (bindings.dasync.size === 0 && bindings.namespaces.size === 0) return;
        compileModule(program, bindings, options);
      },
    },
  };
}

function compileModule(
  program: NodePath<t.Program>,
  bindings: RuntimeBindings,
  options: PluginOptions,
): void {
  const uid = (hint: string) => program.scope.generateUid(hint);
  const names: Names = {
    f: uid("f"),
    v: uid("v"),
    t: uid("t"),
    io: uid("io"),
    l: uid("l"),
    loop: uid("loop"),
    e: uid("e"),
    a: uid("a"),
  };
  const isDAsyncCall = (path: NodePath<t.CallExpression>) => isDasyncRef(path, path.node.callee, bindings);
  const ids = new Set<string>();
  const durableNames = new Set<string>();
  const warn = (w: CompilerWarning) => options.output.warnings.push(w);

  const claimId = (path: NodePath, id: string) => {
    if (ids.has(id))
      fail(
        path,
        "DT107",
        `two d-async functions in this module have the id '${id}'; rename one, or pin ids with dasync("id", fn)`,
      );
    ids.add(id);
  };

  const isDurable = (argument: t.Expression): boolean => {
    if (!t.isCallExpression(argument)) return false;
    const callee = argument.callee;
    if (
      t.isMemberExpression(callee) &&
      t.isIdentifier(callee.object) &&
      bindings.dtask.has(callee.object.name)
    )
      return true;
    if (t.isIdentifier(callee) && durableNames.has(callee.name)) return true;
    let root: t.Node = callee;
    while (t.isMemberExpression(root)) root = root.object;
    return t.isIdentifier(root) && root.name === names.f; // the self-name (`_f.d.fn`)
  };

  // Names of module-level d-async functions, for the durable-await heuristic of DT110.
  program.traverse({
    CallExpression(path) {
      if (
        isDAsyncCall(path) &&
        path.parentPath.isVariableDeclarator() &&
        t.isIdentifier(path.parentPath.node.id)
      ) {
        durableNames.add(path.parentPath.node.id.name);
      }
    },
  });

  const compile = (
    fnPath: NodePath<t.Function>,
    id: string,
    name: string,
    method: boolean,
    selfName?: string,
  ) => {
    checkSupported(fnPath, isDAsyncCall);
    const version = functionVersion(fnPath.node);
    const compiled = compileFunction({
      fnPath,
      id,
      name,
      version,
      file: options.file,
      source: options.source,
      names,
      selfName,
      method,
      keepNative: options.keepNative,
      warn,
      isDurable,
      uid,
    });
    options.output.functions.push(compiled.manifest);
    return compiled.descriptor;
  };

  const generated = new WeakSet<t.Node>();
  program.traverse({
    CallExpression: {
      exit(path) {
        if (generated.has(path.node) || !isDAsyncCall(path)) return;
        // Already compiled (precompiled output loaded through the loader again): leave it.
        if (isCompiledDescriptor(path.node.arguments[0])) return;
        const marked = readMarkedCall(path);
        const id = marked.pinnedId ?? `${moduleId(options.file)}#${marked.name}`;
        claimId(path, id);
        // A function expression that uses `this` keeps its receiver in the frame, like a method.
        const method = marked.fn.isFunctionExpression() && usesThis(marked.fn);
        const descriptor = compile(
          marked.fn as NodePath<t.Function>,
          id,
          marked.name,
          method,
          marked.selfName,
        );
        path.node.arguments = [descriptor];
        path.skip();
      },
    },
    Decorator(path) {
      const marked = readMarkedMethod(path, bindings);
      if (!marked) {
        options.output.otherDecorators = true;
        return;
      }
      const id = `${moduleId(options.file)}#${marked.className}.${marked.name}`;
      claimId(path, id);
      const methodNode = marked.method.node;
      path.remove();
      // The receiver is part of the frame only when the method reads `this`: a method that does not
      // (or a static one) must not have to store its object or class.
      const receiver = usesThis(marked.method as NodePath<t.Function>);
      const descriptor = compile(
        marked.method as NodePath<t.Function>,
        id,
        `${marked.className}.${marked.name}`,
        receiver,
      );
      const local = t.identifier(program.scope.generateUid(`${marked.className}$${marked.name}`));
      const calleeName = [...bindings.dasync][0];
      const dasyncRef = calleeName
        ? t.identifier(calleeName)
        : t.memberExpression(t.identifier([...bindings.namespaces][0]!), t.identifier("dasync"));
      const registration = t.callExpression(dasyncRef, [descriptor]);
      generated.add(registration);
      marked.statement.insertAfter(
        t.variableDeclaration("const", [t.variableDeclarator(t.cloneNode(local), registration)]),
      );
      // The method itself becomes a plain forwarder: calling it returns the cold DCall.
      methodNode.async = false;
      methodNode.params = [t.restElement(t.identifier("args"))];
      methodNode.returnType = null;
      methodNode.body = t.blockStatement([
        t.returnStatement(
          t.callExpression(t.memberExpression(t.cloneNode(local), t.identifier("apply")), [
            t.thisExpression(),
            t.identifier("args"),
          ]),
        ),
      ]);
    },
  });
}

/** Whether a function reads its own `this` (arrows inside it share it; other functions do not). */
function usesThis(fn: NodePath<t.Function>): boolean {
  let found = false;
  fn.traverse({
    Function(path) {
      if (!path.isArrowFunctionExpression()) path.skip();
    },
    ThisExpression(path) {
      found = true;
      path.stop();
    },
  });
  return found;
}

/** `dasync({ $dtask: 1, … })`: the output of an earlier compilation. */
function isCompiledDescriptor(node: t.Node | undefined): boolean {
  return (
    t.isObjectExpression(node) &&
    node.properties.some(
      (p) => t.isObjectProperty(p) && !p.computed && t.isIdentifier(p.key, { name: "$dtask" }),
    )
  );
}
