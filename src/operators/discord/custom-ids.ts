import type { NoticeAction, PromptAction } from '../messages.js';

/** Discord refuses a component custom ID longer than this. */
export const MAX_CUSTOM_ID_LENGTH = 100;

const PREFIX = 'otp';
const ACTIONS: readonly PromptAction[] = ['code', 'resend', 'cancel'];
const NOTICE_ACTIONS: readonly NoticeAction[] = ['force-login'];

/** What a custom ID names: a prompt's button or code modal, or a notice's button. */
export type PromptCustomId =
  | { readonly kind: 'button'; readonly action: PromptAction; readonly loginId: string }
  | { readonly kind: 'modal'; readonly loginId: string }
  | {
      readonly kind: 'notice';
      readonly action: NoticeAction;
      /**
       * The halt a "Try anyway" was offered for (epoch ms); absent on a button made before buttons
       * named their halt, which the core answers with a fresh `halt-confirm`.
       */
      readonly haltAt?: number;
    };

/**
 * The custom ID of a prompt button: `otp:<action>:<loginId>`. The login ID rides along so that a
 * press on an old prompt names its own login, and the core can answer `prompt-inactive`.
 *
 * @throws RangeError when the ID would be longer than Discord accepts
 */
export function buttonCustomId(action: PromptAction, loginId: string): string {
  return checked(`${PREFIX}:${action}:${loginId}`);
}

/** The custom ID of a prompt's code modal: `otp:modal:<loginId>`. */
export function modalCustomId(loginId: string): string {
  return checked(`${PREFIX}:modal:${loginId}`);
}

/**
 * The custom ID of a notice's button: `otp:notice:<action>:<haltAt>` (the "Try anyway" of a
 * `halt-confirm` answer, with the epoch ms of the halt it was offered for), or `otp:notice:<action>`
 * when the notice names no halt. It names no login: the answer it leads to is the relay's to give.
 */
export function noticeCustomId(action: NoticeAction, haltAt?: number): string {
  if (haltAt === undefined) return checked(`${PREFIX}:notice:${action}`);
  if (!Number.isSafeInteger(haltAt) || haltAt < 0) throw new RangeError(`not a halt's time: ${haltAt}`);
  return checked(`${PREFIX}:notice:${action}:${haltAt}`);
}

/** Reads a custom ID this module made; `undefined` for any other. */
export function parseCustomId(customId: string): PromptCustomId | undefined {
  const [prefix, kind, ...rest] = customId.split(':');
  const loginId = rest.join(':');
  if (prefix !== PREFIX || kind === undefined || loginId === '') return undefined;
  if (kind === 'modal') return { kind: 'modal', loginId };
  if (kind === 'notice') return parseNotice(rest);
  const action = ACTIONS.find((known) => known === kind);
  return action === undefined ? undefined : { kind: 'button', action, loginId };
}

/** `<action>` or `<action>:<haltAt>`, after `otp:notice:`. */
function parseNotice([name, haltText, ...extra]: readonly string[]): PromptCustomId | undefined {
  const action = NOTICE_ACTIONS.find((known) => known === name);
  if (action === undefined || extra.length > 0) return undefined;
  if (haltText === undefined) return { kind: 'notice', action };
  const haltAt = /^\d{1,16}$/.test(haltText) ? Number(haltText) : Number.NaN;
  return Number.isSafeInteger(haltAt) ? { kind: 'notice', action, haltAt } : undefined;
}

function checked(customId: string): string {
  if (customId.length > MAX_CUSTOM_ID_LENGTH) {
    throw new RangeError(
      `a login ID makes a custom ID of ${customId.length} characters (Discord allows 100)`,
    );
  }
  return customId;
}
