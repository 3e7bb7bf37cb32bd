/**
 * The `listFlows` cursor: the (createdAt, id) of the last flow of a page, opaque to callers.
 * Every engine orders by that pair, so a cursor from one page is valid for the next whatever the
 * engine, and rows created or deleted meanwhile never make a page repeat or skip a flow.
 *
 * @module
 */
import { DTaskError } from "../../core/errors.js";

export interface CursorKey {
  createdAt: number;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.createdAt, key.id])).toString("base64url");
}

export function decodeCursor(cursor: string): CursorKey {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === "number" &&
      typeof value[1] === "string"
    ) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // fall through to the coded error
  }
  throw new DTaskError(
    "DT405",
    `store.listFlows: 'after' is not a cursor returned by listFlows (got ${JSON.stringify(cursor)})`,
  );
}

/** Compares two keys in ascending (createdAt, id) order. */
export function compareKeys(a: CursorKey, b: CursorKey): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
