// docs/errors.md and the error registry (src/core/errors.ts) describe the same codes: every code
// has an anchor and an entry, every anchor is a code, in registry order; and every code the
// sources raise is in the registry.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ERROR_CODES } from "../../src/core/errors.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const docs = readFileSync(join(ROOT, "docs/errors.md"), "utf8");
const registry = Object.keys(ERROR_CODES);

test("every registry code has exactly one anchor and entry in docs/errors.md, and nothing else does", () => {
  const anchors = [...docs.matchAll(/<a id="(DT\d{3})"><\/a>(DT\d{3}) — /g)];
  for (const [, id, title] of anchors)
    assert.equal(id, title, `the anchor ${id} heads the entry of ${title}`);
  const documented = anchors.map((m) => m[1]!);
  assert.deepEqual(
    registry.filter((code) => !documented.includes(code)),
    [],
    "codes in src/core/errors.ts without an entry in docs/errors.md",
  );
  assert.deepEqual(
    documented.filter((code) => !registry.includes(code)),
    [],
    "entries in docs/errors.md that are not codes of src/core/errors.ts",
  );
  assert.equal(new Set(documented).size, documented.length, "one entry per code");
  assert.deepEqual(documented, registry, "entries in registry order");
});

test("links to codes inside docs/errors.md point at existing anchors", () => {
  for (const [, code] of docs.matchAll(/\]\(#(DT\d{3})\)/g)) assert.ok(registry.includes(code!), `#${code}`);
});

test("every DTxxx code raised in src/ is in the registry", () => {
  const raised = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ts$/.test(entry)) {
        for (const [, code] of readFileSync(path, "utf8").matchAll(/["'`](DT\d{3})["'`]/g)) raised.add(code!);
      }
    }
  };
  walk(join(ROOT, "src"));
  assert.deepEqual([...raised].filter((code) => !registry.includes(code)).sort(), []);
});
