/**
 * {@link RedisStore}: the `Store` contract on one Redis server. Every operation that changes more
 * than one key is one Lua script (`scripts/*.lua`), which Redis runs atomically: a script checks
 * everything (fencing included) before its first write, so "DT401, nothing written" needs no
 * rollback, and concurrent claimers in any number of processes are serialized by the server.
 * Reads of one key are plain commands.
 *
 * Connection loss: every operation in flight when the command connection closes fails at once
 * with DT402 (its outcome is unknown: the script may or may not have run), and operations sent
 * while ioredis reconnects fail at the next failed attempt instead of queueing for minutes. Nothing
 * is resent behind the caller's back (a resent claim would lease flows nobody runs).
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import { DTaskError } from "../../core/errors.js";
import type {
  CallbackRecord,
  CancelInput,
  CancelResult,
  ClaimedFlow,
  ClaimInput,
  CommitInput,
  CommitResult,
  CreatedFlow,
  CreateFlowInput,
  DeliverInput,
  DeliverResult,
  FlowPage,
  FlowRecord,
  FlowStatus,
  Lease,
  LeaseRef,
  ListFlowsQuery,
  MessageListener,
  RecordCounts,
  Store,
  SweepInput,
  SweepResult,
  Unsubscribe,
} from "../../core/store.js";
import { LocalBus } from "../shared/bus.js";
import { decodeCursor, encodeCursor } from "../shared/cursor.js";
import {
  alreadyDelivered,
  flowGone,
  idInUse,
  leaseLost,
  noCallback,
  noFlow,
  revisionConflict,
  storeClosed,
  wrapDriverError,
} from "../shared/errors.js";
import type { LeaseCheck } from "../shared/schedule.js";
import { expiryOf } from "../shared/schedule.js";
import { newLeaseToken } from "../shared/token.js";
import {
  checkCancel,
  checkChannel,
  checkClaim,
  checkCommit,
  checkCreate,
  checkDeliver,
  checkId,
  checkLeaseRef,
  checkListener,
  checkListQuery,
  checkMessage,
  checkSweep,
} from "../shared/validate.js";
import {
  commitPayload,
  createdKey,
  int,
  optionalTime,
  type Reply,
  SUMMARY_FIELDS,
  tagged,
  text,
  time,
  timeOrNull,
  toCallback,
  toEvents,
  toMetadata,
  toSummary,
  untagged,
} from "./codec.js";
import type { ResolvedRedisStoreOptions } from "./index.js";
import { countRecords } from "./keys.js";
import { closeConnection, Subscriber } from "./pubsub.js";
import { LUA } from "./scripts.js";

type ScriptName = Exclude<keyof typeof LUA, "lib">;

/** Scripts that only read (they run even when the server is out of memory). */
const READ_ONLY: ReadonlySet<ScriptName> = new Set(["list", "wake"]);

/**
 * Command names are versioned by the scripts' hash, so that two dtasks versions sharing one
 * client never call each other's scripts. The shebang makes Redis refuse a writing script at its
 * start when the server is out of memory, instead of failing it halfway through its writes.
 */
const COMMANDS = Object.fromEntries(
  (Object.keys(LUA) as (keyof typeof LUA)[])
    .filter((name): name is ScriptName => name !== "lib")
    .map((name) => {
      const shebang = READ_ONLY.has(name) ? "#!lua flags=no-writes" : "#!lua";
      const source = `${shebang}\n${LUA.lib}\n${LUA[name]}`;
      const hash = createHash("sha1").update(source).digest("hex").slice(0, 8);
      return [name, { name: `dtasks_${name}_${hash}`, source }];
    }),
) as Record<ScriptName, { name: string; source: string }>;

/** The store's settings for the connections it opens (the user's `redisOptions` override them). */
function connectionOptions(options: ResolvedRedisStoreOptions): RedisOptions {
  return {
    lazyConnect: true,
    // Fail what is in flight when the connection drops, and what is queued when a reconnection
    // attempt fails, rather than resending or holding it: callers retry with backoff.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    retryStrategy: (attempt: number) => Math.min(25 * 2 ** Math.min(attempt, 7), 2_000),
    ...options.redisOptions,
  };
}

interface InFlight {
  op: string;
  fail: (error: DTaskError) => void;
}

export class RedisStore implements Store {
  readonly engine = "redis";
  readonly #retentionMs: number;
  readonly #client: Redis;
  readonly #owned: boolean;
  /** The store's prefix (ioredis adds the client's keyPrefix to keys, not to channels or SCAN). */
  readonly #prefix: string;
  /** keyPrefix + prefix: how keys and channels are really named on the server. */
  readonly #serverPrefix: string;
  readonly #bus = new LocalBus();
  readonly #subscriber: Subscriber;
  readonly #inFlight = new Set<InFlight>();
  /** Tags the messages this instance publishes (see pubsub.ts). */
  readonly #origin = randomBytes(9).toString("base64url");
  readonly #onClose = () => this.#connectionLost();
  readonly #onError = (error: Error) => {
    this.#lastError = error;
  };
  readonly #onReady = () => {
    this.#lastError = null;
  };
  /** The last connection error of an owned client, to say why an operation failed. */
  #lastError: Error | null = null;
  #closed = false;

  constructor(options: ResolvedRedisStoreOptions) {
    this.#retentionMs = options.retentionMs;
    this.#prefix = options.prefix;
    const given = options.client;
    this.#owned = given === null;
    this.#client = given ?? new Redis(options.url, connectionOptions(options));
    const keyPrefix = (this.#client.options as { keyPrefix?: string }).keyPrefix ?? "";
    this.#serverPrefix = keyPrefix + this.#prefix;
    for (const { name, source } of Object.values(COMMANDS)) {
      this.#client.defineCommand(name, { numberOfKeys: 1, lua: source });
    }
    this.#client.on("close", this.#onClose);
    // On a given client, error events are its owner's business (adding a listener would hide
    // ioredis' own report of them).
    if (this.#owned) {
      this.#client.on("error", this.#onError);
      this.#client.on("ready", this.#onReady);
    }
    this.#subscriber = new Subscriber({
      channelPrefix: this.#serverPrefix,
      origin: this.#origin,
      bus: this.#bus,
      open: () => {
        const connection =
          given === null
            ? new Redis(options.url, connectionOptions(options))
            : given.duplicate({
                lazyConnect: true,
                maxRetriesPerRequest: 0,
                autoResendUnfulfilledCommands: false,
              });
        // The subscriber is always ours: its errors surface as failed subscribe() calls.
        connection.on("error", () => {});
        return connection;
      },
    });
  }

  // ---------------------------------------------------------------- plumbing

  #open(op: string): void {
    if (this.#closed) throw storeClosed(this.engine, op);
  }

  /**
   * Runs one operation against the server. Coded errors pass through; driver errors become DT402
   * with the driver's error as `cause`; a connection lost meanwhile fails it at once.
   */
  #call<T>(op: string, run: () => Promise<T>): Promise<T> {
    this.#open(op);
    return new Promise<T>((resolve, reject) => {
      const entry: InFlight = {
        op,
        fail: (error) => {
          if (this.#inFlight.delete(entry)) reject(error);
        },
      };
      this.#inFlight.add(entry);
      let pending: Promise<T>;
      try {
        pending = run();
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (value) => {
          if (this.#inFlight.delete(entry)) resolve(value);
        },
        (error: unknown) => {
          if (this.#inFlight.delete(entry)) reject(this.#wrap(op, error));
        },
      );
    });
  }

  #connectionLost(): void {
    if (this.#inFlight.size === 0) return;
    const entries = [...this.#inFlight];
    for (const entry of entries) entry.fail(this.#lostError(entry.op, null));
  }

  #lostError(op: string, cause: unknown): DTaskError {
    const why = this.#lastError === null ? "" : ` (${this.#lastError.message})`;
    return new DTaskError(
      "DT402",
      `redis store: ${op} failed: the connection to Redis was lost or could not be made${why}. ` +
        "The operation may or may not have taken effect; retry it (a repeated commit that had taken " +
        "effect is rejected with DT401, a repeated delivery with DT503)",
      { cause: cause ?? this.#lastError ?? undefined },
    );
  }

  #wrap(op: string, error: unknown): DTaskError {
    if (error instanceof DTaskError) return error;
    const e = error as { name?: string; message?: string };
    const message = e?.message ?? "";
    if (
      e?.name === "MaxRetriesPerRequestError" ||
      /^Connection is closed|Stream isn't writeable|Command aborted due to connection close/.test(message)
    ) {
      return this.#lostError(op, error);
    }
    if (message === "Command timed out") {
      return new DTaskError(
        "DT402",
        `redis store: ${op} failed: no reply from Redis within commandTimeout; the operation may or ` +
          "may not have taken effect; retry it, or raise the 'commandTimeout' option if the server is just slow",
        { cause: error },
      );
    }
    return wrapDriverError(this.engine, op, error);
  }

  /** Runs a script (Buffer replies), emits what it published to this process's listeners. */
  async #script(op: string, name: ScriptName, args: (string | Buffer | number)[]): Promise<Reply[]> {
    const command = `${COMMANDS[name].name}Buffer`;
    const reply = (await this.#call(op, () =>
      (this.#client as unknown as Record<string, (...a: unknown[]) => Promise<Reply[]>>)[command]!(
        this.#prefix,
        ...args,
      ),
    )) as Reply[];
    const published = reply[1];
    if (Array.isArray(published)) {
      for (let i = 0; i + 1 < published.length; i += 2) {
        this.#bus.emit(text(published[i]), text(published[i + 1]));
      }
    }
    return reply;
  }

  #key(family: string, id: string): string {
    return `${this.#prefix}${family}:${id}`;
  }

  // ---------------------------------------------------------------- flows

  async createFlow(input: CreateFlowInput): Promise<CreatedFlow> {
    this.#open("createFlow");
    const c = checkCreate(input);
    const lease: Lease = { token: newLeaseToken(), owner: c.owner, expiresAt: c.now + c.leaseMs };
    const reply = await this.#script("createFlow", "create", [
      c.id,
      c.rootFunctionId,
      c.snapshot === null ? "" : tagged(c.snapshot),
      c.metadataJson ?? "",
      c.owner,
      lease.token,
      time(c.now),
      time(lease.expiresAt),
      createdKey(c.now, c.id),
    ]);
    if (text(reply[0]) === "exists") throw idInUse("flow", c.id);
    return { id: c.id, revision: 0, lease };
  }

  async commit(input: CommitInput): Promise<CommitResult> {
    this.#open("commit");
    const c = checkCommit(input);
    const keepUntil = c.keepLeaseMs === null ? null : c.now + c.keepLeaseMs;
    const expiresAt = c.finished ? expiryOf(c.now, c.retentionMs ?? this.#retentionMs) : null;
    const args: (string | Buffer | number)[] = [
      c.flowId,
      c.revision,
      c.leaseToken,
      time(c.now),
      c.status,
      c.finished ? "1" : "0",
      commitPayload(c.snapshot),
      commitPayload(c.result),
      commitPayload(c.error),
      c.lastErrorJson ?? "",
      c.metadataJson === undefined ? "k" : c.metadataJson === null ? "n" : c.metadataJson,
      optionalTime(c.runnableAt),
      optionalTime(c.deferUntil),
      optionalTime(keepUntil),
      optionalTime(expiresAt),
      this.#origin,
      c.addCallbacks.length,
      c.addTimers.length,
      c.removeWaits.length,
      c.consumedEvents.length,
      ...c.addCallbacks,
    ];
    for (const t of c.addTimers) args.push(t.id, time(t.dueAt));
    args.push(...c.removeWaits, ...c.consumedEvents);
    const reply = await this.#script("commit", "commit", args);
    const status = text(reply[0]);
    if (status !== "ok") {
      const detail = text(reply[2]);
      switch (status) {
        case "gone":
          throw flowGone(c.flowId);
        case "lease":
          throw leaseLost(c.flowId, detail as Exclude<LeaseCheck, "held">);
        case "rev":
          throw revisionConflict(c.flowId, c.revision, Number(detail));
        case "consumed":
          throw new DTaskError(
            "DT405",
            `store.commit: 'consumedEvents' names ${JSON.stringify(detail)}, which is not a pending event of flow ${c.flowId}`,
          );
        case "callback":
          throw idInUse("callback", detail);
        case "timer":
          throw idInUse("timer", detail, c.flowId);
        default:
          throw unexpected("commit", status);
      }
    }
    const leaseExpiresAt = timeOrNull(reply[4]);
    return {
      revision: int(reply[2]),
      readyAt: timeOrNull(reply[3]),
      lease:
        leaseExpiresAt === null
          ? null
          : { token: c.leaseToken, owner: text(reply[5]), expiresAt: leaseExpiresAt },
      events: toEvents(reply[6]),
    };
  }

  async claim(input: ClaimInput): Promise<ClaimedFlow[]> {
    this.#open("claim");
    const c = checkClaim(input);
    const expiresAt = c.now + c.leaseMs;
    const reply = await this.#script("claim", "claim", [
      time(c.now),
      c.limit,
      c.owner,
      time(expiresAt),
      newLeaseToken(),
    ]);
    const rows = (reply[2] ?? []) as Reply[][];
    return rows.map(
      (row): ClaimedFlow => ({
        id: text(row[0]),
        revision: int(row[1]),
        status: text(row[2]) as FlowStatus,
        rootFunctionId: text(row[3]),
        snapshot: untagged(row[4]),
        metadata: toMetadata(row[5]),
        attempt: int(row[6]),
        lease: { token: text(row[7]), owner: c.owner, expiresAt },
        events: toEvents(row[8]),
      }),
    );
  }

  async renewLease(input: LeaseRef & { leaseMs: number }): Promise<Lease> {
    this.#open("renewLease");
    const c = checkLeaseRef("renewLease", input, true);
    const expiresAt = c.now + c.leaseMs;
    const reply = await this.#script("renewLease", "renew", [
      c.flowId,
      c.token,
      time(c.now),
      time(expiresAt),
    ]);
    const status = text(reply[0]);
    if (status === "gone") throw flowGone(c.flowId, "renewLease");
    if (status === "lease") {
      throw leaseLost(c.flowId, text(reply[2]) as Exclude<LeaseCheck, "held">, "renewLease");
    }
    return { token: c.token, owner: text(reply[2]), expiresAt };
  }

  async releaseLease(input: LeaseRef): Promise<boolean> {
    this.#open("releaseLease");
    const c = checkLeaseRef("releaseLease", input);
    const reply = await this.#script("releaseLease", "release", [c.flowId, c.token, this.#origin]);
    return int(reply[2]) === 1;
  }

  async nextWakeAt(): Promise<number | null> {
    this.#open("nextWakeAt");
    const reply = await this.#call("nextWakeAt", () =>
      (this.#client as unknown as Record<string, (...a: unknown[]) => Promise<Reply>>)[
        `${COMMANDS.wake.name}Buffer`
      ]!(this.#prefix),
    );
    return timeOrNull(reply);
  }

  async deliver(input: DeliverInput): Promise<DeliverResult> {
    this.#open("deliver");
    const c = checkDeliver(input);
    const reply = await this.#script("deliver", "deliver", [
      c.callbackId,
      c.kind,
      tagged(c.payload),
      time(c.now),
      this.#origin,
    ]);
    switch (text(reply[0])) {
      case "ok":
        return { flowId: text(reply[2]), eventId: text(reply[3]) };
      case "unknown":
        throw noCallback(c.callbackId);
      case "delivered":
        throw alreadyDelivered(c.callbackId);
      case "canceled":
        throw noCallback(c.callbackId, "canceled");
      default:
        throw unexpected("deliver", text(reply[0]));
    }
  }

  async requestCancel(input: CancelInput): Promise<CancelResult> {
    this.#open("requestCancel");
    const c = checkCancel(input);
    const reply = await this.#script("requestCancel", "cancel", [
      c.flowId,
      c.payload === null ? "" : tagged(c.payload),
      time(c.now),
      this.#origin,
    ]);
    if (text(reply[0]) === "noflow") throw noFlow(c.flowId);
    const outcome = text(reply[2]) as CancelResult["outcome"];
    return { outcome, eventId: outcome === "finished" ? null : text(reply[3]) };
  }

  async getFlow(flowId: string): Promise<FlowRecord | null> {
    this.#open("getFlow");
    checkId("getFlow", "flowId", flowId);
    const values = (await this.#call("getFlow", () =>
      this.#client.hmgetBuffer(this.#key("flow", flowId), ...SUMMARY_FIELDS, "snap", "res", "err"),
    )) as (Buffer | null)[];
    if (values[0] === null) return null;
    const n = SUMMARY_FIELDS.length;
    return {
      ...toSummary(flowId, values),
      snapshot: untagged(values[n]),
      result: untagged(values[n + 1]),
      error: untagged(values[n + 2]),
    };
  }

  async listFlows(query?: ListFlowsQuery): Promise<FlowPage> {
    this.#open("listFlows");
    const q = checkListQuery(query);
    const after = q.after === null ? null : decodeCursor(q.after);
    const reply = await this.#script("listFlows", "list", [
      q.order,
      q.limit + 1,
      after === null ? "" : createdKey(after.createdAt, after.id),
      ...(q.statuses === null ? [] : [...new Set(q.statuses)]),
    ]);
    const entries = ((reply[2] ?? []) as Reply[][])
      .map((entry) => ({ key: entry[0] as Buffer, values: entry.slice(1) }))
      .sort((a, b) => (q.order === "asc" ? Buffer.compare(a.key, b.key) : Buffer.compare(b.key, a.key)));
    const page = entries
      .slice(0, q.limit)
      .map((entry) => toSummary(entry.key.toString("utf8", 16), entry.values));
    const last = page[page.length - 1];
    return { flows: page, next: entries.length > q.limit && last !== undefined ? encodeCursor(last) : null };
  }

  async getCallback(callbackId: string): Promise<CallbackRecord | null> {
    this.#open("getCallback");
    checkId("getCallback", "callbackId", callbackId);
    const hash = await this.#call("getCallback", () =>
      this.#client.hgetallBuffer(this.#key("cb", callbackId)),
    );
    return toCallback(callbackId, hash);
  }

  // ---------------------------------------------------------------- pub/sub

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    this.#open("subscribe");
    checkChannel("subscribe", channel);
    checkListener("subscribe", listener);
    const remove = this.#bus.add(channel, listener);
    try {
      return await this.#subscriber.add(channel, remove);
    } catch (error) {
      throw this.#wrap("subscribe", error);
    }
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#open("publish");
    checkChannel("publish", channel);
    checkMessage("publish", message);
    await this.#call("publish", () =>
      this.#client.publish(this.#serverPrefix + channel, this.#subscriber.wire(message)),
    );
    this.#bus.emit(channel, message);
  }

  // ---------------------------------------------------------------- retention and diagnostics

  async sweep(input: SweepInput): Promise<SweepResult> {
    this.#open("sweep");
    const c = checkSweep(input);
    const reply = await this.#script("sweep", "sweep", [time(c.now), c.limit]);
    return { flows: int(reply[2]) };
  }

  async countRecords(): Promise<RecordCounts> {
    return this.#call("countRecords", () => countRecords(this.#client, this.#serverPrefix));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#bus.clear();
    await this.#subscriber.close();
    this.#client.off("close", this.#onClose);
    if (this.#owned) {
      this.#client.off("ready", this.#onReady);
      await closeConnection(this.#client);
    }
  }
}

function unexpected(op: string, status: string): DTaskError {
  return new DTaskError(
    "DT402",
    `redis store: ${op} failed: unexpected script reply ${JSON.stringify(status)}`,
  );
}
