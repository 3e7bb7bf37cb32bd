/**
 * Evaluates an ES module's text in process, without temporary files: imports become lookups in
 * a table of already-loaded namespaces, exports become the returned object, and the body runs as
 * a strict `new Function`. Enough for test programs and compiled output; not a module loader.
 *
 * @module
 */
import { parse } from "@babel/parser";
import type * as t from "@babel/types";

export interface ConvertedModule {
  /** Strict function body; expects `__import(specifier)` in scope and returns the exports. */
  body: string;
  /** The import specifiers, in order. */
  specifiers: string[];
}

function bindingNames(node: t.Node, out: string[]): void {
  switch (node.type) {
    case "Identifier":
      out.push(node.name);
      return;
    case "ObjectPattern":
      for (const prop of node.properties) bindingNames(prop.type === "RestElement" ? prop : prop.value, out);
      return;
    case "ArrayPattern":
      for (const el of node.elements) if (el) bindingNames(el, out);
      return;
    case "AssignmentPattern":
      bindingNames(node.left, out);
      return;
    case "RestElement":
      bindingNames(node.argument, out);
      return;
    default:
      throw new Error(`module: unsupported binding ${node.type}`);
  }
}

function importedName(spec: t.ImportSpecifier): string {
  return spec.imported.type === "Identifier" ? spec.imported.name : spec.imported.value;
}

/** Rewrites a module (plain JavaScript) into a function body. */
export function convertModule(code: string): ConvertedModule {
  const ast = parse(code, { sourceType: "module", plugins: [] });
  const edits: { start: number; end: number; text: string }[] = [];
  const exports: [exported: string, local: string][] = [];
  const specifiers: string[] = [];

  for (const node of ast.program.body) {
    const start = node.start!;
    const end = node.end!;
    if (node.type === "ImportDeclaration") {
      if (node.importKind === "type") {
        edits.push({ start, end, text: "" });
        continue;
      }
      const spec = node.source.value;
      specifiers.push(spec);
      const parts: string[] = [];
      let namespace: string | undefined;
      let def: string | undefined;
      for (const s of node.specifiers) {
        if (s.type === "ImportNamespaceSpecifier") namespace = s.local.name;
        else if (s.type === "ImportDefaultSpecifier") def = s.local.name;
        else if (s.importKind !== "type") parts.push(`${JSON.stringify(importedName(s))}: ${s.local.name}`);
      }
      const src = `__import(${JSON.stringify(spec)})`;
      const lines: string[] = [];
      if (namespace) lines.push(`const ${namespace} = ${src};`);
      if (def) lines.push(`const ${def} = ${src}.default;`);
      if (parts.length > 0) lines.push(`const { ${parts.join(", ")} } = ${src};`);
      edits.push({ start, end, text: lines.join(" ") });
    } else if (node.type === "ExportNamedDeclaration") {
      if (node.source) throw new Error("module: re-exports are not supported");
      if (node.declaration) {
        const decl = node.declaration;
        edits.push({ start, end: decl.start!, text: "" });
        if (decl.type === "VariableDeclaration") {
          const names: string[] = [];
          for (const d of decl.declarations) bindingNames(d.id, names);
          for (const name of names) exports.push([name, name]);
        } else if ((decl.type === "FunctionDeclaration" || decl.type === "ClassDeclaration") && decl.id) {
          exports.push([decl.id.name, decl.id.name]);
        }
      } else {
        edits.push({ start, end, text: "" });
        for (const s of node.specifiers) {
          if (s.type !== "ExportSpecifier") throw new Error(`module: unsupported ${s.type}`);
          const exported = s.exported.type === "Identifier" ? s.exported.name : s.exported.value;
          exports.push([exported, s.local.name]);
        }
      }
    } else if (node.type === "ExportDefaultDeclaration") {
      const decl = node.declaration;
      if ((decl.type === "FunctionDeclaration" || decl.type === "ClassDeclaration") && decl.id) {
        edits.push({ start, end: decl.start!, text: "" });
        exports.push(["default", decl.id.name]);
      } else {
        edits.push({ start, end: decl.start!, text: "const __default = " });
        exports.push(["default", "__default"]);
      }
    } else if (node.type === "ExportAllDeclaration") {
      throw new Error("module: export * is not supported");
    }
  }

  let body = code;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    body = body.slice(0, edit.start) + edit.text + body.slice(edit.end);
  }
  const returned = exports.map(([exported, local]) => `${JSON.stringify(exported)}: ${local}`).join(", ");
  return { body: `"use strict";\n${body}\n;return { ${returned} };`, specifiers };
}

/**
 * Runs a converted module. `globals` become parameters (names visible to the module as free
 * variables); `imports` maps each specifier to its namespace object.
 */
export function runModule(
  converted: ConvertedModule,
  imports: Record<string, unknown>,
  globals: Record<string, unknown> = {},
): Record<string, unknown> {
  const names = Object.keys(globals);
  const lookup = (spec: string) => {
    if (!(spec in imports)) throw new Error(`module: no namespace for import ${JSON.stringify(spec)}`);
    return imports[spec];
  };
  const fn = new Function(...names, "__import", converted.body) as (
    ...args: unknown[]
  ) => Record<string, unknown>;
  return fn(...names.map((n) => globals[n]), lookup);
}
