import type { BrokerErrorKind } from '../relay/ports/broker-errors.js';
import {
  DEFAULT_RENDER_OPTIONS,
  capitalize,
  formatter,
  type Formatter,
  type NoticeAction,
  type PromptAction,
  type RenderOptions,
} from './text-format.js';
import type {
  LoginReason,
  OperatorNotice,
  PromptState,
  PromptView,
  StatusView,
} from '../relay/ports/operators.js';

export {
  ACTION_LABELS,
  NOTICE_ACTION_LABELS,
  TYPED_NOTICE_ACTIONS,
  type NoticeAction,
  type PromptAction,
  type RenderOptions,
} from './text-format.js';

/** Turns an operator ID into what a message shows for that person (a mention, a name). */
export type OperatorNames = (operatorId: string) => string;

/** A rendered prompt: its text and the actions that are live in its state. */
export interface RenderedPrompt {
  readonly text: string;
  /** In display order. Actions not listed must not be offered (or be shown disabled). */
  readonly actions: readonly PromptAction[];
}

const ALL_ACTIONS: readonly PromptAction[] = ['code', 'resend', 'cancel'];
const RESEND_ONLY: readonly PromptAction[] = ['resend'];
const NO_ACTIONS: readonly PromptAction[] = [];

const REASON_TEXT = {
  startup: 'the relay just started and has no valid token',
  renewal: 'the current token expires soon',
  schedule: 'a planned login',
  'token-invalid': 'the broker no longer accepts the current token',
  'bot-request': 'a trading bot reported that the broker rejected the token',
  'operator-request': 'an operator asked for a new login',
} as const satisfies Record<LoginReason, string>;

/** A login's reason in a few words, for lists (`/status`). */
const REASON_LABEL = {
  startup: 'at start',
  renewal: 'renewal',
  schedule: 'planned',
  'token-invalid': 'token refused',
  'bot-request': 'bot report',
  'operator-request': 'operator request',
} as const satisfies Record<LoginReason, string>;

/**
 * How a login ended, in words. Keyed by the relay's outcomes; `StatusView` carries them as plain
 * strings (operators/ does not depend on relay/), so an unknown one is shown as it is.
 */
const OUTCOME_TEXT: Readonly<Record<string, string>> = {
  succeeded: 'logged in',
  rejected: 'code refused',
  expired: 'no code in time',
  cancelled: 'cancelled',
  failed: 'failed',
};

/** What went wrong in a few words, per broker error: the status line's "last failure". */
const ERROR_SUMMARY = {
  'bad-credentials': 'username or password refused',
  'bad-app-key': 'app key refused',
  'password-expired': 'password expired',
  'pin-required': 'security PIN required',
  'bad-pin': 'security PIN refused',
  'unexpected-answer': 'unexpected answer from the broker',
  network: 'broker unreachable',
  timeout: 'broker timed out',
  'server-error': 'broker server error',
  'rate-limited': 'broker asked to slow down',
} as const satisfies Record<BrokerErrorKind, string>;

/** The relay's own failure reasons (besides broker errors), for the same line. */
const FAILURE_SUMMARY: Readonly<Record<string, string>> = {
  ...ERROR_SUMMARY,
  expired: 'no code came in time',
  'code-rejected': 'the broker refused the code',
  cancelled: 'an operator cancelled the login',
};

/** How many past logins `/status` lists: enough to see a pattern, short enough for a phone. */
const RECENT_LOGINS_SHOWN = 5;

/**
 * What went wrong and what a person should do, per broker error. Fatal kinds name the setting to fix;
 * the relay reads its configuration at start, hence the restart.
 */
const ERROR_ADVICE = {
  'bad-credentials':
    'the broker refused the username or password. Check ETNA_USERNAME and ETNA_PASSWORD, then restart the relay',
  'bad-app-key': 'the broker refused the app key. Check ETNA_APP_KEY, then restart the relay',
  'password-expired':
    'the account password has expired. Change it at the broker, then update ETNA_PASSWORD and restart the relay',
  'pin-required': 'the account asks for a security PIN. Set ETNA_PIN, then restart the relay',
  'bad-pin': 'the broker refused the security PIN. Check ETNA_PIN, then restart the relay',
  'unexpected-answer': 'the broker gave an answer the relay does not understand (details in the relay logs)',
  network: 'the broker could not be reached (network error)',
  timeout: 'the broker did not answer in time',
  'server-error': 'the broker had a server error',
  'rate-limited': 'the broker asked the relay to slow down',
} as const satisfies Record<BrokerErrorKind, string>;

/** Renders a login's prompt, whole, for its current state. Pure: same view, same text. */
export function renderPrompt(
  view: PromptView,
  names: OperatorNames,
  options?: RenderOptions,
): RenderedPrompt {
  const f = formatter({ ...DEFAULT_RENDER_OPTIONS, ...options });
  const header = `${f.bold(`Login for account ${f.literal(view.account)}`)}: ${REASON_TEXT[view.reason]}.`;
  const { body, actions } = promptBody(view, view.state, names, f);
  return { text: [header, ...body].join('\n'), actions };
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
          `Reply with the code (${f.digits()}), written ${f.examples()}, or ${f.press('code')}. ${attempts(state.attemptsLeft)}.`,
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
          `The broker refused the code from ${names(state.operatorId)}, and this login cannot go on` +
            (state.interimSpent ? ' (the broker ended it).' : ' (no attempts left).'),
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
            body: [`Login failed: ${ERROR_ADVICE[state.error]}.`, `Try ${f.label('resend')} later.`],
            actions: RESEND_ONLY,
          };
  }
}

/** Renders a notice to one operator. Pure, and never holds a secret: notices carry none. */
export function renderNotice(notice: OperatorNotice, names: OperatorNames, options?: RenderOptions): string {
  const f = formatter({ ...DEFAULT_RENDER_OPTIONS, ...options });
  switch (notice.kind) {
    case 'help':
      return `That is not clearly one code, so nothing was sent to the broker. Reply with just the code from the SMS (${f.digits()}), written ${f.examples()}.`;
    case 'code-received':
      return 'Code received, checking it with the broker…';
    case 'code-rejected':
      return notice.attemptsLeft > 0
        ? `The broker refused that code. ${attempts(notice.attemptsLeft)}: check the SMS and send the code again.`
        : `The broker refused that code and no attempts are left. To try again, ${f.press('resend')}.`;
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
    case 'login-abandoned':
      return `${f.bold(`Login for account ${f.literal(notice.account)} stopped`)}: ${ABANDONED_TEXT[notice.why](f)}`;
    case 'busy':
      return `The code from ${names(notice.operatorId)} is being checked right now, so yours was not sent. Wait for the result.`;
    case 'prompt-inactive':
      return 'That login is over and its buttons no longer work. Use the latest login message.';
    case 'login-failed':
      return notice.fatal
        ? `Login for account ${f.literal(notice.account)} failed: ${ERROR_ADVICE[notice.error]}. No new login starts until this is fixed: after the restart, ${f.useCommand('login')}.`
        : `Login for account ${f.literal(notice.account)} failed: ${ERROR_ADVICE[notice.error]}. This is usually temporary: try again later.`;
    case 'pin-missing':
      return `Account ${f.literal(notice.account)} asks for a security PIN and ETNA_PIN is not set. Set it, then restart the relay.`;
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
      return renderStatus(notice.status, names, f);
    case 'login-request':
      return renderLoginRequest(notice, f);
    case 'cancel-request':
      return notice.cancelled
        ? `The login that was waiting for a code is cancelled. To start a new one, ${f.useCommand('login')}.`
        : 'No login is waiting for a code, so there was nothing to cancel.';
  }
}

/**
 * The actions a notice offers beside its text (Discord: buttons under it; terminal: what to type):
 * "Try anyway" on a `/login` answered `halt-confirm`; nothing on any other notice.
 */
export function noticeActions(notice: OperatorNotice): readonly NoticeAction[] {
  return notice.kind === 'login-request' && notice.result === 'halt-confirm' ? ['force-login'] : [];
}

/** Why a login that may have sent an SMS stopped, and what operators should do. */
const ABANDONED_TEXT = {
  'another-login': () =>
    "another relay's login is the one waiting for a code. Answer that login's prompt: the code of this one's SMS, if one came, will not be taken.",
  'lock-lost': (f: Formatter) =>
    `this relay lost its hold on the login while the SMS was asked for, so the code of that SMS will not be taken. If no other prompt follows, ${f.useCommand('login')}.`,
  'store-unavailable': (f: Formatter) =>
    `the relay could not record it (Redis could not be reached), so the code of its SMS, if one came, will not be taken. Try ${f.useCommand('login')} again in a minute.`,
} as const satisfies Record<
  Extract<OperatorNotice, { kind: 'login-abandoned' }>['why'],
  (f: Formatter) => string
>;

/** The answer to `/login`. */
function renderLoginRequest(
  notice: Extract<OperatorNotice, { kind: 'login-request' }>,
  f: Formatter,
): string {
  switch (notice.result) {
    case 'started':
      return 'Login started: a code is being sent by SMS, and its prompt follows here.';
    case 'already-running':
      return 'A login is already under way, so no new one was started. Answer its prompt with the code.';
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

/** The answer to `/status`: one line per topic, the recent logins last. */
function renderStatus(status: StatusView, names: OperatorNames, f: Formatter): string {
  const lines = [f.bold(`Status of account ${f.literal(status.account)}`)];
  lines.push(
    status.token === undefined
      ? 'Token: none.'
      : `Token: generation ${status.token.generation}, good until ${f.dateTime(status.token.expiresAt)}.`,
  );
  lines.push(`Login: ${loginLine(status.login, f)}.`);
  if (status.nextLogin !== undefined) {
    lines.push(`Next login: ${REASON_LABEL[status.nextLogin.reason]}, ${f.dateTime(status.nextLogin.at)}.`);
  }
  if (status.lastFailure !== undefined) {
    const what = FAILURE_SUMMARY[status.lastFailure.reason] ?? f.literal(status.lastFailure.reason);
    lines.push(`Last failure: ${what}, ${f.dateTime(status.lastFailure.at)}.`);
  }
  if (status.halted !== undefined) {
    lines.push(
      `${f.bold('Halted')} since ${f.dateTime(status.halted.at)}: ${ERROR_ADVICE[status.halted.error]}. No new login starts until this is fixed: after the restart, ${f.useCommand('login')}.`,
    );
  }
  lines.push(`SMS this hour: ${status.loginsLastHour} of ${status.maxLoginsPerHour}.`);
  const recent = status.recentLogins.slice(0, RECENT_LOGINS_SHOWN);
  if (recent.length > 0) {
    lines.push('Recent logins:');
    for (const login of recent) {
      const outcome = OUTCOME_TEXT[login.outcome] ?? f.literal(login.outcome);
      const by = login.operatorId === undefined ? '' : ` by ${names(login.operatorId)}`;
      lines.push(
        `- ${f.dateTime(login.endedAt)}: ${outcome} (${REASON_LABEL[login.reason]})${by}, ${codesTried(login.attempts)}`,
      );
    }
  }
  return lines.join('\n');
}

function loginLine(login: StatusView['login'], f: Formatter): string {
  const why = login.reason === undefined ? '' : `${REASON_LABEL[login.reason]}, `;
  switch (login.state) {
    case 'none':
      return 'none under way';
    case 'starting':
      return `${why}starting: the SMS is on its way`;
    case 'awaiting-code': {
      const until = login.deadline === undefined ? '' : ` until ${f.time(login.deadline)}`;
      const tried = login.attemptsUsed === undefined ? '' : `, ${codesTried(login.attemptsUsed)}`;
      return `${why}waiting for a code${until}${tried}`;
    }
    case 'exchanging':
      return `${why}checking a code with the broker`;
    case 'ended': {
      const outcome =
        login.outcome === undefined ? 'ended' : (OUTCOME_TEXT[login.outcome] ?? f.literal(login.outcome));
      const reason = login.reason === undefined ? '' : ` (${REASON_LABEL[login.reason]})`;
      return `none under way; the last one: ${outcome}${reason}`;
    }
    default:
      return `${why}${f.literal(login.state)}`;
  }
}

function codesTried(count: number): string {
  return count === 0 ? 'no code tried' : count === 1 ? '1 code tried' : `${count} codes tried`;
}

function attempts(count: number): string {
  return count === 1 ? '1 attempt left' : `${count} attempts left`;
}
