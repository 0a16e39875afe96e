import { MAX_TIMER_DELAY_MS } from './token-waiters.js';

/** One armed alarm of {@link ExpiryAlarms}: what to call, and the deadline group it waits in. */
export interface ExpiryAlarm {
  /** Called once the deadline has come (by the timer: possibly late, or early when it was capped). */
  readonly fire: () => void;
  /** Set while the alarm is armed; only {@link ExpiryAlarms} touches it. */
  group: AlarmGroup | undefined;
}

/** The alarms that share one deadline, and the one timer that serves them. */
interface AlarmGroup {
  readonly atMs: number;
  readonly alarms: Set<ExpiryAlarm>;
  readonly timer: NodeJS.Timeout;
}

/**
 * Timers for token expiries, one per distinct deadline rather than one per alarm. Every client that
 * holds a token read from the same key holds the same expiry, so a process of 1,000 clients that all
 * take a new token arms one timer, not 1,000: taking a token costs a client a `Set` insertion and no
 * timer. Timers are unref'd: an alarm never keeps the process alive.
 */
export class ExpiryAlarms {
  readonly #groups = new Map<number, AlarmGroup>();

  /** How many timers are armed (one per distinct deadline); for tests and diagnostics. */
  public get timers(): number {
    return this.#groups.size;
  }

  /** Arms `alarm` for the wall-clock time `atMs` (disarming it first if it was armed). */
  public set(alarm: ExpiryAlarm, atMs: number): void {
    if (alarm.group?.atMs === atMs) return;
    this.clear(alarm);
    let group = this.#groups.get(atMs);
    if (group === undefined) {
      const alarms = new Set<ExpiryAlarm>();
      // setTimeout fires at once for a delay beyond ~24.8 days: such a timer is capped, and the
      // alarm's owner arms it again when it fires early.
      const delayMs = Math.min(Math.max(atMs - Date.now(), 0), MAX_TIMER_DELAY_MS);
      const created: AlarmGroup = {
        atMs,
        alarms,
        timer: setTimeout(() => this.#fire(created), delayMs).unref(),
      };
      group = created;
      this.#groups.set(atMs, group);
    }
    group.alarms.add(alarm);
    alarm.group = group;
  }

  /** Disarms `alarm`; its group's timer stops once no alarm is left in it. */
  public clear(alarm: ExpiryAlarm): void {
    const { group } = alarm;
    if (group === undefined) return;
    alarm.group = undefined;
    group.alarms.delete(alarm);
    if (group.alarms.size === 0 && this.#groups.get(group.atMs) === group) {
      clearTimeout(group.timer);
      this.#groups.delete(group.atMs);
    }
  }

  #fire(group: AlarmGroup): void {
    // Out of the map first: an alarm armed again for the same deadline gets a timer of its own.
    if (this.#groups.get(group.atMs) === group) this.#groups.delete(group.atMs);
    // Iterating the live set: an alarm that another one's `fire` disarms is skipped, as it should be.
    for (const alarm of group.alarms) {
      group.alarms.delete(alarm);
      alarm.group = undefined;
      alarm.fire();
    }
  }
}

/** The process's alarms: every {@link HeldToken} of the process arms its expiry here. */
export const expiryAlarms = new ExpiryAlarms();
