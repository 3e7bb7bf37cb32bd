/**
 * Reading a resumption body: JSON only (so a cross-site HTML form, which can only send
 * `text/plain` or form encodings without a CORS preflight, cannot resume anything), at most
 * `limit` bytes (checked on `Content-Length` first, then while reading, so a lying or chunked
 * body stops at the limit), and exactly `{"value": …}`.
 *
 * @module
 */
import { type ProblemDetails, problems } from "./problem.js";

export async function readResumeBody(
  request: Request,
  limit: number,
): Promise<{ value: unknown } | ProblemDetails> {
  const type = request.headers.get("content-type");
  const mediaType = type === null ? undefined : type.split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "application/json" && !mediaType?.endsWith("+json")) {
    return problems.unsupportedMediaType(
      `a resumption request has a JSON body, {"value": …}, with Content-Type: application/json (got ${type === null ? "none" : JSON.stringify(type.slice(0, 60))})`,
    );
  }
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > limit) return problems.tooLarge(limit);
  const text = await readText(request, limit);
  if (text === undefined) return problems.tooLarge(limit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return problems.invalidBody(
      text.trim() === "" ? 'the body is empty; send {"value": …}' : "the body is not valid JSON",
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return problems.invalidBody('the body must be a JSON object, {"value": …}');
  }
  if (!Object.hasOwn(parsed, "value"))
    return problems.invalidBody('the body has no "value"; send {"value": …}');
  const extra = Object.keys(parsed).filter((key) => key !== "value");
  if (extra.length > 0) {
    return problems.invalidBody(
      `the body has ${extra.map((k) => JSON.stringify(k.slice(0, 40))).join(", ")} besides "value"; send only {"value": …}`,
    );
  }
  return { value: (parsed as { value: unknown }).value };
}

/** The body as UTF-8 text, or undefined once it passes `limit` bytes (reading stops there). */
async function readText(request: Request, limit: number): Promise<string | undefined> {
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Not canceled: that would destroy the socket under a client still sending, which then
      // sees a reset instead of the 413. The server discards the rest of the body.
      reader.releaseLock();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
