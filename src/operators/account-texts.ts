import { capitalize, listOf, type Formatter } from './text-format.js';
import { renderStatuses } from './status-text.js';
import type { OperatorNotice } from '../relay/ports/operators.js';

// The texts of several accounts: which account an input is for, and the answer to that choice. Pure,
// like messages.ts, and short: they are read on a phone, next to the buttons they explain.

/** The notices of several accounts, rendered here. */
export type AccountNotice = Extract<
  OperatorNotice,
  { kind: 'choose-account' | 'code-routed' | 'choice-over' | 'unknown-account' | 'statuses' }
>;

/**
 * How many accounts a `choose-account` question offers as buttons: Discord takes at most 5 rows of
 * 5 buttons under a message. The text tells the way around it when more wait.
 */
export const MAX_ACCOUNT_CHOICES = 25;

/**
 * The accounts a notice offers to pick, in order (Discord: one button each; terminal: the names to
 * type): those of a `choose-account` question, at most {@link MAX_ACCOUNT_CHOICES}; none otherwise.
 */
export function accountChoices(notice: OperatorNotice): readonly string[] {
  return notice.kind === 'choose-account' ? notice.accounts.slice(0, MAX_ACCOUNT_CHOICES) : [];
}

/** Renders one of the notices of several accounts. Never holds a code: these notices carry none. */
export function renderAccountNotice(notice: AccountNotice, f: Formatter): string {
  switch (notice.kind) {
    case 'choose-account':
      return notice.question.kind === 'code'
        ? chooseForCode(notice.accounts, f)
        : chooseForCommand(notice.question.command, notice.accounts, f);
    case 'code-routed':
      return `The code goes to the login of account ${f.literal(notice.account)}: its prompt shows the result.`;
    case 'choice-over':
      return notice.why === 'answered'
        ? 'That question was already answered, so nothing more was done.'
        : 'Nothing was sent: the relay no longer holds that code (it restarted, or the code is older than a login’s time for one). ' +
            f.byFormat({
              discord: `Send it again as a reply to its account's prompt, or ${f.press('code')} there.`,
              plain: 'Type it again.',
            });
    case 'unknown-account': {
      const yours =
        notice.accounts.length === 0
          ? 'You are an operator of no account here.'
          : `Yours: ${notice.accounts.map((account) => f.literal(account)).join(', ')}.`;
      return `No account ${f.literal(notice.account)} is yours here, so nothing was done. ${yours}`;
    }
    case 'statuses':
      return renderStatuses(notice.statuses, f);
  }
}

/**
 * A plain reply with a code while several of the operator's accounts wait for one. The code itself
 * is never repeated: the question names the accounts only.
 */
function chooseForCode(accounts: readonly string[], f: Formatter): string {
  const names = listOf(accounts.map((account) => f.literal(account)));
  const unlisted =
    accounts.length > MAX_ACCOUNT_CHOICES ? ` Not listed? ${capitalize(f.press('code'))} on its prompt.` : '';
  // One account offered: the code answers a message the relay cannot place (an ended login's prompt).
  const question =
    accounts.length > 1
      ? `${f.bold('Several accounts wait for a code')}: which is this one for?`
      : `${f.bold('Which account is this code for?')} It answers a message the relay cannot place; nothing was sent yet.`;
  return `${question} ${f.byFormat({
    discord: `Press its account below.${unlisted}`,
    plain: `Type its account: ${names}.`,
    cli: `Run otp-relay code again with --account <account>: ${names}.`,
  })}`;
}

/** `/login` or `/cancel` without an account, by an operator of several. */
function chooseForCommand(command: 'login' | 'cancel', accounts: readonly string[], f: Formatter): string {
  const which = f.bold('Which account?');
  const names = accounts.map((account) => f.literal(account)).join(', ');
  const unlisted =
    accounts.length > MAX_ACCOUNT_CHOICES
      ? ` Not listed? ${capitalize(f.useCommand(command, '<name>'))}.`
      : '';
  return `${which} ${f.byFormat({
    discord: `${command === 'login' ? 'Press the one to log in below.' : 'Press the one whose login to cancel below.'}${unlisted}`,
    plain: `${capitalize(f.useCommand(command, '<account>'))}, with one of: ${names}.`,
  })}`;
}
