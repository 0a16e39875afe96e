import { createHmac, randomBytes } from 'node:crypto';
import type { PendingLogin } from '../../domain/login.js';
import { afterRefusal, refusalNotice, type AfterRefusal } from '../../domain/rules.js';
import { errorFields } from '../../shared/log.js';
import { Secret } from '../../shared/secret.js';
import { abortableSleep } from '../../shared/sleep.js';
import type { SubmitCodeResult } from '../ports/broker.js';
import type { ClaimResult, CodeClaim, PromptRefs, SharedLogin } from '../ports/coordination.js';
import type { OperatorInput } from '../ports/operators.js';
import { CLAIM_TTL_MS, type LoginContext } from './context.js';
import { claimEnding, endOwnExchange, failLogin, reportEnding, STORE_RECHECK_MS } from './endings.js';
import { endedLogin, pendingLogin, toPending } from './state.js';
import { emit, notify, observe, showChecking, showPrompt } from './tell.js';

/** A code from an operator, as the relay received it. */
export type CodeInput = Extract<OperatorInput, { kind: 'code' }>;

/** A login started by a relay configured otherwise; `inputHeld`: this relay claimed the DM already. */
interface OtherConfig {
  readonly otherConfig: string;
  readonly inputHeld: boolean;
}

/** A code claim sent to the store whose answer never came. */
interface UnsureClaim {
  readonly loginId: string;
  readonly deadlineMs: number;
  readonly digest: string;
}

/** A code the broker has not judged by then is shown as being checked. */
const CHECKING_PROMPT_AFTER_MS = 250;
/** How long, at most, a relay waits for another relay to store its login or its prompts' places. */
const WAIT_STEP_MS = 100;
const WAIT_STEPS = 20;
/** How long a relay configured otherwise leaves a DM to the others before it says why it did not act. */
const STAND_ASIDE_MS = 2_000;

/**
 * An operator's code, from the DM to the broker and back: claimed across relays (once, for the
 * login whose prompt was out when it was written, never twice), sent to the broker (step 2, never
 * retried), then the token published, the login reopened for another code, or the login ended.
 */
export async function enterCode(ctx: LoginContext, input: CodeInput): Promise<void> {
  const { operatorId } = input;
  const claim = await claimCode(ctx, input);
  if (claim !== undefined && 'otherConfig' in claim) return standAside(ctx, input, claim);
  if (claim !== undefined && 'unsure' in claim) {
    ctx.logger.error({ operatorId }, 'code not taken: the coordination store failed');
    await notify(ctx, operatorId, { kind: 'input-not-taken' });
    if (claim.unsure !== undefined) reconcile(ctx, input, claim.unsure);
    return;
  }
  if (claim?.ok === false && claim.reason === 'input-taken') {
    // Another relay took this DM (every relay receives it) and answers it; or a repeat delivery.
    return ctx.logger.debug({ operatorId }, 'input taken by another relay');
  }
  if (claim === undefined || !claim.ok) {
    return notify(ctx, operatorId, refusalNotice(claim, input.loginId !== undefined));
  }
  return exchange(ctx, input, claim.login);
}

/**
 * A claim the store ran may have lost its answer on the way back (a failover cuts every link): the
 * login would then wait, `exchanging` by this relay, for a code this relay never sends, and refuse
 * every other as busy until its deadline. Once the store answers again, a login still exchanging
 * by this relay with this code's digest is this relay's to send: it goes now, still the first send.
 */
function reconcile(ctx: LoginContext, input: CodeInput, sent: UnsureClaim, waitMs = WAIT_STEP_MS): void {
  // Looked at again on a timer, not in a loop: the relay's work is not held up by a store that is down.
  ctx.timers.at(`reconcile:${input.inputId}`, ctx.now() + waitMs, async () => {
    let found: SharedLogin | undefined;
    try {
      found = await ctx.coordination.loadPending();
    } catch {
      // Past the deadline (and the grace of a code sent just before it), the login is over anyway.
      if (ctx.now() < sent.deadlineMs + ctx.settings.exchangeGraceMs) {
        reconcile(ctx, input, sent, Math.min(2 * waitMs, STORE_RECHECK_MS));
      }
      return;
    }
    const phase = found?.loginId === sent.loginId ? found.phase : undefined;
    const ours =
      found !== undefined &&
      phase?.kind === 'exchanging' &&
      phase.relayId === ctx.relayId &&
      phase.operatorId === input.operatorId &&
      // This input's claim, not a later one of the same code by the same operator.
      phase.inputId === input.inputId &&
      found.triedCodes.includes(sent.digest);
    if (!ours || found === undefined) return;
    const log = { loginId: sent.loginId, operatorId: input.operatorId };
    ctx.logger.warn(log, 'a claim whose answer was lost went through; sending its code');
    await notify(ctx, input.operatorId, { kind: 'code-taken-after-all' });
    await exchange(ctx, input, found);
  });
}

/**
 * Login `loginId` was started by a relay configured otherwise (other credentials, broker or limits:
 * a deploy under way, or replicas set up differently): this relay never claims or sends a code for
 * it, and leaves the DM to a relay that is configured alike. If none takes it within a moment, the
 * operator hears why nothing happened.
 */
async function standAside(ctx: LoginContext, input: CodeInput, aside: OtherConfig): Promise<void> {
  const { operatorId } = input;
  ctx.logger.warn(
    { loginId: aside.otherConfig, operatorId },
    'code left alone: this relay is configured otherwise than the one that started the login',
  );
  // This relay took the DM already (it waited for a login being stored): nobody else can answer.
  if (aside.inputHeld) return notify(ctx, operatorId, { kind: 'config-mismatch' });
  ctx.timers.at(`stand-aside:${input.inputId}`, ctx.now() + STAND_ASIDE_MS, async () => {
    const mine = await ctx.coordination.claimInput(input.inputId, CLAIM_TTL_MS).catch(() => false);
    if (mine) await notify(ctx, operatorId, { kind: 'config-mismatch' });
  });
}

/** A code claimed for the broker: step 2, then what its answer means for the login. */
async function exchange(ctx: LoginContext, input: CodeInput, shared: SharedLogin): Promise<void> {
  const { operatorId } = input;
  const { loginId } = shared;
  const view = ctx.view();
  ctx.dispatch({ type: 'claimed', login: shared, operatorId });
  // Known at once in the common case (the prompt's places are stored, or this relay sent them): no
  // wait, not even a microtask, between the claim and step 2.
  const known = knownPrompts(shared, view.startedHere === loginId ? view.prompts : undefined);
  const refs = known ?? (await findPrompts(ctx, shared));
  ctx.dispatch({ type: 'prompts', loginId, refs });
  const login = toPending(shared);
  const now = ctx.now();
  if (now >= login.deadline.getTime()) return tooLate(ctx, login, operatorId);

  // Step 2. Never cut short and never retried: a code at the broker decides the login. "Checking…"
  // is shown only if the broker is slow: most answers come first.
  const attempt = login.attemptsUsed;
  let answer: SubmitCodeResult | { readonly kind: 'error'; readonly error: unknown };
  try {
    const answered = ctx.broker.submitCode(login.interim, input.code);
    ctx.timers.at(`checking:${loginId}`, now + CHECKING_PROMPT_AFTER_MS, () =>
      showChecking(ctx, login, operatorId),
    );
    // The request is on its way (the HTTP client writes it before returning): the log line and the
    // metrics now, while the broker judges the code.
    ctx.logger.info({ loginId, operatorId, attempt }, 'code received');
    // The deadline was set CODE_TIMEOUT after the prompt went out.
    const waitedMs = now - (login.deadline.getTime() - ctx.settings.codeTimeoutMs);
    observe(ctx, 'codeReceived', { loginId, operatorId, attempt, waitedMs });
    answer = await answered;
  } catch (error) {
    answer = { kind: 'error', error };
  }
  ctx.timers.clear(`checking:${loginId}`);
  ctx.dispatch({ type: 'exchange-over', loginId });

  switch (answer.kind) {
    case 'error':
      // Whether the broker saw the code is unknown, and the same code must never be sent twice:
      // this login is over. "Send a new code" starts a fresh one.
      return failLogin(ctx, login, 'submit-code', answer.error, operatorId);
    case 'token':
      return loggedIn(ctx, login, operatorId, answer.token);
    case 'code-rejected': {
      const { interimSpent } = answer;
      const facts = { attemptsUsed: attempt, maxCodeAttempts: ctx.settings.maxCodeAttempts, interimSpent };
      let next = afterRefusal({ ...facts, pastDeadline: ctx.now() >= login.deadline.getTime() });
      const attemptsLeft = ctx.settings.maxCodeAttempts - attempt;
      ctx.logger.warn({ loginId, operatorId, attempt, attemptsLeft, interimSpent }, 'code rejected');
      if (next.next === 'reopen') {
        if (await ctx.coordination.reopen(loginId, ctx.relayId).catch(() => false)) {
          ctx.dispatch({ type: 'reopened', login });
          await notify(ctx, operatorId, { kind: 'code-rejected', attemptsLeft });
          return showPrompt(ctx, login, { kind: 'open', attemptsLeft });
        }
        next = afterRefusal({ ...facts, pastDeadline: false, reopenable: false });
      }
      if (next.next === 'end') return refusedEnding(ctx, login, operatorId, next);
      return;
    }
  }
}

/**
 * The token first: it is what the bots wait for, and what a crash must not lose. The login's
 * bookkeeping and the pending login go after.
 */
async function loggedIn(
  ctx: LoginContext,
  login: PendingLogin,
  operatorId: string,
  token: Secret,
): Promise<void> {
  const { loginId } = login;
  const ended = endedLogin(login, 'succeeded', ctx.now(), { operatorId });
  ctx.dispatch({ type: 'ended', login: ended });
  ctx.timers.clear('deadline');
  const record = await ctx.tokens.publish(token).catch((error: unknown) => {
    ctx.logger.error({ err: errorFields(error) }, 'token not published');
    return undefined;
  });
  ctx.logger.info({ loginId, operatorId, attempt: login.attemptsUsed }, 'code accepted');
  reportEnding(ctx, ended, false);
  if (record === undefined) return;
  await endOwnExchange(ctx, loginId);
  const expiresAt = new Date(record.expiresAt);
  await showPrompt(ctx, login, { kind: 'succeeded', operatorId, expiresAt });
  await notify(ctx, operatorId, { kind: 'logged-in', account: record.account, expiresAt });
}

/** A refused code that ends the login: out of attempts, the interim spent, or past the deadline. */
async function refusedEnding(
  ctx: LoginContext,
  login: PendingLogin,
  operatorId: string,
  next: Extract<AfterRefusal, { next: 'end' }>,
): Promise<void> {
  const now = ctx.now();
  const ended = endedLogin(login, next.outcome, now, { operatorId });
  const failure = { reason: next.reason, at: new Date(now).toISOString(), fatal: false };
  ctx.dispatch({ type: 'ended', login: ended, failure });
  await endOwnExchange(ctx, login.loginId);
  // The operator hears what became of their code, whoever reports the login's end.
  await notify(ctx, operatorId, { kind: 'code-rejected', attemptsLeft: 0, ended: next.why });
  if (!(await claimEnding(ctx, login.loginId))) return;
  reportEnding(ctx, ended, true);
  await emit(ctx, { type: 'login.failed', reason: next.reason });
  const state =
    next.outcome === 'expired'
      ? ({ kind: 'expired' } as const)
      : ({ kind: 'rejected', operatorId, interimSpent: next.why === 'interim-spent' } as const);
  await showPrompt(ctx, login, state);
}

/**
 * A code claimed in time reached this relay's broker call too late (waiting for the prompts'
 * places took it past the deadline): never sent. The deadline's own handler found the login
 * exchanging and left it to this relay.
 */
async function tooLate(ctx: LoginContext, login: PendingLogin, operatorId: string): Promise<void> {
  ctx.timers.clear('deadline');
  const { loginId } = login;
  const stored = await ctx.coordination
    .endPending(loginId, { kind: 'exchanging', relayId: ctx.relayId })
    .catch(() => undefined);
  ctx.dispatch({ type: 'exchange-over', loginId });
  const endedHere = stored !== undefined;
  const now = ctx.now();
  const ended = endedLogin(login, 'expired', now, { operatorId });
  const failure = endedHere
    ? { reason: 'expired', at: new Date(now).toISOString(), fatal: false }
    : undefined;
  ctx.dispatch({ type: 'ended', login: ended, failure });
  if (endedHere) reportEnding(ctx, ended, false);
  ctx.logger.warn({ loginId, operatorId }, 'code came too late; not sent');
  await notify(ctx, operatorId, { kind: 'prompt-inactive' });
  if (!endedHere) return;
  await emit(ctx, { type: 'login.failed', reason: 'expired' });
  await showPrompt(ctx, login, { kind: 'expired' });
}

/**
 * Claims a code for the broker. A code from the modal names its login; a plain reply goes to the
 * login that waits now (this relay's view may be behind another's). `undefined`: no login waits.
 *
 * The operator input that carried the code is claimed in the same store call as the code (every
 * relay receives the same DM: only the one that claims it answers): one round trip between the DM
 * and the broker. Only when there is no login to claim for is the input claimed on its own.
 */
async function claimCode(
  ctx: LoginContext,
  input: CodeInput,
): Promise<ClaimResult | undefined | { readonly unsure: UnsureClaim | undefined } | OtherConfig> {
  const { coordination } = ctx;
  const known = pendingLogin(ctx.view());
  const starting = ctx.view().login.kind === 'starting';
  let inputClaim: CodeClaim['input'] = { inputId: input.inputId, ttlMs: CLAIM_TTL_MS };
  /** The claim sent last: if its answer is lost, the store may have run it all the same. */
  let sent: UnsureClaim | undefined;
  const claimFor = (login: Pick<SharedLogin, 'loginId' | 'codeKey' | 'deadline'>): Promise<ClaimResult> => {
    const { loginId, deadline } = login;
    sent = { loginId, deadlineMs: deadline.getTime(), digest: codeDigest(login.codeKey, input.code) };
    const claim = coordination.claimCode({
      loginId: login.loginId,
      relayId: ctx.relayId,
      operatorId: input.operatorId,
      codeDigest: sent.digest,
      inputId: input.inputId,
      ...(input.loginId === undefined ? { writtenAtMs: input.sentAt.getTime() } : {}),
      maxAttempts: ctx.settings.maxCodeAttempts,
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
    return taken ? refusal : { ok: false, reason: 'input-taken' };
  };
  /** Started by a relay configured otherwise (unknown, for a login of a relay from before it: no). */
  const otherConfig = (login: {
    readonly fingerprint?: string | undefined;
    readonly loginId: string;
  }): OtherConfig | undefined =>
    login.fingerprint !== undefined && login.fingerprint !== ctx.settings.fingerprint
      ? { otherConfig: login.loginId, inputHeld: inputClaim === undefined }
      : undefined;
  try {
    if (input.loginId !== undefined) {
      const target = known?.loginId === input.loginId ? known : await coordination.loadPending();
      if (target?.loginId !== input.loginId)
        return await unlessTaken<ClaimResult>({ ok: false, reason: 'none' });
      return otherConfig(target) ?? (await claimFor(target));
    }
    let target = known ?? (await coordination.loadPending());
    if (target === undefined && starting) {
      // The SMS went out and this relay is storing its login: a quick operator (or a slow prompt
      // DM) can bring the code first. Take the DM, then wait for the login rather than answer
      // "no login waits".
      const refusal = await unlessTaken(undefined);
      if (refusal !== undefined) return refusal;
      target = await waitForStored(ctx, (pending) => pending);
    }
    if (target === undefined) return await unlessTaken(undefined);
    const other = otherConfig(target);
    if (other !== undefined) return other;
    const claim = await claimFor(target);
    if (claim.ok || claim.reason !== 'none') return claim;
    const current = await coordination.loadPending();
    if (current === undefined) return undefined;
    if (current.loginId === target.loginId) return claim;
    return otherConfig(current) ?? (await claimFor(current));
  } catch (error) {
    ctx.logger.error({ operatorId: input.operatorId, err: errorFields(error) }, 'claim failed');
    return { unsure: sent };
  }
}

/**
 * Where the prompt messages of `shared` are, for a relay about to edit them, when known now: stored
 * with the login, or sent by this relay (`ownRefs`). Only the relay that started a login sends its
 * prompts; it records where they went right after. An answer can reach another relay first, within
 * that moment: {@link findPrompts} waits for the record (briefly) rather than send every operator a
 * second prompt.
 */
function knownPrompts(shared: SharedLogin, ownRefs: PromptRefs | undefined): PromptRefs | undefined {
  return hasRefs(shared.prompts) ? shared.prompts : ownRefs;
}

async function findPrompts(ctx: LoginContext, shared: SharedLogin): Promise<PromptRefs> {
  const found = await waitForStored(ctx, (pending) =>
    pending?.loginId !== shared.loginId ? null : hasRefs(pending.prompts) ? pending.prompts : undefined,
  ).catch(() => undefined);
  return found ?? {};
}

const hasRefs = (refs: PromptRefs): boolean => Object.keys(refs).length > 0;

/**
 * Reads the pending login every {@link WAIT_STEP_MS} (a bounded number of times) until `pick`
 * returns something; `null` stops the wait early.
 */
async function waitForStored<T>(
  ctx: LoginContext,
  pick: (pending: SharedLogin | undefined) => T | undefined | null,
): Promise<T | undefined> {
  for (let step = 0; step < WAIT_STEPS; step += 1) {
    await abortableSleep(WAIT_STEP_MS, ctx.signal);
    if (ctx.signal.aborted) return undefined;
    const found = pick(await ctx.coordination.loadPending());
    if (found === null) return undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Codes are compared by a keyed hash (HMAC-SHA256), never stored: a stored digest reveals nothing
 * about a 4-to-8-digit code without its login's key (a plain hash of a 6-digit code is reversed by
 * trying a million values).
 */
/** A new random key for one login's code digests (32 bytes, base64url). A secret. */
export function newDigestKey(): Secret {
  return new Secret(randomBytes(32).toString('base64url'));
}

/** The digest of `code` under a login's `key`: what `triedCodes` holds. */
export function codeDigest(key: Secret, code: Secret): string {
  return createHmac('sha256', key.reveal()).update(code.reveal()).digest('base64url');
}
