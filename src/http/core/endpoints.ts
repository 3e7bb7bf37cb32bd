/**
 * The async endpoints: the whole wire contract, once, on `Request`/`Response`. Adapters
 * (Fastify, Hono, Express) only translate their framework's objects and register
 * {@link AsyncEndpoints.routes} with their router.
 *
 * @module
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { DAsyncFunction } from "../../core/dasync.js";
import { DCall } from "../../core/dtask.js";
import { type Duration, toMilliseconds } from "../../core/duration.js";
import { DTaskError } from "../../core/errors.js";
import { type FlowStatus, isFinishedStatus } from "../../core/store.js";
import { describe } from "../../host/check.js";
import { FLOW_ID_PATTERN } from "../../host/ids.js";
import type { FlowInfo, Host } from "../../host/types.js";
import { type Answer, empty, json, type Reply, toResponse } from "./answer.js";
import { readResumeBody } from "./body.js";
import { Connections } from "./connections.js";
import { operationMetadata, type PushTarget, parsePushHeaders, readOperation } from "./headers.js";
import { toJson } from "./json.js";
import { type AsyncEndpointsOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { problemAnswer, problems } from "./problem.js";
import { Pusher } from "./push.js";
import { type CoreRoute, compile, fillRoute } from "./routes.js";
import { checkSignature, signedQuery } from "./signing.js";
import { connectionStream, operationStream } from "./sse.js";
import { canceledProblem, statusBody } from "./status.js";
import { Watcher } from "./watcher.js";
import { checkDestination } from "./webhooks/destinations.js";
import { WebSocketHub } from "./websocket.js";

/** The request an async endpoint needs to see: its URL (for `Location`) and its headers. */
export interface RequestHead {
  readonly url: string;
  readonly headers: { get(name: string): string | null };
}

/**
 * What an async endpoint's argument builder returns: the arguments of the d-async function (the
 * operation is started with them), a `Response` to answer with instead (validation failed:
 * nothing starts), or undefined when it answered through its framework itself.
 *
 * Why arguments and not the call itself: a call of a d-async function is a `DTask`, which is
 * `PromiseLike`, so returning it from an `async` function would make the promise machinery await
 * it, outside d-async code (DT202) instead of starting it durably. Arguments cannot be awaited by
 * mistake.
 * (`[...A]` rather than `A`, so that TypeScript infers an array literal as the argument tuple.)
 */
export type AsyncArgs<A extends unknown[]> = [...A] | Response | undefined;

/** Builds the arguments of an async endpoint's d-async function from the request. */
export type ArgsBuilder<A extends unknown[]> = () => AsyncArgs<A> | Promise<AsyncArgs<A>>;

/** Options of {@link AsyncEndpoints.resumeUrl}. */
export interface ResumeUrlOptions {
  /** A resumption route of `resumeRoutes`. @default "<basePath>/async/resume/:operationId" */
  route?: string;
  /** Put in front of the path. @default the `publicUrl` option, else none (a path) */
  baseUrl?: string;
  /** Life of a signed URL: ms or a string such as `"2d"`. @default the `signing.expiresIn` option */
  expiresIn?: Duration;
}

/** Counts, for tests and health checks. */
export interface AsyncEndpointsStats {
  /** Operations watched by this process for a push. */
  watching: number;
  /** Push connections (WebSocket and SSE) open in this process. */
  connections: number;
  /** Pushes in progress (webhooks being tried or waiting for a retry). */
  pushing: number;
}

const CALLBACK_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export class AsyncEndpoints {
  readonly host: Host;
  readonly basePath: string;
  /** Every route this layer serves, for adapters to register with their router. */
  readonly routes: readonly CoreRoute[];
  /** The WebSocket path (`<basePath>/async/ws`). */
  readonly webSocketPath: string;
  /** Settles when the operations of this instance still waiting for a push are watched again. */
  readonly ready: Promise<void>;
  readonly #o: ResolvedOptions;
  readonly #watcher: Watcher;
  readonly #connections: Connections;
  readonly #pusher: Pusher;
  readonly #hub: WebSocketHub;
  readonly #matchers: { method: string; match: ReturnType<typeof compile>; route: CoreRoute }[];
  /** Ends of the per-operation SSE streams open now. */
  readonly #streams = new Set<() => void>();
  #closing: Promise<void> | undefined;

  constructor(options: AsyncEndpointsOptions, where?: string) {
    const o = resolveOptions(options, where);
    this.#o = o;
    this.host = o.host;
    this.basePath = o.basePath;
    this.webSocketPath = `${o.basePath}/async/ws`;
    this.#watcher = new Watcher(o.host, o.pollIntervalMs, o.onError);
    this.#connections = new Connections(o.host, (id) => this.#bodyText(id), o.onError);
    this.#pusher = new Pusher(o, this.#connections, o.errorDetails);
    this.#hub = new WebSocketHub(this.#connections, this.webSocketPath, o.keepAliveMs, o.onError);
    const routes: CoreRoute[] = [
      { method: "GET", path: `${o.basePath}/async/events`, handle: () => this.#connectionEvents() },
      {
        method: "GET",
        path: `${o.basePath}/async/:operationId/status`,
        handle: (_r, p) => this.#status(p.operationId!),
      },
      {
        method: "GET",
        path: `${o.basePath}/async/:operationId/events`,
        handle: (_r, p) => this.#operationEvents(p.operationId!),
      },
      ...o.resumeRoutes.map(
        (path): CoreRoute => ({ method: "POST", path, handle: (r, p) => this.#resume(r, p.operationId!) }),
      ),
    ];
    this.routes = routes;
    this.#matchers = routes.map((route) => ({ method: route.method, match: compile(route.path), route }));
    this.ready = o.recover ? this.#recover() : Promise.resolve();
  }

  /**
   * Runs an async endpoint. Checks the `Async-*` headers first (a bad one is a 400, and neither
   * `args` nor a flow starts), then calls `args` and starts `fn(...args)` as a flow. A flow that
   * finishes without suspending is answered with its result (200, or 204 for `undefined`; a
   * fault is a 500 problem); at its first suspension the answer is 202 with
   * `Location: <base>/async/<operationId>/status` and `{"operationId"}`, and its completion is
   * pushed to the targets the headers named. `undefined` when `args` answered by itself.
   */
  async run<A extends unknown[]>(
    request: RequestHead,
    fn: DAsyncFunction<A, unknown>,
    args: ArgsBuilder<A>,
  ): Promise<Response | undefined> {
    const reply = await this.reply(request, fn, args);
    return reply === undefined ? undefined : toResponse(reply);
  }

  /**
   * {@link run}, for adapters that write to Node's `ServerResponse`: the core's own answers come
   * as plain {@link Answer}s (no `Response` to build and read back).
   */
  async reply<A extends unknown[]>(
    request: RequestHead,
    fn: DAsyncFunction<A, unknown>,
    args: ArgsBuilder<A>,
  ): Promise<Reply | undefined> {
    checkDAsync(fn);
    const targets = parsePushHeaders(request.headers);
    if (typeof targets === "string") return problemAnswer(problems.invalidHeader(targets));
    for (const target of targets) {
      if (!("webhook" in target)) continue;
      try {
        await checkDestination(target.webhook, this.#o.webhooks);
      } catch (error) {
        return problemAnswer(problems.webhookNotAllowed((error as Error).message));
      }
    }
    const built = await args();
    if (built === undefined || built instanceof Response) return built;
    if (!Array.isArray(built)) {
      throw new DTaskError(
        "DT608",
        `the arguments builder of async endpoint '${fn.descriptor!.id}' returned ${describe(built)}; return the array of the function's arguments, or a Response`,
      );
    }
    const call = fn(...built);
    if (!(call instanceof DCall)) {
      throw new DTaskError("DT608", `'${fn.name}' did not return a call of a d-async function`);
    }
    let flowId: string;
    let startStatus: FlowStatus;
    try {
      const started = await this.host.start(call, { metadata: operationMetadata(this.#o.instance, targets) });
      flowId = started.id;
      startStatus = started.startStatus;
    } catch (error) {
      return problemAnswer(failure(error, "the operation could not be started"));
    }
    if (isFinishedStatus(startStatus)) return await this.#answerFinished(flowId);
    if (targets.length > 0) this.#watchForPush(flowId, targets);
    const location = `${this.#base(request.url)}/async/${flowId}/status`;
    return json(JSON.stringify({ operationId: flowId }), 202, { location });
  }

  /** `GET <basePath>/async/:operationId/status`. */
  async status(operationId: string): Promise<Response> {
    return toResponse(await this.#status(operationId));
  }

  /** `GET <basePath>/async/:operationId/events`: one SSE event when the operation finishes. */
  async operationEvents(operationId: string): Promise<Response> {
    return toResponse(await this.#operationEvents(operationId));
  }

  /** `GET <basePath>/async/events`: an SSE push connection. */
  async connectionEvents(): Promise<Response> {
    return toResponse(await this.#connectionEvents());
  }

  /**
   * A resumption request (`POST <route>` with `{"value": …}`): resumes callback `callbackId`.
   * 200 `{"status":"resumed"}`; unknown callback 404; already resumed 409; a bad body 400, a
   * non-JSON one 415, an oversized one 413; a missing, forged or expired signature 403 (when
   * URLs are signed). Every check comes before the store is touched, and a refused request
   * changes nothing.
   */
  async resume(request: Request, callbackId: string): Promise<Response> {
    return toResponse(await this.#resume(request, callbackId));
  }

  async #status(operationId: string): Promise<Reply> {
    const info = await this.#operation(operationId);
    if (!("id" in info)) return info;
    return json(toJson(statusBody(info, this.#o.errorDetails)), 200, { "cache-control": "no-store" });
  }

  async #operationEvents(operationId: string): Promise<Reply> {
    const info = await this.#operation(operationId);
    if (!("id" in info)) return info;
    const finished = isFinishedStatus(info.status)
      ? toJson(statusBody(info, this.#o.errorDetails))
      : undefined;
    return operationStream(
      this.#o.keepAliveMs,
      finished,
      (send) =>
        this.#watcher.watch(operationId, (done) => send(toJson(statusBody(done, this.#o.errorDetails)))),
      (end) => {
        this.#streams.add(end);
        return () => this.#streams.delete(end);
      },
    );
  }

  async #connectionEvents(): Promise<Reply> {
    try {
      return await connectionStream(this.#connections, this.#o.keepAliveMs);
    } catch (error) {
      return problemAnswer(failure(error, "the connection could not be registered"));
    }
  }

  async #resume(request: Request, callbackId: string): Promise<Reply> {
    if (!CALLBACK_ID_PATTERN.test(callbackId))
      return problemAnswer(problems.unknownCallback(callbackId.slice(0, 130)));
    if (this.#o.signing) {
      const bad = checkSignature(this.#o.signing.secret, callbackId, new URL(request.url), Date.now());
      if (bad) return problemAnswer(problems.badSignature(bad));
    }
    const body = await readResumeBody(request, this.#o.maxBodySize);
    if (!("value" in body)) return problemAnswer(body);
    try {
      await this.host.resume(callbackId, body.value);
    } catch (error) {
      const code = error instanceof DTaskError ? error.code : undefined;
      if (code === "DT502") return problemAnswer(problems.unknownCallback(callbackId));
      if (code === "DT503") return problemAnswer(problems.alreadyResumed(callbackId));
      if (code === "DT301") return problemAnswer(problems.invalidBody((error as Error).message));
      return problemAnswer(failure(error, "the callback could not be resumed"));
    }
    return json('{"status":"resumed"}', 200);
  }

  /**
   * The URL that resumes `callbackId` through a resumption route: `<base><route>` with the id in
   * place of `:operationId`, signed (`?exp=…&sig=…`) when the `signing` option is set.
   */
  resumeUrl(callbackId: string, options: ResumeUrlOptions = {}): string {
    if (typeof callbackId !== "string" || !CALLBACK_ID_PATTERN.test(callbackId)) {
      throw new DTaskError(
        "DT609",
        `resumeUrl(): ${JSON.stringify(String(callbackId).slice(0, 40))} is not a callback id (the id DTask.callback() gives its callback)`,
      );
    }
    const route = options.route ?? this.#o.resumeRoutes[0]!;
    if (!this.#o.resumeRoutes.includes(route)) {
      throw new DTaskError(
        "DT609",
        `resumeUrl(): route "${route}" is not served; add it to the resumeRoutes option (served: ${this.#o.resumeRoutes.join(", ")})`,
      );
    }
    const base = (options.baseUrl ?? this.#o.publicUrl ?? "").replace(/\/$/, "");
    const url = `${base}${fillRoute(route, callbackId)}`;
    if (!this.#o.signing) return url;
    const ttl =
      options.expiresIn === undefined
        ? this.#o.signing.expiresInMs
        : toMilliseconds(options.expiresIn, "resumeUrl() expiresIn");
    return `${url}?${signedQuery(this.#o.signing.secret, callbackId, Date.now(), ttl)}`;
  }

  /** Serves the request if it is one of {@link routes} (Hono-style), else undefined. */
  async fetch(request: Request): Promise<Response | undefined> {
    const pathname = new URL(request.url).pathname;
    for (const { method, match, route } of this.#matchers) {
      if (method !== request.method) continue;
      const params = match(pathname);
      if (params) return toResponse(await route.handle(request, params));
    }
    return undefined;
  }

  /** Takes a WebSocket upgrade for `<basePath>/async/ws`; false when it is for another path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return this.#hub.handleUpgrade(request, socket, head);
  }

  /** Serves WebSocket connections on a Node server's upgrades; returns the detacher. */
  attach(server: Server): () => void {
    return this.#hub.attach(server);
  }

  get stats(): AsyncEndpointsStats {
    return {
      watching: this.#watcher.size,
      connections: this.#connections.size,
      pushing: this.#pusher.pending,
    };
  }

  /**
   * Stops: no more watching, closes WebSocket and SSE connections, stops waiting for webhook
   * retries (tries in progress end). Does not close the host. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.ready.catch(() => {});
      this.#hub.close();
      for (const end of [...this.#streams]) end();
      this.#streams.clear();
      await this.#watcher.close();
      await this.#connections.close();
      await this.#pusher.close();
    })();
    return this.#closing;
  }

  #base(requestUrl: string): string {
    return `${this.#o.publicUrl ?? new URL(requestUrl).origin}${this.#o.basePath}`;
  }

  #watchForPush(flowId: string, targets: PushTarget[]): void {
    this.#watcher.watch(flowId, (info) => this.#pusher.push(info, targets));
  }

  async #answerFinished(flowId: string): Promise<Answer> {
    let info: FlowInfo;
    try {
      info = await this.host.get(flowId, { tasks: false });
    } catch (error) {
      return problemAnswer(failure(error, "the operation's outcome could not be read"));
    }
    if (info.status === "succeeded") {
      return info.result === undefined ? empty(204) : json(toJson(info.result));
    }
    if (info.status === "canceled") return problemAnswer(canceledProblem(info.error, flowId));
    const body = statusBody(info, this.#o.errorDetails);
    return problemAnswer({ ...body.error!, operationId: flowId });
  }

  /** The operation as the status routes see it, or the 404/503 response. */
  async #operation(operationId: string): Promise<FlowInfo | Answer> {
    if (!FLOW_ID_PATTERN.test(operationId))
      return problemAnswer(problems.unknownOperation(operationId.slice(0, 130)));
    try {
      const info = await this.host.get(operationId, { tasks: false });
      // Only operations started by an async endpoint: other flows (perhaps with guessable ids
      // chosen by their starters) are not this route's to show.
      if (readOperation(info.metadata) === undefined)
        return problemAnswer(problems.unknownOperation(operationId));
      return info;
    } catch (error) {
      if (error instanceof DTaskError && error.code === "DT501")
        return problemAnswer(problems.unknownOperation(operationId));
      return problemAnswer(failure(error, "the operation could not be read"));
    }
  }

  async #bodyText(operationId: string): Promise<string | undefined> {
    const info = await this.#operation(operationId);
    if (!("id" in info)) return undefined;
    return toJson(statusBody(info, this.#o.errorDetails));
  }

  /** Watches again the unfinished operations this instance accepted (a restart). */
  async #recover(): Promise<void> {
    try {
      let after: string | null = null;
      do {
        const page = await this.host.list({
          status: ["running", "suspended"],
          limit: 500,
          order: "asc",
          after,
        });
        for (const flow of page.flows) {
          const operation = readOperation(flow.metadata);
          if (operation?.instance === this.#o.instance && operation.push.length > 0 && !this.#closing) {
            this.#watchForPush(flow.id, operation.push);
          }
        }
        after = page.next;
      } while (after !== null && !this.#closing);
    } catch (error) {
      this.#o.onError(error as Error, { operation: "recover" });
    }
  }
}

/** A store that is down is a 503; anything else a 500, with its code. */
function failure(error: unknown, what: string) {
  const code = error instanceof DTaskError ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "DT402" || code === "DT403" || code === "DT504")
    return problems.unavailable(`${what}: ${message}`);
  return problems.internal(`${what}: ${message}`, code);
}

/**
 * DT608 at registration, not at the first request: the endpoint needs a compiled d-async
 * function (an uncompiled `dasync(...)` has no descriptor).
 */
export function checkDAsync(fn: unknown): void {
  if (typeof fn === "function" && typeof (fn as { descriptor?: unknown }).descriptor === "object") return;
  const what =
    typeof fn === "function"
      ? `function '${fn.name || "anonymous"}', which is not a compiled d-async function`
      : describe(fn);
  throw new DTaskError(
    "DT608",
    `an async endpoint needs a d-async function (declared with dasync() and compiled: node --import dtasks/register, or the bundler plugin); got ${what}`,
  );
}
