/**
 * Services stored in snapshots by token: a database client or a mailer cannot be serialized, so a
 * live reference to a registered service is written as its token and resolved again, in whatever
 * process resumes the flow, from that process's host. This is how `this` of an `@dasync` method on
 * a service class survives a suspension.
 *
 * @module
 */
import type { ServiceRegistry } from "../runtime/engine.js";
import { argumentError, describe } from "./check.js";

export class Services implements ServiceRegistry {
  readonly #byToken = new Map<string, object>();
  readonly #tokens = new Map<object, string>();

  register(token: unknown, value: unknown): void {
    const method = "host.registerService()";
    if (typeof token !== "string" || token.length === 0 || token.length > 200) {
      throw argumentError(
        method,
        `the token must be a non-empty string of at most 200 characters (got ${describe(token)})`,
      );
    }
    if ((typeof value !== "object" && typeof value !== "function") || value === null) {
      throw argumentError(method, `service '${token}' must be an object (got ${describe(value)})`);
    }
    const existing = this.#byToken.get(token);
    if (existing !== undefined && existing !== value) {
      throw argumentError(
        method,
        `token '${token}' is already registered for another object; tokens name one service each`,
      );
    }
    const other = this.#tokens.get(value);
    if (other !== undefined && other !== token) {
      throw argumentError(
        method,
        `this object is already registered as '${other}'; register a service under one token`,
      );
    }
    this.#byToken.set(token, value);
    this.#tokens.set(value, token);
  }

  tokenOf(value: object): string | undefined {
    return this.#tokens.get(value);
  }

  resolve(token: string): unknown {
    return this.#byToken.get(token);
  }
}
