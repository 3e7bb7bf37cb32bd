/**
 * A deterministic rendering of any value, for comparing a native run with a compiled one. It
 * distinguishes what `JSON.stringify` and `assert.deepEqual` blur: `-0`, NaN, `undefined`,
 * BigInt, Map/Set order, invalid dates, error names, messages and causes, and shared references
 * (the second visit of an object prints `*n`, where `n` numbers objects in first-visit order).
 *
 * @module
 */

export function show(value: unknown): string {
  const seen = new Map<object, number>();
  const render = (v: unknown, depth: number): string => {
    switch (typeof v) {
      case "undefined":
        return "undefined";
      case "number":
        return Object.is(v, -0) ? "-0" : String(v);
      case "bigint":
        return `${v}n`;
      case "string":
        return JSON.stringify(v);
      case "boolean":
        return String(v);
      case "symbol":
        return v.toString();
      case "function":
        return `[function ${v.name}]`;
    }
    if (v === null) return "null";
    const obj = v as object;
    const known = seen.get(obj);
    if (known !== undefined) return `*${known}`;
    if (depth > 40) return "…";
    const id = seen.size;
    seen.set(obj, id);
    const mark = `&${id}`;
    if (Array.isArray(obj)) {
      const items: string[] = [];
      for (let i = 0; i < obj.length; i++) items.push(i in obj ? render(obj[i], depth + 1) : "<hole>");
      return `${mark}[${items.join(", ")}]`;
    }
    if (obj instanceof Map) {
      return `${mark}Map{${[...obj].map(([k, x]) => `${render(k, depth + 1)} => ${render(x, depth + 1)}`).join(", ")}}`;
    }
    if (obj instanceof Set) return `${mark}Set{${[...obj].map((x) => render(x, depth + 1)).join(", ")}}`;
    if (obj instanceof Date) {
      return `${mark}Date(${Number.isNaN(obj.getTime()) ? "invalid" : obj.toISOString()})`;
    }
    if (obj instanceof RegExp) return `${mark}${String(obj)}`;
    if (obj instanceof Error) {
      const cause = "cause" in obj ? ` cause=${render((obj as { cause?: unknown }).cause, depth + 1)}` : "";
      const extra = Object.keys(obj)
        .filter((k) => k !== "cause" && k !== "stack" && k !== "message")
        .map((k) => ` ${k}=${render((obj as unknown as Record<string, unknown>)[k], depth + 1)}`)
        .join("");
      return `${mark}${obj.name}(${JSON.stringify(obj.message)}${cause}${extra})`;
    }
    if (typeof (obj as { then?: unknown }).then === "function") return `${mark}[thenable]`;
    const proto = Object.getPrototypeOf(obj);
    const name =
      proto === null ? "null-proto" : proto === Object.prototype ? "" : (proto.constructor?.name ?? "?");
    const fields = Object.keys(obj).map(
      (k) => `${JSON.stringify(k)}: ${render((obj as Record<string, unknown>)[k], depth + 1)}`,
    );
    return `${mark}${name}{${fields.join(", ")}}`;
  };
  return render(value, 0);
}

/** How a thrown value is compared: name and message for errors (plus cause), a rendering otherwise. */
export function showThrown(error: unknown): string {
  if (error instanceof Error) {
    const cause = "cause" in error ? ` (cause: ${showThrown((error as { cause?: unknown }).cause)})` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return `non-error ${show(error)}`;
}
