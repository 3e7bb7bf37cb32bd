/**
 * A clock that only moves when told to. Timers fire in due order (ties in the order they were
 * set) when the clock is moved past them, each with the clock reading its own due time, so code
 * under test sees the same sequence of `now()` values it would see in real time.
 *
 * @module
 */
import type { CancelTimer, Clock } from "../host/clock.js";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): CancelTimer {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return () => {
      const i = this.#timers.indexOf(timer);
      if (i >= 0) this.#timers.splice(i, 1);
    };
  }

  /** The due time of the earliest timer, if any. */
  nextDue(): number | undefined {
    return this.#timers[0]?.at;
  }

  /** Moves the clock forward (never back) to `time`, without firing anything. */
  set(time: number): void {
    if (time > this.#now) this.#now = time;
  }

  /** Fires every timer due now, earliest first; returns how many fired. */
  fireDue(): number {
    let fired = 0;
    while (this.#timers.length > 0 && this.#timers[0]!.at <= this.#now) {
      const timer = this.#timers.shift()!;
      fired++;
      timer.fn();
    }
    return fired;
  }
}
