/**
 * Evaluation order of expressions with awaits: operands, call arguments, method calls (the
 * method is looked up once, before the arguments), `new`, member access, compound assignment (the
 * old value is read before the await), spread, object and array literals with computed keys,
 * sequence and conditional expressions — every step logged. The instance of a registered class is
 * live across the durable wait.
 */
import { DTask, dasync, registerClass } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

function v<T>(label: string, value: T): T {
  log(label);
  return value;
}

function later<T>(label: string, value: T): Promise<T> {
  log(`${label} (awaited)`);
  return Promise.resolve(value);
}

class Pair {
  constructor(
    public x: number,
    public y: number,
  ) {
    log(`new Pair(${x}, ${y})`);
  }
}
registerClass(Pair);

export const order = dasync(async function order() {
  const o = { n: 1, list: [1, 2], get g() { log("get g"); return 5; } };
  const sum = v("left", 1) + (await later("right", 2)) * v("third", 3);
  const called = Math.max(v("arg0", 1), await later("arg1", 2), v("arg2", 3));
  const made = new Pair(v("x", 1), await later("y", 2));
  o.n += await later("compound", 10); // reads o.n before the await
  const member = v("obj", o).list[await later("index", 1)];
  const spread = [...o.list, await later("spread", 3), ...[v("tail", 4)]];
  const literal = { [v("key1", "a")]: await later("val1", 1), [await later("key2", "b")]: v("val2", 2), g: o.g };
  const seq = (v("seq1", 1), await DTask.fromResult(2), v("seq2", 3));
  const cond = (await later("test", 0)) ? v("then", 1) : v("else", 2);
  const n = o.n; // o (with its getter) is dead at the durable wait
  await DTask.delay(1);
  return { sum, called, made, n, member, spread, literal, seq, cond };
});

export const cases: CorpusCase[] = [
  {
    name: "left to right, with logged side effects",
    run: () => order(),
    expect: {
      value: {
        sum: 7,
        called: 3,
        made: new (class Pair {
          constructor(
            public x: number,
            public y: number,
          ) {}
        })(1, 2),
        n: 11,
        member: 2,
        spread: [1, 2, 3, 4],
        literal: { a: 1, b: 2, g: 5 },
        seq: 3,
        cond: 2,
      },
      log: [
        "left",
        "right (awaited)",
        "third",
        "arg0",
        "arg1 (awaited)",
        "arg2",
        "x",
        "y (awaited)",
        "new Pair(1, 2)",
        "compound (awaited)",
        "obj",
        "index (awaited)",
        "spread (awaited)",
        "tail",
        "key1",
        "val1 (awaited)",
        "key2 (awaited)",
        "val2",
        "get g",
        "seq1",
        "seq2",
        "test (awaited)",
        "else",
      ],
    },
    suspensions: 1,
  },
];
