/**
 * What a flow handle needs from its host, kept narrow so handles do not reach into the host's
 * internals: the store, the runtime's decoders, and the host's lifecycle.
 *
 * @module
 */
import type { Store } from "../core/store.js";
import type { FinishedOutcomes } from "./finished.js";
import type { Runtime } from "./runtime.js";

export interface HostContext {
  /** The store; DT504 once the host is closed. */
  store(): Promise<Store>;
  runtime(): Promise<Runtime>;
  /** Throws DT504 if the host is closed. `method` names the call in the message. */
  assertOpen(method: string): void;
  /** Calls `listener` when the host closes; returns the remover. */
  onClose(listener: (error: Error) => void): () => void;
  /** Outcomes of flows this host's runs finished, for its waiting `flow.result()` calls. */
  readonly finished: FinishedOutcomes;
}
