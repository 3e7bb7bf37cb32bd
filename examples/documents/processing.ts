/**
 * The processing of a document, as a d-async function. `DTask.yield()` is a durable checkpoint:
 * the web server's request ends there (202), and a worker process (any process sharing the store)
 * carries on from the snapshot: it reads the document, "processes" it for a while (an ordinary
 * await: in memory, at native speed), and returns the figures. The client hears of it on its
 * WebSocket, wherever the flow finished.
 */
import { createHash } from "node:crypto";
import { DTask, dasync } from "dtasks";
import type { Documents } from "./documents.js";

/** How long the work takes (an ordinary, in-memory wait): `PROCESSING_TIME`, default 1.5 s. */
const PROCESSING_MS = Number(process.env.PROCESSING_TIME_MS ?? 1500);

let documents: Documents | undefined;

/** Where this process finds the documents (the server and the worker share the data folder). */
export function configureDocuments(store: Documents): void {
  documents = store;
}

export interface ProcessedDocument {
  documentId: string;
  name: string;
  bytes: number;
  words: number;
  lines: number;
  sha256: string;
  /** The process that did the work: the worker, not the web server that accepted the request. */
  processedBy: number;
}

export const processDocument = dasync(async function processDocument(documentId: string) {
  await DTask.yield();
  if (!documents) throw new Error("configureDocuments() was not called in this process");
  const info = documents.info(documentId);
  if (!info) throw new Error(`document ${documentId} is gone`);
  const content = documents.content(documentId);
  const text = content.toString("utf8");
  await new Promise((resolve) => setTimeout(resolve, PROCESSING_MS));
  const result: ProcessedDocument = {
    documentId,
    name: info.name,
    bytes: content.byteLength,
    words: text.split(/\s+/).filter(Boolean).length,
    lines: text === "" ? 0 : text.split("\n").length,
    sha256: createHash("sha256").update(content).digest("hex"),
    processedBy: process.pid,
  };
  console.log(`[worker ${process.pid}] processed ${info.name}: ${result.words} words`);
  return result;
});
