import type { PromptDelivery } from './delivery.js';
import { ERROR_ADVICE, ERROR_SUMMARY, REASON_LABEL, unreachableList, type OperatorNames } from './labels.js';
import type { Formatter } from './text-format.js';
import type { StatusView } from '../relay/ports/operators.js';

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
 * The answer to `/status`: one line per topic, the recent logins last. `lastPrompt`: whom the
 * channel's last prompt reached, and whom it could not.
 */
export function renderStatus(
  status: StatusView,
  names: OperatorNames,
  f: Formatter,
  lastPrompt?: PromptDelivery,
): string {
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
  if (lastPrompt !== undefined) lines.push(lastPromptLine(lastPrompt, names, f));
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

/**
 * The answer to `/status` for several accounts: one line per account, its name first, then its
 * token's generation and expiry, its login's state in a few words, and its halt. The details of one
 * account (deadline, next login, failures, SMS count) are its own `/status`, which the last line
 * names. Short enough that 20 accounts of usual names fit in one Discord message.
 */
export function renderStatuses(statuses: readonly StatusView[], f: Formatter): string {
  if (statuses.length === 0) return 'You are an operator of no account here: there is nothing to show.';
  const title = statuses.length === 1 ? 'Status of 1 account' : `Status of ${statuses.length} accounts`;
  return [
    f.bold(title),
    ...statuses.map((status) => compactStatus(status, f)),
    `For one account's details, ${f.useCommand('status', '<account>')}.`,
  ].join('\n');
}

/** `**`live`**: token 42 (expiry in 20 hours); waiting for a code; **halted**: PIN refused.` */
function compactStatus(status: StatusView, f: Formatter): string {
  const parts = [
    status.token === undefined
      ? 'no token'
      : `token ${status.token.generation} (expiry ${f.when(status.token.expiresAt)})`,
    COMPACT_LOGIN[status.login.state] ?? `login ${f.literal(status.login.state)}`,
  ];
  if (status.halted !== undefined) parts.push(`${f.bold('halted')}: ${ERROR_SUMMARY[status.halted.error]}`);
  return `${f.bold(f.literal(status.account))}: ${parts.join('; ')}.`;
}

/** A login's state in a few words; an ended login is none under way. Unknown states shown as they are. */
const COMPACT_LOGIN: Readonly<Record<string, string>> = {
  none: 'no login',
  ended: 'no login',
  starting: 'login starting',
  'awaiting-code': 'waiting for a code',
  exchanging: 'checking a code',
};

/** `Last prompt, <time>: sent to Alice, Bob; could not reach Carol (DMs closed).` */
function lastPromptLine(prompt: PromptDelivery, names: OperatorNames, f: Formatter): string {
  const reached = prompt.reached.length === 0 ? 'nobody' : prompt.reached.map(names).join(', ');
  const missed =
    prompt.unreachable.length === 0 ? '' : `; could not reach ${unreachableList(prompt.unreachable, names)}`;
  return `Last prompt, ${f.dateTime(prompt.at)}: sent to ${reached}${missed}.`;
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
