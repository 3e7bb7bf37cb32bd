/**
 * Results go out as JSON, but a flow's result may hold what JSON cannot say (BigInt, Map, Set),
 * which `JSON.stringify` would throw on or silently turn into `{}`. One converter, used for
 * every body the HTTP layer writes, so a result looks the same in the 200, the status endpoint
 * and every push channel.
 *
 * @module
 */

/** JSON text of `value`: BigInt → decimal string, Map → object (or entries), Set → array. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, replacer);
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) {
    const plain = [...value.keys()].every((key) => typeof key === "string");
    return plain ? Object.fromEntries(value) : [...value.entries()];
  }
  if (value instanceof Set) return [...value];
  return value;
}
