/**
 * Function identity: ids (`<module path relative to the package root, without extension>#<name>`,
 * methods `#Class.method`, pinned ids as written), versions (stable under comments and
 * formatting, changed by any change of the function's code), and stable suspension points (the
 * same states and live sets when only formatting changes; locations that follow the code).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type FunctionManifest, transform } from "../../src/compiler/index.js";
import { REPO } from "./fixtures/support.js";

const HEADER = 'import { dasync, DTask } from "dtasks";\n';

/** `root: null` leaves the root to the compiler (the nearest package.json). */
function manifestOf(
  code: string,
  filename = "src/flows/orders.ts",
  root: string | null = REPO,
): FunctionManifest[] {
  return transform(code, { filename, root: root ?? undefined, sourceMaps: false }).manifest.functions;
}

function only(code: string, filename?: string): FunctionManifest {
  const functions = manifestOf(code, filename);
  assert.equal(functions.length, 1);
  return functions[0]!;
}

describe("function ids", () => {
  it("are the module path relative to the package root, without extension, # the name", () => {
    for (const ext of ["ts", "mts", "cts", "tsx", "js", "mjs", "jsx"]) {
      const fn = only(
        `${HEADER}export const checkout = dasync(async function checkout() {});`,
        `src/flows/orders.${ext}`,
      );
      assert.equal(fn.id, "src/flows/orders#checkout", ext);
    }
  });

  it("are relative to the nearest package.json when no root is given", () => {
    const dir = mkdtempSync(join(tmpdir(), "dtasks-identity-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "package.json"), "{}");
    mkdirSync(join(dir, "packages/lib"), { recursive: true });
    writeFileSync(join(dir, "packages/lib/package.json"), "{}");
    const code = `${HEADER}export const run = dasync(async function run() {});`;
    assert.equal(manifestOf(code, join(dir, "src/jobs/run.ts"), null)[0]!.id, "src/jobs/run#run");
    assert.equal(manifestOf(code, join(dir, "packages/lib/src/index.ts"), null)[0]!.id, "src/index#run");
  });

  it("take the name from the function, else from where it is assigned", () => {
    const functions = manifestOf(`${HEADER}
export const byVariable = dasync(async () => {});
export const fnName = dasync(async function ownName() {});
export const registry: Record<string, unknown> = {};
registry.byMember = dasync(async () => {});
export const table = { byProperty: dasync(async () => {}) };
export let reassigned: unknown;
reassigned = dasync(async () => {});
export class Holder {
  static byClassField = dasync(async () => {});
}
`);
    assert.deepEqual(
      functions.map((f) => f.id.split("#")[1]),
      ["byVariable", "ownName", "byMember", "byProperty", "reassigned", "byClassField"],
    );
  });

  it("keep pinned ids exactly as written", () => {
    const functions = manifestOf(`${HEADER}
export const a = dasync("orders.checkout", async function a() {});
export const b = dasync("pkg@1.2.0/sub#b", async () => {});
`);
    assert.deepEqual(
      functions.map((f) => [f.id, f.name]),
      [
        ["orders.checkout", "a"],
        ["pkg@1.2.0/sub#b", "b"],
      ],
    );
  });

  it("name @dasync methods #Class.method", () => {
    const functions = manifestOf(`${HEADER}
export class Orders {
  @dasync
  async place(id: string) {
    await DTask.delay(1);
    return id;
  }
  @dasync
  static async audit() {}
}
`);
    assert.deepEqual(
      functions.map((f) => [f.id, f.name]),
      [
        ["src/flows/orders#Orders.place", "Orders.place"],
        ["src/flows/orders#Orders.audit", "Orders.audit"],
      ],
    );
  });
});

describe("function versions", () => {
  const original = `${HEADER}
export const ship = dasync(async function ship(order: { id: string; items: string[] }) {
  const label = "box";
  let count = 0;
  for (const item of order.items) {
    count += await Promise.resolve(item.length);
  }
  await DTask.delay("1h");
  return { id: order.id, label, count };
});
`;
  const versionOf = (code: string) => only(code).version;

  it("do not change with comments, whitespace, line breaks, semicolons or quotes", () => {
    const reformatted = `${HEADER}
// Ships an order.
export const ship = dasync(
  async function ship(order: { id: string; items: string[] }) {
    /* the label */ const label = 'box'
    let count = 0
    for (const item of order.items)
    {
      count += await Promise.resolve(item.length) // per item
    }

    await DTask.delay('1h')
    return {
      id: order.id,
      label,
      count,
    }
  },
)
`;
    const base = versionOf(original);
    assert.equal(versionOf(original.replace(/\n/g, "\n\n")), base, "blank lines");
    assert.equal(
      versionOf(original.replace("  const label", "  // a comment\n  const label")),
      base,
      "a comment",
    );
    assert.equal(versionOf(original.replace(/^ {2}/gm, "\t")), base, "indentation");
    assert.equal(versionOf(reformatted.replace(/'/g, '"')), base, "formatting");
    assert.equal(versionOf(reformatted), base, "formatting with single quotes");
  });

  it("do not depend on where the function is or what else the module holds", () => {
    const base = versionOf(original);
    const moved = `${HEADER}
const unrelated = 1;
export const other = dasync(async function other() { return unrelated; });
${original.slice(HEADER.length)}`;
    const functions = manifestOf(moved);
    assert.equal(functions[1]!.version, base);
    assert.equal(
      only(original, "elsewhere/file.ts").version,
      base,
      "the module path is in the id, not the version",
    );
  });

  it("change with any change of the function's code", () => {
    const base = versionOf(original);
    const edits: [string, string][] = [
      ['const label = "box"', 'const label = "crate"'],
      ["count += await", "count -= await"],
      ['await DTask.delay("1h");', 'await DTask.delay("1h");\n  await DTask.yield();'],
      ["function ship(order", "function ship(extra: number, order"],
      ["return { id: order.id, label, count }", "return { id: order.id, count, label }"],
    ];
    const versions = new Set([base]);
    for (const [from, to] of edits) {
      const edited = original.replace(from, to);
      assert.notEqual(edited, original, `edit ${from} applies`);
      const version = versionOf(edited);
      assert.notEqual(version, base, `${from} → ${to}`);
      versions.add(version);
    }
    assert.equal(versions.size, edits.length + 1, "every edit gives its own version");
  });

  it("are short hex digests", () => {
    assert.match(versionOf(original), /^[0-9a-f]{12}$/);
  });
});

describe("suspension points", () => {
  const code = `${HEADER}
export const flow = dasync(async function flow(n: number) {
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += await Promise.resolve(i);
  }
  try {
    await DTask.delay(10);
  } catch (e) {
    total = -1;
  }
  return total;
});
`;

  it("point at each await in the original source, with its text", () => {
    const fn = only(code);
    assert.deepEqual(
      fn.suspensionPoints.map((p) => [p.loc, p.src]),
      [
        ["src/flows/orders.ts:6:14", "await Promise.resolve(i)"],
        ["src/flows/orders.ts:9:5", "await DTask.delay(10)"],
      ],
    );
  });

  it("keep their states and live sets when only comments or formatting change; locations follow the code", () => {
    const before = only(code);
    const after = only(
      code
        .replace("export const flow", "// moved down\n\n/** docs */\nexport const flow")
        .replace(/^ {4}/gm, "      "),
    );
    assert.deepEqual(
      after.suspensionPoints.map(({ state, live, src }) => ({ state, live, src })),
      before.suspensionPoints.map(({ state, live, src }) => ({ state, live, src })),
    );
    assert.deepEqual(
      after.suspensionPoints.map((p) => p.loc),
      ["src/flows/orders.ts:9:16", "src/flows/orders.ts:12:7"],
    );
  });

  it("are in source order with distinct resume states", () => {
    const states = only(code).suspensionPoints.map((p) => p.state);
    assert.deepEqual(
      states,
      [...states].sort((a, b) => a - b),
    );
    assert.equal(new Set(states).size, states.length);
  });
});
