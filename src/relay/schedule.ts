import { Cron } from 'croner';

/** The planned login times (`LOGIN_SCHEDULE` in `LOGIN_SCHEDULE_TZ`). */
export interface PlannedLogins {
  /** The first planned time strictly after `after`, or `undefined` when there is none. */
  nextAfter(after: Date): Date | undefined;
}

/** Planned logins from a cron expression in an IANA time zone, computed by croner (DST-aware). */
export function cronPlannedLogins(expression: string, timeZone: string): PlannedLogins {
  // Paused: croner only computes dates here; the relay arms its own timers.
  const job = new Cron(expression, { paused: true, timezone: timeZone });
  return { nextAfter: (after) => job.nextRun(after) ?? undefined };
}

/** What {@link planRenewal} needs. */
export interface RenewalPlanInput {
  readonly now: Date;
  /** When the current token expires. */
  readonly expiresAt: Date;
  /** `RENEW_BEFORE`: used when there is no schedule. */
  readonly renewBeforeMs: number;
  readonly planned?: PlannedLogins | undefined;
}

/** When the next login for a token should start, and why then. */
export type RenewalPlan =
  /** No schedule: `RENEW_BEFORE` ahead of expiry. */
  | { readonly kind: 'before-expiry'; readonly renewAt: Date }
  /** The last planned time at which the token is still valid. */
  | { readonly kind: 'planned'; readonly renewAt: Date }
  /**
   * No planned time falls before expiry: the token lapses, and the next login waits for the next
   * planned time. The operators are warned, so they can log in earlier on purpose.
   */
  | { readonly kind: 'after-expiry'; readonly renewAt: Date };

/** Planned times looked at, at most, for one plan: a schedule every minute for ten days. */
const MAX_PLANNED_STEPS = 14_400;

/**
 * Decides when to renew a token. Pure.
 *
 * Without a schedule: `RENEW_BEFORE` ahead of expiry. With one, renewal moves to the **last** planned
 * time `t` with `now < t < expiresAt`: the SMS comes when someone is awake, as late as the schedule
 * allows, while the token still works. When no planned time falls before expiry the relay does not
 * text anyone at an unplanned hour for it: the next login is the next planned one, and the caller
 * warns the operators ahead of time.
 */
export function planRenewal(input: RenewalPlanInput): RenewalPlan {
  const nowMs = input.now.getTime();
  const expiresMs = input.expiresAt.getTime();
  if (input.planned === undefined) {
    return { kind: 'before-expiry', renewAt: new Date(Math.max(nowMs, expiresMs - input.renewBeforeMs)) };
  }
  let last: Date | undefined;
  let next = input.planned.nextAfter(input.now);
  for (
    let step = 0;
    next !== undefined && next.getTime() < expiresMs && step < MAX_PLANNED_STEPS;
    step += 1
  ) {
    last = next;
    next = input.planned.nextAfter(next);
  }
  if (last !== undefined) return { kind: 'planned', renewAt: last };
  // Config refuses a schedule with no future time; `expiresAt` stands in if one ever runs out.
  return { kind: 'after-expiry', renewAt: next ?? input.expiresAt };
}
