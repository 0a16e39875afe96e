import { ExpiringIds } from '../shared/expiring-ids.js';
import { errorFields, type Logger } from '../shared/log.js';
import type { LoginCoordination } from './ports/coordination.js';
import type { OperatorInput, OperatorNotice } from './ports/operators.js';
import { CLAIM_TTL_MS as INPUT_CLAIM_TTL_MS } from './login/context.js';

/** What {@link InputClaims} needs. */
export interface InputClaimsOptions {
  readonly coordination: LoginCoordination;
  readonly logger: Logger;
  readonly now: () => number;
  /** Tells an operator something; never throws. */
  readonly notify: (operatorId: string, notice: OperatorNotice) => Promise<void>;
}

/**
 * Every relay receives the same DM through its own gateway connection: only the one that claims it
 * (in the coordination store) acts and answers. This relay also remembers what it already handled,
 * so that a repeat delivery (a gateway resume) is dropped whatever the store says then.
 */
export class InputClaims {
  readonly #o: InputClaimsOptions;
  /** Inputs this relay had an answer for, until it forgets them. */
  readonly #known = new ExpiringIds({ keepMs: INPUT_CLAIM_TTL_MS });

  public constructor(options: InputClaimsOptions) {
    this.#o = options;
  }

  /**
   * Whether this relay sees `inputId` for the first time (a repeat delivery is dropped whatever the
   * store says), remembering it. For a code, whose store claim rides along with the code's own
   * (see `claimCode` in login/code.ts): nothing else is asked here.
   */
  public firstDelivery(inputId: string): boolean {
    return this.#known.firstTime(inputId, this.#o.now());
  }

  /** Whether this relay takes `input`. A store failure is told to the operator: nothing was sent. */
  public async claim(input: Exclude<OperatorInput, { kind: 'command' | 'code' }>): Promise<boolean> {
    const { coordination, logger, now } = this.#o;
    const startedAt = now();
    // Known from now on, not once the store answers: a repeat delivery while this claim waits on a
    // stalled store is this one's to answer, never a second answer of its own.
    if (!this.#known.firstTime(input.inputId, startedAt)) return false;
    const log = { operatorId: input.operatorId, input: input.kind };
    try {
      const taken = await coordination.claimInput(input.inputId, INPUT_CLAIM_TTL_MS);
      if (taken && now() - startedAt >= INPUT_CLAIM_TTL_MS) {
        // Held up here (a stalled process) past the claims' memory: another relay may have taken
        // and answered it long ago. It is too old to act on either way.
        logger.warn(log, 'input dropped: it came too late');
        return false;
      }
      if (!taken) logger.debug(log, 'input taken by another relay');
      return taken;
    } catch (error) {
      // Whether another relay took it is unknown. Never silence: the operator tries again, with a
      // new message; a repeat delivery of this one is dropped (it had its answer).
      logger.error({ ...log, err: errorFields(error) }, 'input not taken: the coordination store failed');
      await this.#o.notify(input.operatorId, { kind: 'input-not-taken' });
      return false;
    }
  }
}
