/**
 * Turns of the event loop for long chains of work. On a synchronous store (SQLite, memory) a claim,
 * a run and its commit all settle as promise reactions, so a worker draining a backlog, or a flow
 * that keeps yielding, would never let the process's timers and I/O run. Such chains call
 * {@link letEventLoopTurn} between units of work: it goes on at once while the current turn is
 * young, and waits for the event loop to turn once the chain has held it for
 * {@link TURN_BUDGET_MS}. The budget is per turn of the process's event loop, shared by every
 * worker and runner in it.
 *
 * @module
 */

/** How long a chain of promise reactions may keep the event loop from turning. */
export const TURN_BUDGET_MS = 10;

/** When the current turn's chain of work began; cleared by an immediate once the loop turns. */
let turnStartedAt: number | undefined;

/** Nothing to wait for, or a promise that resolves once the event loop has turned. */
export function letEventLoopTurn(): Promise<void> | undefined {
  const now = performance.now();
  if (turnStartedAt === undefined) {
    turnStartedAt = now;
    setImmediate(() => {
      turnStartedAt = undefined;
    });
    return undefined;
  }
  if (now - turnStartedAt < TURN_BUDGET_MS) return undefined;
  return new Promise((resolve) => setImmediate(resolve));
}
