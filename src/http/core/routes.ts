/**
 * Route patterns in the `:param` syntax that Fastify, Hono and Express all share, so the core
 * can declare its routes once and each adapter registers them with its own router; plus a tiny
 * matcher for `fetch(Request)` (Hono's middleware), and the checks of resumption routes.
 *
 * @module
 */

import type { Reply } from "./answer.js";

/** A route of the core: method, pattern, and what serves it. */
export interface CoreRoute {
  method: "GET" | "POST";
  /** `:param` syntax, e.g. `/async/:operationId/status`. */
  path: string;
  /** Serves the request; `params` holds the pattern's parameters (already URL-decoded). */
  handle(request: Request, params: Record<string, string>): Promise<Reply>;
}

/**
 * Why `route` cannot be a resumption route, or undefined if it can: a path with exactly one
 * parameter, `:operationId`, required, not a wildcard (the .NET original's rules).
 */
export function checkResumeRoute(route: unknown): string | undefined {
  if (typeof route !== "string" || !route.startsWith("/")) {
    return `has ${JSON.stringify(route)}; a resumption route is a path such as "/approvals/resume/:operationId"`;
  }
  if (/[*?()]/.test(route))
    return `has "${route}": a resumption route has no wildcard, optional part or regular expression`;
  const params = [...route.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  if (params.length !== 1)
    return `has "${route}": a resumption route has exactly one parameter, :operationId`;
  if (params[0] !== "operationId")
    return `has "${route}": its parameter must be named :operationId (the callback id)`;
  if (!/(^|\/):operationId(\/|$)/.test(route))
    return `has "${route}": :operationId must be a whole path segment`;
  return undefined;
}

/** Fills `:operationId` of a route with an id. */
export function fillRoute(route: string, operationId: string): string {
  return route.replace(":operationId", encodeURIComponent(operationId));
}

/** Compiles a pattern into a matcher of pathnames. */
export function compile(pattern: string): (pathname: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const source = pattern
    .split("/")
    .map((segment) => {
      if (segment.startsWith(":")) {
        names.push(segment.slice(1));
        return "([^/]+)";
      }
      return segment.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  const regex = new RegExp(`^${source}$`);
  return (pathname) => {
    const match = regex.exec(pathname);
    if (!match) return undefined;
    const params: Record<string, string> = {};
    try {
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(match[i + 1]!);
      });
    } catch {
      return undefined;
    }
    return params;
  };
}
