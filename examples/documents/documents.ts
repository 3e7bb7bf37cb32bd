/** Uploaded documents: bytes and a small JSON description, in the data folder. */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface DocumentInfo {
  documentId: string;
  name: string;
  bytes: number;
  uploadedAt: string;
}

const ID = /^[0-9a-f-]{36}$/;

export class Documents {
  readonly #dir: string;

  constructor(data: string) {
    this.#dir = join(data, "documents");
    mkdirSync(this.#dir, { recursive: true });
  }

  save(name: string, content: Uint8Array): DocumentInfo {
    const info: DocumentInfo = {
      documentId: randomUUID(),
      name: name.slice(0, 200) || "document",
      bytes: content.byteLength,
      uploadedAt: new Date().toISOString(),
    };
    writeFileSync(join(this.#dir, `${info.documentId}.bin`), content);
    writeFileSync(join(this.#dir, `${info.documentId}.json`), JSON.stringify(info));
    return info;
  }

  info(documentId: string): DocumentInfo | undefined {
    if (!ID.test(documentId)) return undefined;
    const file = join(this.#dir, `${documentId}.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as DocumentInfo) : undefined;
  }

  content(documentId: string): Buffer {
    if (!ID.test(documentId)) throw new Error(`no document ${documentId}`);
    return readFileSync(join(this.#dir, `${documentId}.bin`));
  }
}
