/**
 * Keeps a run's lease alive while the run executes in process (ordinary awaits may take long: a
 * `fetch`, a slow database). It renews every third of the lease, so two renewals can fail before
 * the lease runs out. Losing the lease (another worker took the flow after an expiry) is recorded
 * and renewing stops: the run's commit will be refused by the store anyway (fencing), and the
 * runner does not even try.
 *
 * @module
 */
import { DTaskError } from "../core/errors.js";
import type { Lease, Store } from "../core/store.js";
import type { CancelTimer, Clock } from "./clock.js";
import type { HostErrorContext } from "./options.js";

export class LeaseKeeper {
  #lease: Lease;
  #cancel: CancelTimer | null = null;
  #stopped = false;
  /** Set when the lease is known to be gone (DT401 on renewal). */
  lost: Error | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly flowId: string,
    lease: Lease,
    private readonly leaseMs: number,
    private readonly onError: (error: Error, context: HostErrorContext) => void,
  ) {
    this.#lease = lease;
    this.#arm();
  }

  get lease(): Lease {
    return this.#lease;
  }

  /**
   * A commit kept the lease. If it renewed it, take the new one and start counting again; if it
   * left it as it was (a checkpoint renews only once a tenth of the lease has gone), the renewal
   * already planned still comes in time.
   */
  update(lease: Lease): void {
    const same = lease.token === this.#lease.token && lease.expiresAt === this.#lease.expiresAt;
    this.#lease = lease;
    if (same && this.#cancel !== null) return;
    this.#cancel?.();
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = null;
  }

  #arm(): void {
    if (this.#stopped || this.lost) return;
    this.#cancel = this.clock.setTimer(Math.max(1, Math.floor(this.leaseMs / 3)), () => void this.#renew());
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    try {
      this.#lease = await this.store.renewLease({
        flowId: this.flowId,
        token: this.#lease.token,
        now: this.clock.now(),
        leaseMs: this.leaseMs,
      });
    } catch (error) {
      if (error instanceof DTaskError && error.code === "DT401") {
        this.lost = error;
        return;
      }
      // The store may be back before the lease runs out; keep trying on the same rhythm.
      this.onError(error as Error, { operation: "renew", flowId: this.flowId });
    }
    this.#arm();
  }
}
