/**
 * Paths into a value, for messages: `l.order.items[3]`, `l.users<Map value 2>.socket`.
 *
 * While walking, the encoder and decoder keep one reusable array and overwrite `path[depth]` as
 * they descend, so tracking the path costs one store per value and allocates nothing. Steps that
 * have no property key (entries of Maps and Sets, the data of a custom serializer) are written as
 * negative numbers there, and only turned into readable strings when a message needs them. Map keys
 * are shown by their position, never by their value: messages must not leak stored data.
 *
 * @module
 */

/** One step of a public path: a property key, an array index, or a `<...>` pseudo-step. */
export type PathSegment = string | number;

/** The step into the data produced by a custom serializer, surrogate or special hook. */
export const DATA_STEP = -1;
export const mapKeyStep = (i: number): number => -(3 * i + 2);
export const mapValueStep = (i: number): number => -(3 * i + 3);
export const setItemStep = (i: number): number => -(3 * i + 4);

function publicStep(step: PathSegment): PathSegment {
  if (typeof step === "string" || step >= 0) return step;
  if (step === DATA_STEP) return "<data>";
  const code = -step - 2;
  const i = Math.floor(code / 3);
  switch (code % 3) {
    case 0:
      return `<Map key ${i}>`;
    case 1:
      return `<Map value ${i}>`;
    default:
      return `<Set item ${i}>`;
  }
}

/** Copies the first `depth` steps of a working path into a public one. */
export function snapshotPath(path: readonly PathSegment[], depth: number): PathSegment[] {
  const out = new Array<PathSegment>(depth);
  for (let i = 0; i < depth; i++) out[i] = publicStep(path[i]);
  return out;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const PSEUDO = /^<(data|Map key \d+|Map value \d+|Set item \d+)>$/;
const MAX_KEY = 60;

/** `["l", "order", "items", 3]` → `l.order.items[3]`; the empty path is `<root>`. */
export function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return "<root>";
  let out = "";
  for (const step of path) {
    if (typeof step === "number") out += `[${step}]`;
    else if (PSEUDO.test(step)) out += step;
    else if (IDENTIFIER.test(step)) out += out === "" ? step : `.${step}`;
    else {
      // Long keys are usually data used as keys (ids, e-mails); keep messages short.
      const key = step.length > MAX_KEY ? `${step.slice(0, MAX_KEY)}…` : step;
      out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}
