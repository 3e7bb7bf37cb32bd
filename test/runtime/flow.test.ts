import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DCancellationTokenSource, DTask, DTaskCanceledError, type DTaskError, dasync } from "dtasks";
import { runFlow } from "../../src/runtime/flow.js";
import { driveFlow } from "./drive.js";

const log: string[] = [];

const work = dasync(async function work(name: string, ms: number) {
  await DTask.delay(ms);
  log.push(`done ${name}`);
  return name.toUpperCase();
});

const failAfter = dasync(async function failAfter(message: string, ms: number) {
  await DTask.delay(ms);
  throw new RangeError(message);
});

const quick = dasync(async function quick(n: number) {
  return n + 1;
});

describe("combinators", () => {
  const all = dasync(async function all() {
    const [a, b, c] = await DTask.whenAll([work("a", 30), work("b", 10), quick(1)]);
    return { a, b, c };
  });
  test("whenAll: results in input order, branches run concurrently", async () => {
    log.length = 0;
    const out = await driveFlow(all());
    assert.equal(out.status, "succeeded");
    assert.deepEqual(out.value, { a: "A", b: "B", c: 2 });
    assert.deepEqual(log, ["done b", "done a"]);
  });

  const allFails = dasync(async function allFails() {
    try {
      await DTask.whenAll([work("slow", 50), failAfter("second", 20), failAfter("first", 30)]);
      return "no";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message} after ${log.join(",")}`;
    }
  });
  test("whenAll waits for every task, then rejects with the first failure in input order", async () => {
    log.length = 0;
    const out = await driveFlow(allFails());
    assert.equal(out.value, "RangeError: second after done slow");
  });

  const settled = dasync(async function settled() {
    return await DTask.whenAllSettled([work("ok", 5), failAfter("bad", 5)]);
  });
  test("whenAllSettled", async () => {
    const out = await driveFlow(settled());
    const [ok, bad] = out.value as PromiseSettledResult<unknown>[];
    assert.deepEqual(ok, { status: "fulfilled", value: "OK" });
    assert.equal(bad!.status, "rejected");
    assert.ok((bad as PromiseRejectedResult).reason instanceof RangeError);
  });

  const race = dasync(async function race(ms: number) {
    const job = work("job", ms);
    const timeout = DTask.delay("1h");
    const winner = await DTask.whenAny([job, timeout]);
    if (winner === timeout) return "timeout";
    return `${job.status}:${job.result}`;
  });
  test("whenAny returns the winning DTask itself; identity survives snapshots", async () => {
    assert.equal((await driveFlow(race(10))).value, "succeeded:JOB");
    assert.equal((await driveFlow(race(7_200_000))).value, "timeout");
  });

  const background = dasync(async function background() {
    const bg = work("bg", 40);
    const task = await DTask.run(bg);
    log.push(`started ${bg.status} ${(task as unknown) === bg}`);
    await DTask.delay(10);
    log.push("main slept");
    return await task;
  });
  test("DTask.run starts a task in the background, awaitable later", async () => {
    log.length = 0;
    const out = await driveFlow(background());
    assert.equal(out.value, "BG");
    assert.deepEqual(log, ["started suspended true", "main slept", "done bg"]);
  });

  const inProcess = dasync(async function inProcess() {
    return await DTask.whenAll([quick(1), quick(2), DTask.fromResult(7)]);
  });
  test("branches that finish without suspending never touch storage", async () => {
    const out = await driveFlow(inProcess());
    assert.equal(out.runs, 1);
    assert.deepEqual(out.snapshots, []);
    assert.deepEqual(out.value, [2, 3, 7]);
  });

  test("combinators reject bad input with DT206", () => {
    assert.throws(() => DTask.whenAll([Promise.resolve(1) as never]), { code: "DT206" });
    assert.throws(() => DTask.whenAny([]), { code: "DT206" });
  });
});

describe("callbacks", () => {
  const approval = dasync(async function approval() {
    const steps: string[] = [];
    try {
      const ok = await DTask.callback<boolean>((id) => {
        steps.push(`asked ${id.slice(0, 3)}`);
      });
      steps.push(`answer ${ok}`);
      return steps;
    } finally {
      log.push("finally ran");
    }
  });
  test("the callback runs after the state is stored; resume completes the await", async () => {
    log.length = 0;
    const out = await driveFlow(approval(), { answer: () => true });
    assert.equal(out.callbacks.length, 1);
    assert.match(out.callbacks[0]!, /^cb_[A-Za-z0-9_-]{22}$/, "≥128 random bits, URL-safe");
    // `steps` was captured before the snapshot; the callback pushed into the live array afterwards.
    assert.deepEqual(out.value, ["answer true"]);
    assert.deepEqual(log, ["finally ran"]);
  });

  test("fail rejects at the await, with the error's name, message and own properties", async () => {
    log.length = 0;
    const error = Object.assign(new TypeError("rejected by bob"), { code: "E_REJECT" });
    const out = await driveFlow(approval(), { answer: () => ({ fail: error }) });
    assert.equal(out.status, "faulted");
    assert.ok(out.error instanceof TypeError);
    assert.equal((out.error as Error).message, "rejected by bob");
    assert.equal((out.error as { code?: string }).code, "E_REJECT");
    assert.deepEqual(log, ["finally ran"]);
  });
});

describe("exceptions across suspension", () => {
  class PaymentError extends Error {
    constructor(
      message: string,
      readonly amount: number,
      options?: { cause?: unknown },
    ) {
      super(message, options);
      this.name = "PaymentError";
    }
  }
  const charge = dasync(async function charge(amount: number) {
    await DTask.delay(5);
    throw new PaymentError("card declined", amount, { cause: new Error("insufficient funds") });
  });
  const order = dasync(async function order() {
    const trail: string[] = [];
    try {
      trail.push("charging");
      await charge(42);
    } catch (error) {
      await DTask.yield();
      const e = error as PaymentError;
      trail.push(
        `${e.name}/${e.message}/${e.amount}/${(e.cause as Error).message}/${e.stack?.includes("card declined")}`,
      );
    } finally {
      await DTask.delay(1);
      trail.push("cleanup");
    }
    return trail;
  });
  test("errors keep name, message, stack, cause and own properties through snapshots", async () => {
    const out = await driveFlow(order());
    assert.deepEqual(out.value, [
      "charging",
      "PaymentError/card declined/42/insufficient funds/true",
      "cleanup",
    ]);
  });
});

describe("cancellation", () => {
  const cancellable = dasync(async function cancellable() {
    const source = await DCancellationTokenSource.create();
    const sleeper = sleepy(source.token);
    const canceller = cancelSoon(source);
    const results = await DTask.whenAllSettled([sleeper, canceller]);
    return results.map((r) => (r.status === "fulfilled" ? r.value : `${(r.reason as Error).name}`));
  });
  const sleepy = dasync(async function sleepy(token: DCancellationTokenSource["token"]) {
    try {
      await DTask.delay("7d", token);
      return "slept";
    } finally {
      log.push(`finally, requested=${token.isCancellationRequested}, aborted=${token.signal.aborted}`);
    }
  });
  const cancelSoon = dasync(async function cancelSoon(source: DCancellationTokenSource) {
    await DTask.delay("1m");
    await source.cancel();
    return "cancelled";
  });
  test("a canceled source rejects durable waits with DTaskCanceledError at the await; finally runs", async () => {
    log.length = 0;
    const out = await driveFlow(cancellable());
    assert.deepEqual(out.value, ["DTaskCanceledError", "cancelled"]);
    assert.deepEqual(log, ["finally, requested=true, aborted=true"]);
  });

  const timed = dasync(async function timed() {
    const source = await DCancellationTokenSource.create({ cancelAfter: "10s" });
    try {
      await DTask.delay("1d", source.token);
      return "slept";
    } catch (error) {
      return error instanceof DTaskCanceledError ? "canceled after 10s" : String(error);
    }
  });
  test("cancelAfter cancels durably, by a timer", async () => {
    const out = await driveFlow(timed());
    assert.equal(out.value, "canceled after 10s");
  });

  const victim = dasync(async function victim() {
    try {
      await DTask.callback(() => {});
      return "resumed";
    } finally {
      log.push("victim finally");
    }
  });
  test("a cancel request cancels the flow's waits: DTaskCanceledError at the await, finally runs", async () => {
    log.length = 0;
    const out = await driveFlow(victim(), {
      inject: (run) => (run === 2 ? [{ id: "c1", kind: "cancel", waitId: null, payload: null, at: 0 }] : []),
    });
    assert.equal(out.status, "canceled");
    assert.ok(out.error instanceof DTaskCanceledError);
    assert.deepEqual(log, ["victim finally"]);
  });

  const leaves = dasync(async function leaves() {
    await DTask.run(lingering());
    await DTask.delay(5);
    return "root done";
  });
  const lingering = dasync(async function lingering() {
    try {
      await DTask.delay("30d");
    } finally {
      log.push("lingering finally");
    }
  });
  test("when the root finishes, pending tasks are canceled and their finally blocks run", async () => {
    log.length = 0;
    const out = await driveFlow(leaves());
    assert.equal(out.value, "root done");
    assert.deepEqual(log, ["lingering finally"]);
  });
});

describe("timers", () => {
  /** A clock the flow's own code moves forward, standing for a run that takes a while. */
  let time = 0;
  const slowThenSleep = dasync(async function slowThenSleep() {
    time += 400; // 400 ms of work before the delay is awaited
    await DTask.delay(1_000);
    return "woke";
  });
  test("a delay counts from its await, not from the start of the run", async () => {
    time = 5_000;
    const first = await runFlow({
      flowId: "t",
      start: slowThenSleep(),
      events: [],
      now: time,
      clock: () => time,
    });
    const timers = first.addWaits.filter((w) => w.kind === "timer");
    assert.deepEqual(
      timers.map((w) => w.dueAt),
      [5_000 + 400 + 1_000],
    );
  });
  test("without a clock, the run's start time is used", async () => {
    time = 5_000;
    const first = await runFlow({ flowId: "t", start: slowThenSleep(), events: [], now: time });
    assert.deepEqual(
      first.addWaits.filter((w) => w.kind === "timer").map((w) => w.dueAt),
      [5_000 + 1_000],
    );
  });
  test("a clock that reads earlier than the run's start never moves a timer before it", async () => {
    const first = await runFlow({
      flowId: "t",
      start: slowThenSleep(),
      events: [],
      now: 9_000,
      clock: () => 0,
    });
    assert.deepEqual(
      first.addWaits.filter((w) => w.kind === "timer").map((w) => w.dueAt),
      [10_000],
    );
  });
});

describe("storage", () => {
  const looping = dasync(async function looping(n: number) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      await DTask.yield();
      sum += i;
    }
    return sum;
  });
  test("the snapshot does not grow with history", async () => {
    const out = await driveFlow(looping(200));
    assert.equal(out.value, 19900);
    // Only the digits of the counters grow (task ids, the sum): logarithmically, not with history.
    const [first, last] = [out.snapshots[10]!, out.snapshots.at(-1)!];
    assert.ok(last - first <= 10, `snapshot grew from ${first} to ${last} bytes`);
  });

  test("MessagePack snapshots", async () => {
    const out = await driveFlow(looping(5), { format: "msgpack" });
    assert.equal(out.value, 10);
  });

  const leaky = dasync(async function leaky() {
    const onData = () => "a closure";
    const server = new (class Server {})();
    try {
      await DTask.delay(10);
    } catch (error) {
      return {
        caught: (error as DTaskError).code,
        message: (error as Error).message,
        again: [onData(), typeof server],
      };
    }
    return "stored";
  });
  test("an unstorable live local rejects the durable await with DT301 naming variable, declaration and await", async () => {
    const out = await driveFlow(leaky());
    const value = out.value as { caught: string; message: string; again: string[] };
    assert.equal(value.caught, "DT301");
    assert.match(value.message, /local 'onData' \(declared at test\/runtime\/flow\.test\.ts:\d+:\d+\)/);
    assert.match(value.message, /local 'server' \(declared at test\/runtime\/flow\.test\.ts:\d+:\d+\)/);
    assert.match(
      value.message,
      /suspended at test\/runtime\/flow\.test\.ts:\d+:\d+ \(await DTask\.delay\(10\)\)/,
    );
    assert.deepEqual(value.again, ["a closure", "object"], "the run goes on in memory");
  });

  test("a snapshot of changed code fails with DT208 and names both versions", async () => {
    const first = await runFlow({ flowId: "v", start: looping(3), events: [], now: 0 });
    const tampered = String(first.snapshot).replace(/"v":"([0-9a-f]{12})"/, '"v":"000000000000"');
    await assert.rejects(
      runFlow({ flowId: "v", snapshot: tampered, events: [], now: 1 }),
      (error: DTaskError) => {
        assert.equal(error.code, "DT208");
        assert.match(
          error.message,
          /'test\/runtime\/flow\.test#looping' changed since the snapshot was taken \(snapshot version 000000000000, code version [0-9a-f]{12}\)/,
        );
        return true;
      },
    );
  });

  test("a corrupt snapshot fails with DT302", async () => {
    await assert.rejects(runFlow({ flowId: "x", snapshot: "DT1 json\n{not json", events: [], now: 0 }), {
      code: "DT302",
    });
  });
});

describe("outside d-async code", () => {
  test("awaiting a DTask from plain code is DT202, which says what to do instead", async () => {
    await assert.rejects(
      async () => await quick(41),
      (error: DTaskError) => {
        assert.equal(error.code, "DT202");
        assert.match(
          error.message,
          /the d-async call 'test\/runtime\/flow\.test#quick' was awaited outside d-async code/,
        );
        assert.match(error.message, /host\.start\(\)/);
        return true;
      },
    );
    await assert.rejects(async () => await DTask.delay(1), { code: "DT202" });
    await assert.rejects(Promise.all([quick(1), quick(2)]), /DTask\.whenAll/);
  });
  test("result and error in the wrong status are DT204", () => {
    const pending = DTask.delay(5);
    assert.throws(() => pending.result, { code: "DT204" });
    assert.throws(() => DTask.fromResult(1).error, { code: "DT204" });
    assert.equal(DTask.fromError(new Error("x")).status, "faulted");
    assert.equal(DTask.fromCanceled().isCanceled, true);
  });
  test("durations: strings and milliseconds; bad ones are DT205", () => {
    assert.throws(() => DTask.delay("soon"), { code: "DT205" });
    assert.throws(() => DTask.delay(-1), { code: "DT205" });
    assert.equal((DTask.delay("1.5s") as unknown as { ms: number }).ms, 1500);
  });
});

describe("limits", () => {
  const endless = dasync(async function endless(n: number): Promise<number> {
    return await endless(n + 1);
  });
  const guarded = dasync(async function guarded() {
    try {
      return await endless(0);
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  });
  test("unbounded d-async recursion fails with a catchable RangeError, as native recursion does", async () => {
    const out = await driveFlow(guarded());
    assert.equal(out.value, "RangeError: Maximum d-async call depth exceeded (10000 frames)");
  });
});
