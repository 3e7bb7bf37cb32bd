/**
 * Template literals and tagged templates with awaits in the substitutions (evaluated left to
 * right, the tag first), and durable waits inside them.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

function part(v: string): Promise<string> {
  log(`part ${v}`);
  return Promise.resolve(v);
}

function tag(strings: TemplateStringsArray, ...values: unknown[]): string {
  log(`tag called with ${values.length} values`);
  return strings.raw.map((s, i) => `${s}${i < values.length ? `[${String(values[i])}]` : ""}`).join("");
}

export const templates = dasync(async function templates(n: number) {
  const plain = `a${await part("x")}b${n}c${await part("y")}`;
  const tagged = tag`1${await part("p")}\n2${(await DTask.delay(1)) ?? n}3`;
  const nested = `<${`${await part("inner")}`.toUpperCase()}>`;
  return [plain, tagged, nested];
});

export const cases: CorpusCase[] = [
  {
    name: "substitutions in order, tag after its substitutions, durable wait inside",
    run: () => templates(7),
    expect: {
      value: ["axb7cy", "1[p]\\n2[7]3", "<INNER>"],
      log: ["part x", "part y", "part p", "tag called with 2 values", "part inner"],
    },
    suspensions: 1,
  },
];
