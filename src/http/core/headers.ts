/**
 * The request headers that choose how a client is told of completion:
 *
 * - `Async-CallbackType: webhook` + `Async-CallbackUrl: <url>`: a POST to that URL;
 * - `Async-CallbackType: websockets` + `Async-ConnectionId: <id>`: one text message on that
 *   WebSocket connection (opened at `<basePath>/async/ws`);
 * - `Async-CallbackType: sse` + `Async-ConnectionId: <id>`: one event on that Server-Sent Events
 *   stream (opened at `<basePath>/async/events`).
 *
 * Several types may be listed (`webhook, websockets`): each is told (the .NET original failed on
 * that). Every problem is found here, before the handler runs: a bad header is a 400 and nothing
 * starts.
 *
 * @module
 */
import type { JsonObject } from "../../core/store.js";

/** Where a completion goes. Connection ids are shared by WebSocket and SSE connections. */
export type PushTarget = { webhook: string } | { connection: string };

export const CALLBACK_TYPE = "async-callbacktype";
export const CALLBACK_URL = "async-callbackurl";
export const CONNECTION_ID = "async-connectionid";

const TYPES = ["webhook", "websockets", "sse"] as const;

/** Connection ids are made by the server (128 random bits, base64url); be a little lenient. */
export const CONNECTION_ID_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

/** What the headers ask for, or the problem with them (a sentence for the 400's detail). */
export function parsePushHeaders(headers: { get(name: string): string | null }): PushTarget[] | string {
  const typeHeader = headers.get(CALLBACK_TYPE);
  const url = headers.get(CALLBACK_URL);
  const connection = headers.get(CONNECTION_ID);
  if (typeHeader === null) {
    if (url !== null) return "Async-CallbackUrl was given without Async-CallbackType: webhook";
    if (connection !== null)
      return "Async-ConnectionId was given without Async-CallbackType: websockets (or sse)";
    return [];
  }
  const types = typeHeader.split(",").map((t) => t.trim().toLowerCase());
  for (const type of types) {
    if (!(TYPES as readonly string[]).includes(type)) {
      return `Async-CallbackType has ${JSON.stringify(type.slice(0, 40))}; use webhook, websockets or sse`;
    }
  }
  const targets: PushTarget[] = [];
  if (types.includes("webhook")) {
    if (url === null || url.trim() === "")
      return "Async-CallbackType: webhook needs an Async-CallbackUrl header";
    if (url.length > 2048) return "Async-CallbackUrl is longer than 2048 characters";
    targets.push({ webhook: url.trim() });
  } else if (url !== null) {
    return "Async-CallbackUrl was given without Async-CallbackType: webhook";
  }
  if (types.includes("websockets") || types.includes("sse")) {
    if (connection === null || connection.trim() === "") {
      return "Async-CallbackType: websockets (or sse) needs an Async-ConnectionId header";
    }
    if (!CONNECTION_ID_PATTERN.test(connection.trim())) {
      return "Async-ConnectionId is not a connection id (16–128 characters of A–Z a–z 0–9 _ -, as given by the server when the connection opened)";
    }
    targets.push({ connection: connection.trim() });
  } else if (connection !== null) {
    return "Async-ConnectionId was given without Async-CallbackType: websockets (or sse)";
  }
  return targets;
}

/** The key of the flow metadata that marks a flow started by an async endpoint. */
export const METADATA_KEY = "dtasks/http";

/** What an async endpoint keeps with its flow (visible in `dtasks ls`). */
export interface OperationMetadata {
  /** Format version. */
  v: 1;
  /** The server process name (option `instance`) that accepted the request and pushes. */
  instance: string;
  push: PushTarget[];
}

export function operationMetadata(instance: string, push: PushTarget[]): JsonObject {
  return { [METADATA_KEY]: { v: 1, instance, push } as unknown as JsonObject };
}

/** The operation part of a flow's metadata, or undefined for a flow no async endpoint started. */
export function readOperation(metadata: JsonObject | null | undefined): OperationMetadata | undefined {
  const entry = metadata?.[METADATA_KEY] as unknown as OperationMetadata | undefined;
  if (typeof entry !== "object" || entry === null || entry.v !== 1 || !Array.isArray(entry.push))
    return undefined;
  return entry;
}
