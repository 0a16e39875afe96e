import { BrokerError } from '../../domain/broker-errors.js';
import type { StartLoginResult } from '../ports/broker.js';
import { errorFields } from '../../shared/log.js';
import { abortableSleep, backoffDelayMs } from '../../shared/sleep.js';
import type { ClaimResult, CodeClaim, PromptRefs, SharedLogin } from '../ports/coordination.js';
import { codeDigest, newDigestKey } from '../digest.js';
import type { LoginRunnerOptions } from './runner-options.js';
import { toPending } from './start.js';
import { INPUT_CLAIM_TTL_MS } from './teller.js';
import type { LoginEffect, LoginInput } from './types.js';
import type { LoginBase } from '../../domain/login.js';

/**
 * The runner's calls that take more than one port call: step 1 with its retries, claiming a code,
 * finding where the prompt messages are. Each resolves to the next input of the transitions.
 */

/** What the calls need: a few of the runner's ports and settings. */
export type CallContext = Pick<
  LoginRunnerOptions,
  | 'settings'
  | 'relayId'
  | 'maxLoginsPerHour'
  | 'startRetry'
  | 'broker'
  | 'coordination'
  | 'logger'
  | 'now'
  | 'random'
> & {
  /** Aborted when the relay stops. */
  readonly stopping: AbortSignal;
};

/** How long, at most, a relay waits for another relay to record where its prompts went. */
const PROMPT_REFS_WAIT_MS = 100;
const PROMPT_REFS_WAITS = 20;

/**
 * Step 1, tried again after network errors, time-outs, 5xx and 429 (its `Retry-After` honoured),
 * with exponential backoff and jitter, a bounded number of times. Each try counts against the SMS
 * guard: a call that failed on the way back may still have texted someone. Stops when the lock is
 * lost or the relay stops.
 */
export async function stepOne(c: CallContext, base: LoginBase, lockLost: AbortSignal): Promise<LoginInput> {
  const signal = AbortSignal.any([lockLost, c.stopping]);
  const retry = c.startRetry;
  // When the call that worked was sent: its SMS cannot have been read before.
  let sentAtMs = c.now();
  const done = (outcome: Extract<LoginInput, { kind: 'step-one-done' }>['outcome']): LoginInput => ({
    kind: 'step-one-done',
    base,
    outcome,
    now: c.now(),
    codeKey: newDigestKey(),
  });
  for (let attempt = 1; ; attempt += 1) {
    try {
      if (signal.aborted) throw signal.reason;
      sentAtMs = c.now();
      const result: StartLoginResult = await c.broker.startLogin(signal);
      return done(result.kind === 'token' ? result : { ...result, sentAtMs });
    } catch (error) {
      const retryable =
        error instanceof BrokerError && error.transient && attempt < retry.attempts && !signal.aborted;
      const waitMs = retryable ? (error.retryAfterMs ?? backoffDelayMs(attempt, retry, c.random)) : 0;
      if (!retryable || waitMs > retry.maxDelayMs)
        return done({ kind: 'error', error, lockLost: lockLost.aborted });
      c.logger.warn(
        { loginId: base.loginId, attempt, kind: error.kind, retryInMs: waitMs },
        'step 1 failed; trying again',
      );
      await abortableSleep(waitMs, signal);
      const spend = signal.aborted
        ? { ok: false }
        : await c.coordination.spendLogin(c.now(), c.maxLoginsPerHour).catch(() => ({ ok: false }));
      if (!spend.ok) return done({ kind: 'error', error, lockLost: lockLost.aborted });
    }
  }
}

/**
 * Claims a code for the broker. A code from the modal names its login; a plain reply goes to the
 * login that waits now (this relay's view may be behind another's).
 *
 * The operator input that carried the code is claimed in the same store call as the code (every
 * relay receives the same DM: only the one that claims it answers): one round trip between the DM
 * and the broker. Only when there is no login to claim for is the input claimed on its own.
 */
export async function claimCode(
  c: CallContext,
  effect: Extract<LoginEffect, { kind: 'claim-code' }>,
): Promise<ClaimResult | undefined | 'store-failed'> {
  const { input, known } = effect;
  const coordination = c.coordination;
  let inputClaim: CodeClaim['input'] = { inputId: input.inputId, ttlMs: INPUT_CLAIM_TTL_MS };
  const claimFor = (login: Pick<SharedLogin, 'loginId' | 'codeKey'>): Promise<ClaimResult> => {
    const claim = coordination.claimCode({
      loginId: login.loginId,
      relayId: c.relayId,
      operatorId: input.operatorId,
      codeDigest: codeDigest(login.codeKey, input.code),
      ...(input.loginId === undefined ? { writtenAtMs: input.sentAt.getTime() } : {}),
      maxAttempts: c.settings.maxCodeAttempts,
      ...(inputClaim === undefined ? {} : { input: inputClaim }),
    });
    inputClaim = undefined;
    return claim;
  };
  /** `refusal` once this relay holds the input, else `input-taken`. */
  const unlessTaken = async <T>(refusal: T): Promise<T | ClaimResult> => {
    if (inputClaim === undefined) return refusal;
    const taken = await coordination.claimInput(inputClaim.inputId, inputClaim.ttlMs);
    inputClaim = undefined;
    return taken ? refusal : INPUT_TAKEN;
  };
  try {
    if (input.loginId !== undefined) {
      const target = known?.loginId === input.loginId ? known : await coordination.loadPending();
      return target?.loginId === input.loginId
        ? await claimFor(target)
        : await unlessTaken<ClaimResult>({ ok: false, reason: 'none' });
    }
    let target = known ?? (await coordination.loadPending());
    if (target === undefined && effect.starting) {
      // The SMS went out and this relay is storing its login: a quick operator (or a slow prompt
      // DM) can bring the code first. Take the DM, then wait for the login rather than answer
      // "no login waits".
      const refusal = await unlessTaken(undefined);
      if (refusal !== undefined) return refusal;
      target = await waitForPending(c);
    }
    if (target === undefined) return await unlessTaken(undefined);
    const claim = await claimFor(target);
    if (claim.ok || claim.reason !== 'none') return claim;
    const current = await coordination.loadPending();
    if (current === undefined) return undefined;
    return current.loginId === target.loginId ? claim : await claimFor(current);
  } catch (error) {
    c.logger.error({ operatorId: input.operatorId, err: errorFields(error) }, 'claim failed');
    return 'store-failed' as const;
  }
}

const INPUT_TAKEN: ClaimResult = { ok: false, reason: 'input-taken' };

/** The pending login once it is stored, waiting briefly (as for prompt refs); `undefined` if none comes. */
async function waitForPending(c: CallContext): Promise<SharedLogin | undefined> {
  for (let wait = 0; wait < PROMPT_REFS_WAITS; wait += 1) {
    await abortableSleep(PROMPT_REFS_WAIT_MS, c.stopping);
    if (c.stopping.aborted) return undefined;
    const pending = await c.coordination.loadPending();
    if (pending !== undefined) return pending;
  }
  return undefined;
}

/**
 * Where the prompt messages of `shared` are, for a relay about to edit them. Only the relay that
 * started a login sends its prompts; it records where they went right after. An answer can reach
 * another relay first, within that moment: it waits for the record (briefly) rather than send
 * every operator a second prompt.
 */
export async function findPrompts(
  c: CallContext,
  effect: Extract<LoginEffect, { kind: 'find-prompts' }>,
): Promise<LoginInput> {
  const { shared, input } = effect;
  const found = (refs: PromptRefs): LoginInput => ({
    kind: 'prompts-found',
    login: toPending(shared),
    input,
    refs,
    now: c.now(),
  });
  if (Object.keys(shared.prompts).length > 0) return found(shared.prompts);
  if (effect.startedHere) return found(effect.known);
  for (let wait = 0; wait < PROMPT_REFS_WAITS; wait += 1) {
    await abortableSleep(PROMPT_REFS_WAIT_MS, c.stopping);
    const pending = await c.coordination.loadPending().catch(() => undefined);
    if (pending?.loginId !== shared.loginId) break;
    if (Object.keys(pending.prompts).length > 0) return found(pending.prompts);
  }
  return found({});
}
