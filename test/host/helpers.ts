/**
 * Shared by the host tests: the two stores every behaviour runs on, temp folders, and assertions
 * on coded errors (code and message, since people read the message).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { DTaskError, memoryStore, type Store } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = "host"): string {
  const dir = mkdtempSync(join(tmpdir(), `dtasks-${prefix}-`));
  dirs.push(dir);
  return dir;
}

export interface StoreKind {
  name: "memory" | "sqlite";
  /** A fresh, empty store. */
  make(): Store;
}

export const STORES: StoreKind[] = [
  { name: "memory", make: () => memoryStore() },
  { name: "sqlite", make: () => sqliteStore({ path: join(tempDir("sqlite"), "state.db"), pollInterval: 5 }) },
];

/** Asserts that `promise` rejects with a DTaskError of `code` whose message matches `message`. */
export async function rejectsWith(
  promise: Promise<unknown> | (() => unknown),
  code: string,
  message?: RegExp,
): Promise<DTaskError> {
  let caught: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof DTaskError,
    `expected DTaskError ${code}, got ${caught === undefined ? "no error" : String(caught)}`,
  );
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** Asserts that `fn` throws synchronously a DTaskError of `code` whose message matches `message`. */
export function throwsWith(fn: () => unknown, code: string, message?: RegExp): DTaskError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof DTaskError,
    `expected DTaskError ${code}, got ${caught === undefined ? "no error" : String(caught)}`,
  );
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** Errors a host reported through `onError`, for assertions (and to keep test output quiet). */
export function collectErrors(): {
  errors: { error: Error; operation: string; flowId?: string }[];
  onError: (error: Error, context: { operation: string; flowId?: string }) => void;
} {
  const errors: { error: Error; operation: string; flowId?: string }[] = [];
  return { errors, onError: (error, context) => errors.push({ error, ...context }) };
}
