/** Options of {@link LoginBudget}. */
export interface LoginBudgetOptions {
  /** `MAX_LOGINS_PER_HOUR`: step-1 calls (so SMS messages) allowed in any hour. */
  maxPerHour: number;
  /** Step-1 times already spent (epoch ms), e.g. restored after a restart. */
  spent?: readonly number[];
}

const HOUR_MS = 3_600_000;

/**
 * The SMS guard: a sliding one-hour window over step-1 calls, whatever triggered them. Every step 1
 * texts a human and may count towards an account lock, so the cap holds for every trigger.
 */
export class LoginBudget {
  readonly #maxPerHour: number;
  #spent: number[];

  public constructor(options: LoginBudgetOptions) {
    this.#maxPerHour = options.maxPerHour;
    this.#spent = [...(options.spent ?? [])].sort((a, b) => a - b);
  }

  /**
   * Spends one login at `nowMs` if the window allows it. Returns `{ ok: true }`, or when the next
   * login may start.
   */
  public trySpend(nowMs: number): { ok: true } | { ok: false; nextAllowedAt: Date } {
    this.#spent = this.#spent.filter((at) => at > nowMs - HOUR_MS);
    if (this.#spent.length >= this.#maxPerHour) {
      const oldest = this.#spent[0] ?? nowMs;
      return { ok: false, nextAllowedAt: new Date(oldest + HOUR_MS) };
    }
    this.#spent.push(nowMs);
    return { ok: true };
  }

  /** Step-1 times within the last hour (for persistence and `/status`). */
  public spent(nowMs: number): readonly number[] {
    return this.#spent.filter((at) => at > nowMs - HOUR_MS);
  }
}
