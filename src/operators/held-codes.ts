import type { OperatorInput } from '../relay/ports/operators.js';
import { ExpiringIds } from '../shared/expiring-ids.js';

/** A plain reply with a code, while the operator is asked which account it is for. */
export type HeldCode = Extract<OperatorInput, { kind: 'code' }>;

/** Options of {@link HeldCodes}. */
export interface HeldCodesOptions {
  /** How long a code waits for its account's button: the longest `CODE_TIMEOUT` of the accounts. */
  readonly keepMs: number;
  /** How many codes are held at most; the oldest goes first (a flood cannot grow memory). */
  readonly max: number;
  readonly now: () => number;
}

/**
 * The codes whose account the operator is asked for, by the ID of the message that held each.
 * Memory only, on purpose: every relay received the same DM, so each holds the code and any of
 * them can act on the button press, while the code is never written to Redis or into a message.
 * A relay that started after the DM does not hold it, and says so (`choice-over`, `code-gone`).
 */
export class HeldCodes {
  readonly #o: HeldCodesOptions;
  readonly #codes = new Map<string, { readonly input: HeldCode; readonly untilMs: number }>();
  /** Messages whose code a press took here: a later press is told it was answered. */
  readonly #taken: ExpiringIds;

  public constructor(options: HeldCodesOptions) {
    this.#o = options;
    this.#taken = new ExpiringIds({ keepMs: options.keepMs, max: options.max });
  }

  /** Holds `input` until its account is chosen or `keepMs` passed. */
  public hold(input: HeldCode): void {
    this.#forget(this.#o.now());
    this.#codes.set(input.inputId, { input, untilMs: this.#o.now() + this.#o.keepMs });
    for (const oldest of this.#codes.keys()) {
      if (this.#codes.size <= this.#o.max) break;
      this.#codes.delete(oldest);
    }
  }

  /** Whether a press here already took message `inputId`'s code (for `keepMs` after). */
  public wasTaken(inputId: string): boolean {
    return this.#taken.has(inputId, this.#o.now());
  }

  /** Holds again a code taken out whose routing failed (the store could not be asked): a press may retry. */
  public putBack(input: HeldCode): void {
    this.#taken.delete(input.inputId);
    this.#codes.set(input.inputId, { input, untilMs: this.#o.now() + this.#o.keepMs });
  }

  /** The code `operatorId` is asked about for message `inputId`, taken out (routed once); `undefined` if none. */
  public take(inputId: string, operatorId: string): HeldCode | undefined {
    const now = this.#o.now();
    this.#forget(now);
    const held = this.#codes.get(inputId);
    // Only its own operator's press takes it (the button is in their DM; anything else is not theirs).
    if (held === undefined || held.input.operatorId !== operatorId) return undefined;
    this.#codes.delete(inputId);
    this.#taken.add(inputId, now);
    return held.input;
  }

  /**
   * Drops the codes `input`'s operator is asked about that hold the same code: it went to an account
   * by another way (a reply to a prompt, the modal), and a press must not send it to a second one.
   */
  public dropSame(input: HeldCode): void {
    for (const [inputId, held] of this.#codes) {
      if (held.input.operatorId === input.operatorId && held.input.code.equals(input.code)) {
        this.#codes.delete(inputId);
      }
    }
  }

  /** How many codes are held (for tests and the log). */
  public get size(): number {
    return this.#codes.size;
  }

  /** Forgets what is due (a code put back may be out of order: each is checked). */
  #forget(now: number): void {
    for (const [inputId, { untilMs }] of this.#codes) if (untilMs <= now) this.#codes.delete(inputId);
  }
}
