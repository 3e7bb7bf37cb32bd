/**
 * Operations that wait for a connection go out together (src/store/postgres/batch.ts): the batcher
 * alone, then `getFlow` and `createFlow` against the real server with every connection busy, where
 * a burst must cost a few statements and still give every caller its own answer: its flow, null
 * for an unknown id, DT406 for an id taken (also by a concurrent start of the same id).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { Batcher } from "../../src/store/postgres/batch.js";
import { postgresStore } from "../../src/store/postgres/index.js";
import { dropSchema, freshSchema, requireServer, TEST_URL } from "./postgres-helpers.test.js";

/** A turn that waits until `release()`, recording each batch it sent. */
function gatedTurn<I>() {
  const sent: Map<string, I>[] = [];
  let open!: () => void;
  let gate = new Promise<void>((resolve) => (open = resolve));
  const turn = async () => {
    await gate;
    return async (items: Map<string, I>) => {
      sent.push(items);
      return new Map(
        [...items].filter(([key]) => !key.startsWith("missing")).map(([key, v]) => [key, `${key}=${v}`]),
      );
    };
  };
  return {
    sent,
    turn,
    release() {
      open();
      gate = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

describe("Batcher", () => {
  it("operations that come while the first waits for its turn go out with it, each with its own answer", async () => {
    const g = gatedTurn<number>();
    const batcher = new Batcher<string, number, string>(g.turn, { share: true, maxItems: 100 });
    const answers = Promise.all([
      batcher.submit("a", 1),
      batcher.submit("b", 2),
      batcher.submit("missing", 3),
      batcher.submit("a", 1),
    ]);
    g.release();
    assert.deepEqual(await answers, ["a=1", "b=2", undefined, "a=1"]);
    assert.equal(g.sent.length, 1, "one batch");
    assert.deepEqual([...g.sent[0]!.keys()], ["a", "b", "missing"], "a shared key is sent once");
  });

  it("once a batch has its turn, the next operation opens another", async () => {
    const g = gatedTurn<number>();
    const batcher = new Batcher<string, number, string>(g.turn, { share: true, maxItems: 100 });
    const first = batcher.submit("a", 1);
    g.release();
    assert.equal(await first, "a=1");
    const second = batcher.submit("b", 2);
    g.release();
    assert.equal(await second, "b=2");
    assert.equal(g.sent.length, 2);
  });

  it("without sharing, a second write of a key waits for a later batch", async () => {
    const g = gatedTurn<number>();
    const batcher = new Batcher<string, number, string>(g.turn, { share: false, maxItems: 100 });
    const first = batcher.submit("a", 1);
    const again = batcher.submit("a", 2);
    const other = batcher.submit("b", 3);
    g.release();
    assert.deepEqual(await Promise.all([first, other]), ["a=1", "b=3"]);
    await new Promise((resolve) => setImmediate(resolve));
    g.release();
    assert.equal(await again, "a=2");
    assert.deepEqual(
      g.sent.map((batch) => [...batch]),
      [
        [
          ["a", 1],
          ["b", 3],
        ],
        [["a", 2]],
      ],
    );
  });

  it("a full batch closes at once; a failed batch fails each of its operations and the next works", async () => {
    let fail = true;
    const sizes: number[] = [];
    const batcher = new Batcher<string, number, number>(
      async () => async (items) => {
        sizes.push(items.size);
        if (fail) throw new Error("the server went away");
        return new Map([...items]);
      },
      { share: true, maxItems: 2 },
    );
    const results = await Promise.allSettled([1, 2, 3].map((n) => batcher.submit(`k${n}`, n)));
    assert.deepEqual(
      results.map((r) => r.status),
      ["rejected", "rejected", "rejected"],
    );
    assert.deepEqual(sizes, [2, 1]);
    fail = false;
    assert.equal(await batcher.submit("k1", 1), 1);
  });
});

describe("Batcher weights", () => {
  it("a batch closes once its items weigh maxWeight; an item heavier than that goes alone", async () => {
    const sent: string[][] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const batcher = new Batcher<string, number, number>(
      async () => {
        await gate;
        return async (items) => {
          sent.push([...items.keys()]);
          return new Map([...items]);
        };
      },
      { share: false, maxItems: 100, maxWeight: 10, weigh: (n) => n },
    );
    const answers = Promise.all([
      batcher.submit("a", 4),
      batcher.submit("b", 4),
      batcher.submit("c", 4), // 12 > 10: a new batch
      batcher.submit("huge", 50), // heavier than a batch: alone
      batcher.submit("d", 1),
    ]);
    open();
    assert.deepEqual(await answers, [4, 4, 4, 50, 1]);
    assert.deepEqual(sent, [["a", "b"], ["c"], ["huge"], ["d"]]);
  });
});

describe("postgresStore batches what waits for a connection", () => {
  before(requireServer);
  const schemas: string[] = [];
  after(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });

  /** A store of one connection, and the statements sent on its connections. */
  function store() {
    const schema = freshSchema("batch");
    schemas.push(schema);
    const statements: string[] = [];
    const pool = new pg.Pool({ connectionString: TEST_URL, max: 1 });
    pool.on("connect", (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const config = args[0] as string | { text?: string };
        statements.push(typeof config === "string" ? config : (config.text ?? ""));
        return query(...args);
      };
    });
    return { store: postgresStore({ pool, schema }), statements, pool };
  }
  const count = (statements: string[], pattern: RegExp) => statements.filter((s) => pattern.test(s)).length;

  it("200 starts at once: a few INSERT statements; each gets its flow, a taken id DT406, two starts of one id one winner", async () => {
    const { store: s, statements, pool } = store();
    await s.countRecords(); // the schema exists before the burst
    await s.createFlow({
      id: "taken",
      rootFunctionId: "f#x",
      snapshot: "s",
      owner: "w",
      leaseMs: 1000,
      now: 1,
    });
    statements.length = 0;
    const ids = Array.from({ length: 200 }, (_, i) => `flow-${i}`);
    const results = await Promise.allSettled([
      ...ids.map((id) =>
        s.createFlow({
          id,
          rootFunctionId: "f#x",
          snapshot: `snapshot of ${id}`,
          owner: "w",
          leaseMs: 1000,
          now: 2,
        }),
      ),
      s.createFlow({ id: "taken", rootFunctionId: "f#x", snapshot: "s", owner: "w", leaseMs: 1000, now: 2 }),
      s.createFlow({
        id: "twice",
        rootFunctionId: "f#x",
        snapshot: "one",
        owner: "w",
        leaseMs: 1000,
        now: 2,
      }),
      s.createFlow({
        id: "twice",
        rootFunctionId: "f#x",
        snapshot: "two",
        owner: "w",
        leaseMs: 1000,
        now: 2,
      }),
    ]);
    const inserts = count(statements, /INSERT INTO .*flows/s);
    assert.ok(inserts >= 1 && inserts <= 10, `200 starts in a few statements (${inserts})`);
    for (const [i, id] of ids.entries()) {
      const r = results[i]!;
      assert.equal(r.status, "fulfilled", id);
      assert.equal((r as PromiseFulfilledResult<{ id: string }>).value.id, id);
    }
    const taken = results[200]!;
    assert.equal(taken.status, "rejected");
    assert.equal((taken as PromiseRejectedResult).reason.code, "DT406");
    const twice = results.slice(201).map((r) => r.status);
    assert.deepEqual(twice.sort(), ["fulfilled", "rejected"], "one of the two starts of 'twice' won");
    const loser = results.slice(201).find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.equal(loser.reason.code, "DT406");

    const records = await Promise.all([...ids, "unknown"].map((id) => s.getFlow(id)));
    for (const [i, id] of ids.entries()) {
      assert.equal(records[i]?.id, id);
      assert.equal(records[i]?.snapshot, `snapshot of ${id}`);
      assert.notEqual(records[i]?.lease, null, "created leased");
    }
    assert.equal(records[200], null, "an unknown id reads as null");
    assert.equal((await s.countRecords()).flows, 202);
    await s.close();
    await pool.end();
  });

  it("200 reads at once: a few SELECT statements; each caller gets its own flow", async () => {
    const { store: s, statements, pool } = store();
    for (let i = 0; i < 20; i++) {
      await s.createFlow({
        id: `r${i}`,
        rootFunctionId: "f#x",
        snapshot: `s${i}`,
        owner: "w",
        leaseMs: 1000,
        now: 1,
      });
    }
    statements.length = 0;
    const ids = Array.from({ length: 200 }, (_, i) => `r${i % 25}`);
    const records = await Promise.all(ids.map((id) => s.getFlow(id)));
    for (const [i, id] of ids.entries()) {
      if (i % 25 < 20) assert.equal(records[i]?.snapshot, `s${i % 25}`, id);
      else assert.equal(records[i], null, id);
    }
    const selects = count(statements, /FROM .*flows f/s);
    assert.ok(selects >= 1 && selects <= 5, `200 reads in a few statements (${selects})`);
    await s.close();
    await pool.end();
  });
});
