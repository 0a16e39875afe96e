import { renderAccountNotice } from './account-texts.js';
import type { DeliveryContext } from './delivery.js';
import {
  ERROR_ADVICE,
  ERROR_SUMMARY,
  REASON_LABEL,
  REASON_TEXT,
  unreachableList,
  type OperatorNames,
} from './labels.js';
import { renderStatus } from './status-text.js';
import {
  DEFAULT_RENDER_OPTIONS,
  capitalize,
  formatter,
  type Formatter,
  type NoticeAction,
  type PromptAction,
  type RenderOptions,
} from './text-format.js';
import type { OperatorNotice, PromptState, PromptView } from '../relay/ports/operators.js';

export type { DeliveryContext } from './delivery.js';
export { accountChoices, MAX_ACCOUNT_CHOICES } from './account-texts.js';
export type { OperatorNames } from './labels.js';
export {
  ACTION_LABELS,
  NOTICE_ACTION_LABELS,
  TYPED_NOTICE_ACTIONS,
  type NoticeAction,
  type PromptAction,
  type RenderOptions,
} from './text-format.js';

/** A rendered prompt: its text and the actions that are live in its state. */
export interface RenderedPrompt {
  readonly text: string;
  /** In display order. Actions not listed must not be offered (or be shown disabled). */
  readonly actions: readonly PromptAction[];
}

const ALL_ACTIONS: readonly PromptAction[] = ['code', 'resend', 'cancel'];
const RESEND_ONLY: readonly PromptAction[] = ['resend'];
const NO_ACTIONS: readonly PromptAction[] = [];

/**
 * Renders a login's prompt, whole, for its current state. Pure: same view, same text. The first
 * line is what a phone's notification shows: while a code is wanted, it says so. `delivery`: the
 * operators the channel cannot reach are named at the end, so the others know who did not get it.
 */
export function renderPrompt(
  view: PromptView,
  names: OperatorNames,
  options?: RenderOptions,
  delivery?: DeliveryContext,
): RenderedPrompt {
  const f = formatter({ ...DEFAULT_RENDER_OPTIONS, ...options });
  const account = f.literal(view.account);
  const title =
    view.state.kind === 'open' ? `SMS code needed for account ${account}` : `Login for account ${account}`;
  const header = `${f.bold(title)}: ${REASON_TEXT[view.reason]}.`;
  const { body, actions } = promptBody(view, view.state, names, f);
  const unreachable = delivery?.unreachable ?? [];
  const footer =
    unreachable.length === 0
      ? []
      : [`Could not reach: ${unreachableList(unreachable, names)}. They did not get this message.`];
  return { text: [header, ...body, ...footer].join('\n'), actions };
}

function promptBody(
  view: PromptView,
  state: PromptState,
  names: OperatorNames,
  f: Formatter,
): { body: string[]; actions: readonly PromptAction[] } {
  switch (state.kind) {
    case 'open':
      return {
        body: [
          `A code was sent by SMS. It is accepted until ${f.time(view.deadline)}.`,
          `${f.byFormat({ discord: 'Reply with', plain: 'Type' })} the code (${f.digits()}), written ${f.examples()}` +
            `${f.byFormat({ discord: `, or ${f.press('code')}`, plain: '' })}. ${attempts(state.attemptsLeft)}.`,
          `Not expecting this? ${capitalize(f.press('cancel'))}.`,
        ],
        actions: ALL_ACTIONS,
      };
    case 'checking':
      return {
        body: [`Checking the code from ${names(state.operatorId)} with the broker…`],
        actions: NO_ACTIONS,
      };
    case 'succeeded':
      return {
        body: [
          `Logged in with the code from ${names(state.operatorId)}. The token is good until ${f.dateTime(state.expiresAt)}.`,
          'Nothing else to do.',
        ],
        actions: NO_ACTIONS,
      };
    case 'rejected':
      return {
        body: [
          state.interimSpent
            ? `The broker refused the code from ${names(state.operatorId)}, and its answer shows that it ended this login: no code can be tried for it any more.`
            : `The broker refused the code from ${names(state.operatorId)}, and this login has used all its attempts.`,
          `To try again, ${f.press('resend')}: a new SMS comes.`,
        ],
        actions: RESEND_ONLY,
      };
    case 'expired':
      return {
        body: [
          `No code came before ${f.time(view.deadline)}.`,
          `To try again, ${f.press('resend')}: a new SMS comes.`,
        ],
        actions: RESEND_ONLY,
      };
    case 'cancelled':
      return {
        body: [
          `${names(state.operatorId)} cancelled this login.`,
          `To start again, ${f.press('resend')}: a new SMS comes.`,
        ],
        actions: RESEND_ONLY,
      };
    case 'failed':
      return state.fatal
        ? {
            body: [
              `Login failed: ${ERROR_ADVICE[state.error]}.`,
              `No new login starts until this is fixed: after the restart, ${f.useCommand('login')}.`,
            ],
            actions: NO_ACTIONS,
          }
        : {
            body: [
              `Login failed: ${ERROR_ADVICE[state.error]}.`,
              f.byFormat({
                discord: `Try ${f.label('resend')} later.`,
                plain: `To try again later, ${f.press('resend')}.`,
              }),
            ],
            actions: RESEND_ONLY,
          };
  }
}

/**
 * Renders a notice to one operator. Pure, and never holds a secret: notices carry none. `delivery`:
 * `/status` lists whom the channel's last prompt reached.
 */
export function renderNotice(
  notice: OperatorNotice,
  names: OperatorNames,
  options?: RenderOptions,
  delivery?: DeliveryContext,
): string {
  const f = formatter({ ...DEFAULT_RENDER_OPTIONS, ...options });
  switch (notice.kind) {
    case 'help':
      return `That is not clearly one code, so nothing was sent to the broker. ${f.byFormat({ discord: 'Reply with', plain: 'Type' })} just the code from the SMS (${f.digits()}), written ${f.examples()}.`;
    case 'code-received':
      return 'Code received, checking it with the broker…';
    case 'code-rejected':
      return codeRejected(notice, f);
    case 'logged-in':
      return `Logged in: account ${f.literal(notice.account)} has a new token, good until ${f.dateTime(notice.expiresAt)}.`;
    case 'no-pending-login':
      return 'No login is waiting for a code right now, so nothing was sent to the broker.';
    case 'stale-code':
      return `That code was written before the current login's SMS was asked for at ${f.moment(notice.promptSentAt)}, so it belongs to an earlier login: it was not sent. Check the newest SMS and send its code.`;
    case 'code-already-tried':
      return `That code was already refused for this login, so it was not sent again. Check the newest SMS, or ${f.press('resend')}.`;
    case 'no-attempts-left':
      return `This login has used all its attempts, so the code was not sent. To try again, ${f.press('resend')}: a new SMS comes.`;
    case 'input-not-taken':
      return 'Your answer was not taken (the relay could not reach Redis), so nothing was sent to the broker. Try again in a moment.';
    case 'config-mismatch':
      return `Your code was not sent: the login waiting was started by a relay with another configuration (a deploy under way, or relays set up differently), and no relay set up like it is running. Try again in a minute; if this repeats, ${f.press('resend')} to start a login this relay can finish.`;
    case 'restarting':
      return 'The relay was restarting when your message came, so it was not read and nothing was sent to the broker. Send it again in a moment.';
    case 'code-taken-after-all':
      return 'Redis answered again: your code had been taken after all, and goes to the broker now (once). No need to send it again.';
    case 'login-abandoned':
      return `${f.bold(`Login for account ${f.literal(notice.account)} stopped`)}: ${ABANDONED_TEXT[notice.why](f)}`;
    case 'busy':
      return `The code from ${names(notice.operatorId)} is being checked right now, so yours was not sent. Wait for the result.`;
    case 'prompt-inactive':
      return f.byFormat({
        discord: 'That login is over and its buttons no longer work. Use the latest login message.',
        plain: `That login is over, so nothing was done for it. Answer the latest prompt, or ${f.useCommand('status')} to see where things stand.`,
      });
    case 'login-failed':
      return notice.fatal
        ? `Login for account ${f.literal(notice.account)} failed: ${ERROR_ADVICE[notice.error]}. No new login starts until this is fixed: after the restart, ${f.useCommand('login')}.`
        : `Login for account ${f.literal(notice.account)} failed: ${ERROR_ADVICE[notice.error]}. This is usually temporary: try again later.`;
    case 'code-reminder':
      return [
        `${f.bold(`SMS code still needed for account ${f.literal(notice.account)}`)}: nobody has answered yet.`,
        `The code is accepted until ${f.time(notice.deadline)}. ` +
          f.byFormat({
            discord: 'Reply with it, or use the buttons of the prompt above.',
            plain: `Type it, or ${f.press('resend')} for a new SMS.`,
          }),
      ].join('\n');
    case 'login-deferred':
      return [
        `${f.bold(`Login for account ${f.literal(notice.account)} held back`)} (${REASON_LABEL[notice.reason]}): the hourly SMS limit (MAX_LOGINS_PER_HOUR) is reached.`,
        notice.retrying
          ? `The relay starts it by itself at ${f.time(notice.nextAllowedAt)}.`
          : `The next login may start at ${f.time(notice.nextAllowedAt)}: ${f.useCommand('login')} then if the bots need a token.`,
      ].join('\n');
    case 'expiry-warning':
      return [
        `${f.bold(`The token of account ${f.literal(notice.account)} expires before the next planned login.`)}`,
        `It expires ${f.dateTime(notice.expiresAt)}; the next planned login is ${f.dateTime(notice.nextLoginAt)}.`,
        `If the bots need a token in between, ${f.useCommand('login')} before it expires.`,
      ].join('\n');
    case 'status':
      return renderStatus(notice.status, names, f, delivery?.lastPrompt);
    case 'login-request':
      return renderLoginRequest(notice, f);
    case 'cancel-request':
      return notice.cancelled
        ? `The login that was waiting for a code is cancelled. To start a new one, ${f.useCommand('login')}.`
        : 'No login is waiting for a code, so there was nothing to cancel.';
    case 'choose-account':
    case 'code-routed':
    case 'choice-over':
    case 'unknown-account':
    case 'statuses':
      return renderAccountNotice(notice, f);
  }
}

/**
 * The actions a notice offers beside its text (Discord: buttons under it; terminal: what to type):
 * "Try anyway" on a `/login` answered `halt-confirm`; nothing on any other notice.
 */
export function noticeActions(notice: OperatorNotice): readonly NoticeAction[] {
  return notice.kind === 'login-request' && notice.result === 'halt-confirm' ? ['force-login'] : [];
}

/**
 * A refused code. The broker does not say whether a wrong code also ends the login (docs/broker.md), so
 * while attempts are left the text says only what is known, and what to do either way.
 */
function codeRejected(notice: Extract<OperatorNotice, { kind: 'code-rejected' }>, f: Formatter): string {
  const newSms = `For a new SMS, ${f.press('resend')}.`;
  switch (notice.ended) {
    case 'interim-spent':
      return `The broker refused that code, and its answer shows that it ended this login: no code can be tried for it any more. ${newSms}`;
    case 'no-attempts-left':
      return `The broker refused that code, and this login has used all its attempts. ${newSms}`;
    case 'deadline-passed':
      return `The broker refused that code, and the time for this login's code is over. ${newSms}`;
    default:
      return notice.attemptsLeft > 0
        ? `The broker refused that code. If it was mistyped, send the code from the SMS again (${attempts(notice.attemptsLeft)}). ` +
            `The broker may also have ended this login (it does not say whether a wrong code does): if the next code is refused as well, ${f.press('resend')} for a new SMS.`
        : `The broker refused that code, and this login is over. ${newSms}`;
  }
}

/** Why a login that may have sent an SMS stopped, and what operators should do. */
const ABANDONED_TEXT = {
  'another-login': () =>
    "another relay's login is the one waiting for a code. Answer that login's prompt: the code of this one's SMS, if one came, will not be taken.",
  'lock-lost': (f: Formatter) =>
    `this relay lost its hold on the login while the SMS was asked for, so the code of that SMS will not be taken. If no other prompt follows, ${f.useCommand('login')}.`,
  'store-unavailable': (f: Formatter) =>
    `the relay could not record it (Redis could not be reached), so the code of its SMS, if one came, will not be taken. Try ${f.useCommand('login')} again in a minute.`,
  stopped: (f: Formatter) =>
    `the relay was restarting while the SMS was asked for, so the code of that SMS, if one came, will not be taken. A new login starts when it is back if none is published; else ${f.useCommand('login')}.`,
} as const satisfies Record<
  Extract<OperatorNotice, { kind: 'login-abandoned' }>['why'],
  (f: Formatter) => string
>;

/**
 * The answer to `/login`; with several accounts, it starts with the account it is about (the hub
 * sets `account`), so that an answer among several is not read as another account's.
 */
function renderLoginRequest(
  notice: Extract<OperatorNotice, { kind: 'login-request' }>,
  f: Formatter,
): string {
  const text = loginRequestText(notice, f);
  return notice.account === undefined ? text : `${f.bold(`Account ${f.literal(notice.account)}`)}: ${text}`;
}

function loginRequestText(notice: Extract<OperatorNotice, { kind: 'login-request' }>, f: Formatter): string {
  switch (notice.result) {
    case 'started':
      return 'Login started: a code is being sent by SMS, and its prompt follows here.';
    case 'already-running':
      return `A login is already under way, so no new one was started. Answer its prompt with the code, or ${f.press('resend')} for a new SMS.`;
    case 'halted':
      return `No login was started: a broker error stopped all logins until the configuration is fixed (${f.useCommand('status')} to see what to fix). Fix it, restart the relay, then ${f.useCommand('login')}.`;
    case 'halt-confirm':
      return [
        `${f.bold('No login was started')}: logins are halted because the broker refused these same credentials${notice.haltError === undefined ? '' : ` (${ERROR_SUMMARY[notice.haltError]})`}, and they have not changed since.`,
        'Trying them again may lock the account. If it was fixed at the broker (the account unlocked, the password reset there), or you accept the risk, ' +
          `${f.pressNotice('force-login')}.`,
      ].join('\n');
    case 'unavailable':
      return 'No login was started: the relay cannot reach Redis right now. Try again in a minute.';
    case 'rate-limited':
      return notice.nextAllowedAt === undefined
        ? 'No login was started: the hourly SMS limit (MAX_LOGINS_PER_HOUR) is reached. Try again later.'
        : `No login was started: the hourly SMS limit (MAX_LOGINS_PER_HOUR) is reached. The next may start at ${f.time(notice.nextAllowedAt)}: ${f.useCommand('login')} then.`;
  }
}

function attempts(count: number): string {
  return count === 1 ? '1 attempt left' : `${count} attempts left`;
}
