/**
 * `@dasync` methods: `this` is part of the frame and is stored with it (the class is registered),
 * a method calls a method of another instance, and instances shared between a caller's locals and
 * a callee's `this` stay one object across snapshots (the whole stack is one document).
 */
import { DTask, dasync, registerClass } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

export class Account {
  history: string[] = [];
  constructor(
    public owner: string,
    public balance: number,
  ) {}

  @dasync
  async deposit(amount: number): Promise<number> {
    await DTask.delay(1);
    this.balance += amount;
    this.history.push(`+${amount}`);
    log(`${this.owner} has ${this.balance}`);
    return this.balance;
  }

  @dasync
  async transferTo(other: Account, amount: number): Promise<number> {
    this.balance -= amount;
    this.history.push(`-${amount}`);
    await DTask.yield();
    return await other.deposit(amount);
  }
}
registerClass(Account);

export const bank = dasync(async function bank() {
  const a = new Account("a", 10);
  const b = new Account("b", 0);
  const both = [a, b];
  const received = await a.transferTo(b, 4);
  await DTask.delay(1);
  await b.deposit(1);
  return { received, a: a.balance, b: b.balance, history: [a.history, b.history], same: both[1] === b };
});

export const cases: CorpusCase[] = [
  {
    name: "methods with this, across durable waits and frames",
    run: () => bank(),
    expect: {
      value: { received: 4, a: 6, b: 5, history: [["-4"], ["+4", "+1"]], same: true },
      log: ["b has 4", "b has 5"],
    },
    suspensions: 4,
    fresh: 2, // bank → transferTo → deposit: three frames, two with `this`
  },
  {
    name: "a method started on its own",
    run: () => new Account("solo", 1).deposit(2),
    expect: { value: 3, log: ["solo has 3"] },
    suspensions: 1,
    fresh: true,
  },
];
