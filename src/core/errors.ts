/**
 * The one registry of dtasks error codes. Every error the library raises on purpose is a
 * `DTaskError` with a stable `DTxxx` code from this table; `docs/errors.md` has one anchor per
 * code and a test keeps the two in step.
 *
 * Ranges: DT0xx–DT1xx compiler, DT2xx runtime, DT3xx marshal, DT4xx store, DT5xx host,
 * DT6xx http, DT7xx cli.
 *
 * @module
 */

/** Every code, with a one-line meaning. The message itself is written where the error is raised. */
export const ERROR_CODES = {
  // compiler: unsupported syntax and misuse found at compile time
  DT101: "'arguments' is not supported inside a d-async function",
  DT102: "'this' inside a d-async arrow function",
  DT103: "an await in a position the compiler does not support",
  DT104: "direct eval or 'with' inside a d-async function",
  DT105: "a generator or async generator inside a d-async function",
  DT106: "a d-async function defined inside another d-async function",
  DT107: "an invalid dasync(...) call",
  DT108: "'super' inside a d-async method",
  DT109: "@dasync on something other than an async class method of a top-level class",
  DT110: "a closure or class value is live across a durable await (warning)",
  DT111: "a for-of loop over a non-array iterable is live across a durable await (warning)",
  // runtime
  DT201: "a d-async function was called but not compiled",
  DT202: "a DTask was awaited outside d-async code",
  DT203: "a d-async call suspended durably while awaited by non-durable code",
  DT204: "a DTask property was read in the wrong status",
  DT205: "an invalid duration",
  DT206: "an invalid argument to a DTask combinator",
  DT207: "a snapshot names a d-async function that is not loaded",
  DT208: "a d-async function changed since the snapshot was taken",
  DT209: "a snapshot frame is at a state that the function does not have",
  DT210: "a canceled operation",
  DT211: "the snapshot protocol version is not supported",
  // marshal
  DT301: "a live local cannot be stored in a snapshot",
  DT302: "a snapshot is corrupt or not in a known format",
  DT303: "a snapshot names a class that is not registered",
  DT304: "a class was registered twice under one id",
  DT305: "a snapshot names a service that is not registered with the host",
  DT306: "an invalid registerClass() call",
  DT307: "invalid marshal options",
  DT308: "a snapshot needs a surrogate, special decoder or byte codec that is not configured",
  // store
  DT401: "a commit lost the race for the flow (its revision changed)",
  DT402: "a store operation failed",
  DT403: "the store was used after it was closed",
  DT404: "invalid store options",
  DT405: "an invalid argument to a store operation",
  DT406: "a flow, callback or timer id is already in use",
  DT407: "the database was written by a newer version of dtasks",
  // host
  DT501: "no flow with that id",
  DT502: "no callback with that id",
  DT503: "the callback was already resumed",
  DT504: "the host was used after close()",
  DT505: "invalid host options",
  DT506: "the flow failed",
  DT507: "the flow was canceled",
  DT508: "the flow cannot be resumed on the code at hand",
  DT509: "an invalid argument to a host method",
  // http
  DT601: "an invalid async-endpoint request header",
  DT602: "an invalid resumption request body",
  DT603: "a request body over the size limit",
  DT604: "a webhook destination is not allowed",
  DT605: "an invalid or expired signed resume URL",
  DT606: "invalid async-endpoint options",
  DT607: "a webhook was not delivered",
  DT608: "an async-endpoint handler returned something other than a d-async call",
  DT609: "an invalid argument to an async-endpoint helper",
  // cli
  DT701: "a usage error on the command line",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const MARK = Symbol.for("dtasks.DTaskError");

/**
 * Base of every error raised by dtasks. `code` is stable across releases; `cause` keeps the
 * underlying failure. `instanceof` works across two copies of the library (a `Symbol.for` brand),
 * which matters when a precompiled library and the application each bundle dtasks.
 */
export class DTaskError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, MARK, { value: true });
  }

  override get name(): string {
    return "DTaskError";
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class on the right of `instanceof`: DTaskError itself or a subclass.
    // biome-ignore lint/complexity/noThisInStatic: which class is asked is the point
    if (this === DTaskError) return typeof value === "object" && value !== null && MARK in value;
    // biome-ignore lint/complexity/noThisInStatic: which class is asked is the point
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

/** A durable operation was canceled. Thrown at the `await` of the canceled wait. */
export class DTaskCanceledError extends DTaskError {
  constructor(message = "the operation was canceled", options?: { cause?: unknown }) {
    super("DT210", message, options);
  }

  override get name(): string {
    return "DTaskCanceledError";
  }
}

/** Turns anything thrown into an Error, so callers can rely on `.message` and `.stack`. */
export function ensureError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  const error = new Error(typeof thrown === "string" ? thrown : `non-error thrown: ${String(thrown)}`);
  (error as Error & { thrown?: unknown }).thrown = thrown;
  return error;
}
