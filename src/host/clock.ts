/**
 * Time, as the host sees it. Every `now` the host hands to the store and the runtime, and every
 * timer it sets (worker wake-ups, lease renewals, sweeps), goes through a {@link Clock}, so that
 * `dtasks/testing` can run a 7-day delay on a virtual clock in milliseconds of real time.
 *
 * @module
 */

/** Cancels a timer. Idempotent. */
export type CancelTimer = () => void;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds of this clock's time. */
  setTimer(ms: number, fn: () => void): CancelTimer;
}

/** Largest delay `setTimeout` accepts (about 24.8 days); longer waits are re-armed. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * The real clock. Timers are `unref()`ed: a host never keeps a process alive by itself, a worker
 * does (see `Worker`), so a script that only starts flows exits when it is done.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    let handle: NodeJS.Timeout;
    let canceled = false;
    const due = Date.now() + ms;
    const arm = (delay: number) => {
      handle = setTimeout(
        () => {
          if (canceled) return;
          const left = due - Date.now();
          if (left > 0) arm(left);
          else fn();
        },
        Math.min(Math.max(0, delay), MAX_TIMEOUT_MS),
      );
      handle.unref();
    };
    arm(ms);
    return () => {
      canceled = true;
      clearTimeout(handle);
    };
  },
};
