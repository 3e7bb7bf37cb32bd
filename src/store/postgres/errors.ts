/**
 * node-postgres failures → DT errors. Connection failures (refused, dropped, a backend terminated
 * by an administrator, a server shutting down or starting up, too many connections) and transient
 * conflicts are DT402 with a message that says so and that retrying is the fix: the host's workers
 * and commit loop retry DT402 with back-off. The driver's error is always the `cause`.
 *
 * @module
 */
import { DTaskError } from "../../core/errors.js";
import { wrapDriverError } from "../shared/errors.js";

const ENGINE = "postgres";

/** Socket-level codes of a server that is down, restarting or unreachable. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** SQLSTATEs of a connection that went away or could not be made (class 08, shutdown, startup). */
const CONNECTION_STATES = new Set(["57P01", "57P02", "57P03", "53300"]);

/** SQLSTATEs of transient conflicts between transactions. */
const CONFLICT_STATES = new Set(["40001", "40P01"]);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** True when the error means "the connection is gone or could not be made". */
export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (SOCKET_CODES.has(code) || CONNECTION_STATES.has(code) || code.startsWith("08")))
    return true;
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|Connection ended|timeout exceeded when trying to connect|not queryable|connection error/i.test(
    message,
  );
}

/** Turns anything a query threw into a DTaskError (coded errors pass through unchanged). */
export function wrapPgError(op: string, error: unknown): DTaskError {
  if (error instanceof DTaskError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isConnectionError(error)) {
    // pg-pool says this both when connecting takes too long and when no pooled connection freed up.
    const busy = /timeout exceeded when trying to connect/i.test(message)
      ? " (or every pooled connection stayed busy that long: raise 'poolSize' or 'connectTimeout')"
      : "";
    return new DTaskError(
      "DT402",
      `postgres store: ${op} failed: PostgreSQL could not be reached or the connection was lost (${message})${busy}. ` +
        "This is transient: retry once the server is reachable (a retried commit that had in fact been " +
        "applied answers DT401)",
      { cause: error },
    );
  }
  const code = codeOf(error);
  if (code !== undefined && CONFLICT_STATES.has(code)) {
    return new DTaskError(
      "DT402",
      `postgres store: ${op} failed: a transient conflict with a concurrent transaction (${message}); nothing was written, retry it`,
      { cause: error },
    );
  }
  if (code === "22021" || code === "22P05") {
    return new DTaskError(
      "DT405",
      `store.${op}: a string argument contains a character PostgreSQL text cannot store (NUL): ${message}`,
      { cause: error },
    );
  }
  return wrapDriverError(ENGINE, op, error);
}
