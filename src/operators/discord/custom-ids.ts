import type { NoticeAction, PromptAction } from '../messages.js';

/** Discord refuses a component custom ID longer than this. */
export const MAX_CUSTOM_ID_LENGTH = 100;

const PREFIX = 'otp';
const ACTIONS: readonly PromptAction[] = ['code', 'resend', 'cancel'];
const NOTICE_ACTIONS: readonly NoticeAction[] = ['force-login'];
/** The commands a "which account?" question is asked for. */
const PICKED_COMMANDS = ['login', 'cancel'] as const;

/**
 * An account name as custom IDs carry it: a name of `RELAY_ACCOUNTS` (config/account-names.ts, which
 * operators/ may not import). Neither `:` nor `@` can be in one, so an ID splits back unambiguously.
 * A one-account relay's `RELAY_ACCOUNT` may be outside it (capitals, dots, 64 characters): its
 * prompts then name no account, as before several accounts, and need not, as there is one.
 */
const ID_ACCOUNT = /^[a-z0-9_-]{1,32}$/;

/** A command a "which account?" button picks the account of. */
export type PickedCommand = (typeof PICKED_COMMANDS)[number];

/**
 * What a custom ID names. `account` is absent on a prompt's or a notice's ID made before several
 * accounts (prompts stay in DMs across an upgrade), or for an account no ID can carry.
 */
export type PromptCustomId =
  | {
      readonly kind: 'button';
      readonly action: PromptAction;
      readonly loginId: string;
      readonly account?: string;
    }
  | { readonly kind: 'modal'; readonly loginId: string; readonly account?: string }
  | {
      readonly kind: 'notice';
      readonly action: NoticeAction;
      /**
       * The halt a "Try anyway" was offered for (epoch ms); absent on a button made before buttons
       * named their halt, which the core answers with a fresh `halt-confirm`.
       */
      readonly haltAt?: number;
      readonly account?: string;
    }
  /** One account's button under a "which account is this code for?" question. */
  | { readonly kind: 'route'; readonly account: string; readonly inputId: string }
  /** One account's button under a "which account?" question about `/login` or `/cancel`. */
  | { readonly kind: 'pick'; readonly command: PickedCommand; readonly account: string };

/** Whether a custom ID can carry `account` (see {@link ID_ACCOUNT}). */
export function isIdAccount(account: string): boolean {
  return ID_ACCOUNT.test(account);
}

/**
 * The custom ID of a prompt button: `otp:<action>@<account>:<loginId>`, or `otp:<action>:<loginId>`
 * without an account. The login ID rides along so that a press on an old prompt names its own
 * login, and the core can answer `prompt-inactive`; the account, so that the operator hub hands the
 * press to that account's login.
 *
 * @throws RangeError when the ID would be longer than Discord accepts, or an account or login ID
 * cannot be carried
 */
export function buttonCustomId(action: PromptAction, loginId: string, account?: string): string {
  return checked(`${PREFIX}:${action}${accountPart(account)}:${nonEmpty(loginId, 'login ID')}`);
}

/** The custom ID of a prompt's code modal: `otp:modal@<account>:<loginId>` (or without the account). */
export function modalCustomId(loginId: string, account?: string): string {
  return checked(`${PREFIX}:modal${accountPart(account)}:${nonEmpty(loginId, 'login ID')}`);
}

/**
 * The custom ID of a notice's button: `otp:notice:<action>[@<account>][:<haltAt>]`: the "Try anyway"
 * of a `halt-confirm` answer, with the epoch ms of the halt it was offered for and the account the
 * answer is about, each when the notice names it. It names no login: the answer it leads to is the
 * relay's to give.
 */
export function noticeCustomId(action: NoticeAction, haltAt?: number, account?: string): string {
  const named = `${PREFIX}:notice:${action}${accountPart(account)}`;
  if (haltAt === undefined) return checked(named);
  if (!Number.isSafeInteger(haltAt) || haltAt < 0) throw new RangeError(`not a halt's time: ${haltAt}`);
  return checked(`${named}:${haltAt}`);
}

/**
 * The custom ID of one account's button under a "which account is this code for?" question:
 * `otp:route:<account>:<inputId>`, where `inputId` is the operator's message that held the code (a
 * Discord snowflake). The code itself is never in it: it stays in the relays' memory.
 */
export function routeCustomId(account: string, inputId: string): string {
  return checked(`${PREFIX}:route:${required(account)}:${nonEmpty(inputId, 'input ID')}`);
}

/** The custom ID of one account's button under "which account?" for a command: `otp:pick:<command>:<account>`. */
export function pickCustomId(command: PickedCommand, account: string): string {
  return checked(`${PREFIX}:pick:${command}:${required(account)}`);
}

/** Reads a custom ID this module made, of this version or an older one; `undefined` for any other. */
export function parseCustomId(customId: string): PromptCustomId | undefined {
  const [prefix, head, ...rest] = customId.split(':');
  if (prefix !== PREFIX || head === undefined) return undefined;
  if (head === 'route') return parseRoute(rest);
  if (head === 'pick') return parsePick(rest);
  if (head === 'notice') return parseNotice(rest);
  const named = splitAccount(head);
  const loginId = rest.join(':');
  if (named === undefined || loginId === '') return undefined;
  const account = named.account === undefined ? {} : { account: named.account };
  if (named.name === 'modal') return { kind: 'modal', loginId, ...account };
  const action = ACTIONS.find((known) => known === named.name);
  return action === undefined ? undefined : { kind: 'button', action, loginId, ...account };
}

/** `<action>[@<account>]` or `<action>[@<account>]:<haltAt>`, after `otp:notice:`. */
function parseNotice([head, haltText, ...extra]: readonly string[]): PromptCustomId | undefined {
  const named = head === undefined ? undefined : splitAccount(head);
  const action = NOTICE_ACTIONS.find((known) => known === named?.name);
  if (named === undefined || action === undefined || extra.length > 0) return undefined;
  const account = named.account === undefined ? {} : { account: named.account };
  if (haltText === undefined) return { kind: 'notice', action, ...account };
  const haltAt = /^\d{1,16}$/.test(haltText) ? Number(haltText) : Number.NaN;
  return Number.isSafeInteger(haltAt) ? { kind: 'notice', action, haltAt, ...account } : undefined;
}

/** `<account>:<inputId>`, after `otp:route:`. */
function parseRoute([account, ...input]: readonly string[]): PromptCustomId | undefined {
  const inputId = input.join(':');
  return account !== undefined && isIdAccount(account) && inputId !== ''
    ? { kind: 'route', account, inputId }
    : undefined;
}

/** `<command>:<account>`, after `otp:pick:`. */
function parsePick([name, account, ...extra]: readonly string[]): PromptCustomId | undefined {
  const command = PICKED_COMMANDS.find((known) => known === name);
  return command !== undefined && account !== undefined && isIdAccount(account) && extra.length === 0
    ? { kind: 'pick', command, account }
    : undefined;
}

/** `name@account` or `name`; `undefined` when the account is not one an ID carries. */
function splitAccount(head: string): { name: string; account?: string } | undefined {
  const at = head.indexOf('@');
  if (at < 0) return { name: head };
  const account = head.slice(at + 1);
  return isIdAccount(account) ? { name: head.slice(0, at), account } : undefined;
}

function accountPart(account: string | undefined): string {
  return account === undefined ? '' : `@${required(account)}`;
}

function required(account: string): string {
  if (!isIdAccount(account)) throw new RangeError(`a custom ID cannot carry the account name ${account}`);
  return account;
}

function nonEmpty(value: string, what: string): string {
  if (value === '') throw new RangeError(`a custom ID needs a ${what}`);
  return value;
}

function checked(customId: string): string {
  if (customId.length > MAX_CUSTOM_ID_LENGTH) {
    throw new RangeError(`a custom ID of ${customId.length} characters (Discord allows 100)`);
  }
  return customId;
}
