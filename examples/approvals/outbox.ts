/**
 * The outbox: e-mails are written to a JSON-lines file of the data folder instead of being sent,
 * and shown at `/outbox`. It outlives a restart of the service, as a mailbox would.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface Mail {
  id: string;
  at: string;
  to: string;
  subject: string;
  text: string;
  /** Decision page links, by choice. */
  links: { approve: string; reject: string };
}

export class Outbox {
  readonly #file: string;

  constructor(data: string) {
    mkdirSync(data, { recursive: true });
    this.#file = join(data, "outbox.jsonl");
  }

  send(mail: Mail): void {
    appendFileSync(this.#file, `${JSON.stringify(mail)}\n`);
  }

  /** Newest first. */
  list(): Mail[] {
    if (!existsSync(this.#file)) return [];
    return readFileSync(this.#file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Mail)
      .reverse();
  }

  find(id: string): Mail | undefined {
    return this.list().find((mail) => mail.id === id);
  }
}
