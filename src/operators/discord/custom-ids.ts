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
  | { readonly kind: 'notice'; readonly action: NoticeAction };

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
 * The custom ID of a notice's button: `otp:notice:<action>` (the "Try anyway" of a `halt-confirm`
 * answer). It names no login: the answer it leads to is the relay's to give.
 */
export function noticeCustomId(action: NoticeAction): string {
  return checked(`${PREFIX}:notice:${action}`);
}

/** Reads a custom ID this module made; `undefined` for any other. */
export function parseCustomId(customId: string): PromptCustomId | undefined {
  const [prefix, kind, ...rest] = customId.split(':');
  const loginId = rest.join(':');
  if (prefix !== PREFIX || kind === undefined || loginId === '') return undefined;
  if (kind === 'modal') return { kind: 'modal', loginId };
  if (kind === 'notice') {
    const action = NOTICE_ACTIONS.find((known) => known === loginId);
    return action === undefined ? undefined : { kind: 'notice', action };
  }
  const action = ACTIONS.find((known) => known === kind);
  return action === undefined ? undefined : { kind: 'button', action, loginId };
}

function checked(customId: string): string {
  if (customId.length > MAX_CUSTOM_ID_LENGTH) {
    throw new RangeError(
      `a login ID makes a custom ID of ${customId.length} characters (Discord allows 100)`,
    );
  }
  return customId;
}
