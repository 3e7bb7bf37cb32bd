/**
 * Operations that wait for a connection travel together. The first operation opens a batch and
 * asks for a connection; operations that come while it waits join the batch; once the connection
 * is there, the batch closes and goes out as one statement, and each operation gets its own
 * answer. Unloaded, an operation goes out at once, alone. Under load, when every connection of the
 * pool is busy, a thousand `flow.result()` reads, or a thousand `host.start` creations, waiting at
 * once cost a few statements instead of a thousand round trips, each of which would have waited
 * its turn anyway (and a thousand creations, a few WAL flushes instead of a thousand).
 *
 * Every operation of a batch sees the database at the same instant (one statement), which is what
 * any one of them would have seen had it been sent at that moment. Operations are keyed: a read of
 * a key already in the open batch shares its answer (`share`); a write of a key already in it
 * waits for that batch to settle and goes in a later one, so that the database, not the batcher,
 * says which of two writes of one key wins.
 *
 * @module
 */

interface Pending<I, O> {
  input: I;
  resolve: (value: O | undefined) => void;
  reject: (error: unknown) => void;
}

interface Batch<K, I, O> {
  items: Map<K, Pending<I, O>[]>;
  /** The sum of the items' weights (see `weigh`). */
  weight: number;
  settled: Promise<void>;
}

export interface BatcherOptions<I> {
  /** Operations of one key in a batch share one answer (reads); otherwise the second waits (writes). */
  share: boolean;
  /** A batch that reaches this many keys closes at once; the next operation opens another. */
  maxItems: number;
  /**
   * With `weigh`: a batch whose items weigh this much in all closes at once (a statement of a few
   * megabytes, not of 500 large snapshots). An item heavier than that goes alone.
   */
  maxWeight?: number;
  weigh?: (input: I) => number;
}

/** Sends one batch on the connection it waited for: its answers by key (missing key: `undefined`). */
export type SendBatch<K, I, O> = (items: Map<K, I>) => Promise<Map<K, O>>;

export class Batcher<K, I, O> {
  #open: Batch<K, I, O> | null = null;

  /**
   * @param turn resolves once a connection is free for the batch, with the function that sends it
   *   on that connection (and gives the connection back).
   */
  constructor(
    private readonly turn: () => Promise<SendBatch<K, I, O>>,
    private readonly options: BatcherOptions<I>,
  ) {}

  submit(key: K, input: I): Promise<O | undefined> {
    const open = this.#open;
    if (!this.options.share && open?.items.has(key)) {
      return open.settled.then(() => this.submit(key, input));
    }
    const { maxItems, maxWeight = Number.POSITIVE_INFINITY, weigh } = this.options;
    const weight = weigh?.(input) ?? 0;
    return new Promise((resolve, reject) => {
      let batch = this.#open;
      // Too heavy to join: this one goes in a batch of its own (or the next one).
      if (batch !== null && !batch.items.has(key) && batch.weight + weight > maxWeight) {
        this.#open = null;
        batch = null;
      }
      if (batch === null) {
        let settle!: () => void;
        batch = { items: new Map(), weight: 0, settled: new Promise((resolve) => (settle = resolve)) };
        this.#open = batch;
        void this.#run(batch).finally(settle);
      }
      const pending = batch.items.get(key);
      if (pending === undefined) {
        batch.items.set(key, [{ input, resolve, reject }]);
        batch.weight += weight;
      } else pending.push({ input, resolve, reject });
      if ((batch.items.size >= maxItems || batch.weight >= maxWeight) && this.#open === batch)
        this.#open = null;
    });
  }

  async #run(batch: Batch<K, I, O>): Promise<void> {
    let answers: Map<K, O>;
    try {
      const send = await this.turn();
      if (this.#open === batch) this.#open = null;
      const inputs = new Map<K, I>();
      for (const [key, pending] of batch.items) inputs.set(key, pending[0]!.input);
      answers = await send(inputs);
    } catch (error) {
      if (this.#open === batch) this.#open = null;
      for (const pending of batch.items.values()) for (const p of pending) p.reject(error);
      return;
    }
    for (const [key, pending] of batch.items) {
      const answer = answers.get(key);
      for (const p of pending) p.resolve(answer);
    }
  }
}
