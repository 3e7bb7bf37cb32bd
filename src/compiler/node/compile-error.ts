/**
 * Turns a failure to compile a file into an error a user can act on: `file:line:column`, the
 * message, and a code frame of their source, with no compiler-internal stack frames (those say
 * nothing about their code). A broken compiler invariant keeps its stack, because that is a bug
 * report. Loader hooks may run in another thread, so everything that matters is in `message`,
 * `code` and `stack`, the parts of an error that survive the trip.
 */
import { codeFrameColumns } from "@babel/code-frame";
import { DTaskError, ERROR_CODES, type ErrorCode } from "../../core/errors.js";

interface Position {
  line: number;
  /** 1-based. */
  column: number;
}

/** A code frame in the message means the compiler or parser located the problem in the user's code. */
const FRAME_LINE = /^\s*>\s*(\d+) \|/m;

/** The error to throw for an exception raised by `transform` while compiling `file`. */
export function compileError(error: unknown, file: string): Error {
  if (!(error instanceof Error)) return new Error(`dtasks could not compile ${file}: ${String(error)}`);
  if (!FRAME_LINE.test(error.message)) {
    const wrapped = new Error(
      `dtasks could not compile ${file} (a compiler bug; please report it): ${error.message}`,
      {
        cause: error,
      },
    );
    wrapped.stack = `Error: ${wrapped.message}\n${framesOf(error)}`;
    return wrapped;
  }
  // Babel prefixes the file name it was given; we put our own `file:line:column` there instead.
  const text = error.message.replace(/^[^\s:]+\.[cm]?[jt]sx?: /, "");
  return userError(file, positionOf(error, text), text, codeOf(error, text));
}

/** The error to throw when esbuild cannot strip the TypeScript of `file`. */
export function stripError(error: unknown, file: string, source: string): Error {
  const messages = (error as { errors?: EsbuildMessage[] }).errors;
  if (!Array.isArray(messages) || messages.length === 0) return compileError(error, file);
  const first = messages[0]!.location;
  const text = messages
    .map(({ text, location }) => {
      if (!location) return text;
      const at = { line: location.line, column: location.column + 1 };
      const frame = codeFrameColumns(source, { start: at }, { highlightCode: false });
      return `${location.line}:${at.column}: ${text}\n${frame}`;
    })
    .join("\n\n");
  const at = first ? { line: first.line, column: first.column + 1 } : undefined;
  return userError(file, at, messages.length > 1 ? `\n${text}` : text.replace(/^\d+:\d+: /, ""), undefined);
}

interface EsbuildMessage {
  text: string;
  location: { line: number; column: number } | null;
}

function userError(file: string, at: Position | undefined, text: string, code: ErrorCode | undefined): Error {
  const where = at ? `${file}:${at.line}:${at.column}` : file;
  const message = `${where}: ${text}`;
  const error = code ? new DTaskError(code, message) : new SyntaxError(message);
  const head = code && !text.includes(`[${code}]`) ? `${error.name} [${code}]` : error.name;
  error.stack = `${head}: ${message}${at ? `\n    at ${where}` : ""}`;
  return error;
}

function codeOf(error: Error, text: string): ErrorCode | undefined {
  const candidates = [(error as { code?: unknown }).code, /\[(DT\d{3})\]/.exec(text)?.[1]];
  return candidates.find((c): c is ErrorCode => typeof c === "string" && c in ERROR_CODES);
}

/** From Babel's `loc` (0-based column), else from the `>` line and caret of the code frame. */
function positionOf(error: Error, text: string): Position | undefined {
  const loc = (error as { loc?: { line?: unknown; column?: unknown } }).loc;
  if (typeof loc?.line === "number" && typeof loc.column === "number")
    return { line: loc.line, column: loc.column + 1 };
  const lines = text.split("\n");
  const index = lines.findIndex((l) => FRAME_LINE.test(l));
  if (index < 0) return undefined;
  const line = Number(FRAME_LINE.exec(lines[index]!)![1]);
  const gutter = lines[index]!.indexOf("|") + 2;
  const caret = lines[index + 1]?.indexOf("^") ?? -1;
  return { line, column: caret >= gutter ? caret - gutter + 1 : 1 };
}

function framesOf(error: Error): string {
  return (error.stack ?? "")
    .split("\n")
    .filter((l) => /^\s+at /.test(l))
    .join("\n");
}
