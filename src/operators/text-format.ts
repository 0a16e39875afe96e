import { DEFAULT_CODE_DIGITS, describeCodeDigits, type CodeDigits } from '../domain/code-digits.js';
import { parseCode } from './parse-code.js';
import type { OperatorCommand } from '../relay/ports/operators.js';

/** A button (Discord) or choice (terminal) a prompt can offer. */
export type PromptAction = 'code' | 'resend' | 'cancel';

/** The label of each action, shared by the buttons and the text that tells people to press them. */
export const ACTION_LABELS = {
  code: 'Enter code',
  resend: 'Send a new code',
  cancel: 'Cancel',
} as const satisfies Record<PromptAction, string>;

/**
 * What the terminal operator types for each prompt action. "Enter code" has no word of its own: the
 * code itself is typed.
 */
export const TYPED_ACTIONS = {
  resend: 'new',
  cancel: 'cancel',
} as const satisfies Record<Exclude<PromptAction, 'code'>, string>;

/**
 * A button (Discord) or typed answer (terminal) a notice can offer: `force-login` is "Try anyway"
 * on a `/login` answered `halt-confirm`.
 */
export type NoticeAction = 'force-login';

/** The label of each notice action. */
export const NOTICE_ACTION_LABELS = {
  'force-login': 'Try anyway',
} as const satisfies Record<NoticeAction, string>;

/** What the terminal operator types for each notice action. */
export const TYPED_NOTICE_ACTIONS = {
  'force-login': 'login anyway',
} as const satisfies Record<NoticeAction, string>;

/** Options of `renderPrompt` and `renderNotice`. */
export interface RenderOptions {
  /**
   * `discord`: Markdown, and Discord timestamps (`<t:…>`) that each reader sees in their own time
   * zone and language. `plain`: no markup, for the terminal. `cli`: no markup either, for
   * `otp-relay code`, which has no prompt of its own: the actions are named as Discord's.
   */
  format?: 'discord' | 'plain' | 'cli';
  /** How many digits a code has (`CODE_DIGITS`): the texts that show how to answer follow it. */
  codeDigits?: CodeDigits;
}

/** Every render option, filled in. */
export const DEFAULT_RENDER_OPTIONS = {
  format: 'discord',
  codeDigits: DEFAULT_CODE_DIGITS,
} as const satisfies Required<RenderOptions>;

/** How a text marks things up, per format. */
export interface Formatter {
  bold(text: string): string;
  /** A value from configuration (an account name): shown as is, never read as markup. */
  literal(text: string): string;
  /** An action's label, as the reader sees it: the button's (Discord), the word to type (terminal). */
  label(action: PromptAction): string;
  /** "press **X**" (Discord) or `type "new"` (terminal: the word that stands for the button). */
  press(action: PromptAction): string;
  /** "press **Try anyway**" (Discord) or `type "login anyway"` (terminal). */
  pressNotice(action: NoticeAction): string;
  /**
   * "use `/login`" (Discord's slash command) or `type "login"` (terminal); with `account`, the
   * command for that account: "use `/login account:live`", `type "login live"`.
   */
  useCommand(command: OperatorCommand, account?: string): string;
  /** The ways to write a code under the setting, e.g. `123456`, `123 456` or `123-456`. */
  examples(): string;
  /** How many digits a code has, in words: `6 digits`, `4 to 8 digits`. */
  digits(): string;
  /**
   * A time within the hour or so: its time of day, in each reader's own zone on Discord (`<t:…:t>`),
   * in UTC in plain text (which says so); on Discord with how long until or ago.
   */
  time(at: Date): string;
  /** A time possibly days away: date and time, in each reader's own zone on Discord (`<t:…:f>`). */
  dateTime(at: Date): string;
  /** A time of day as Discord shows it to each reader (`<t:…:T>`), with how long ago or until. */
  moment(at: Date): string;
  /**
   * A time near or far, in the fewest characters, for lists where each account gets a line: how
   * long until or ago on Discord (`<t:…:R>`, "in 20 hours"), date and time in UTC in plain text.
   */
  when(at: Date): string;
  /**
   * One of two wordings: `discord` where the reader has a DM and buttons, `plain` at the terminal,
   * where the reader types words. For the few texts that differ beyond their markup. `cli`, where
   * `otp-relay code` must be told otherwise than the terminal (it takes no typed answer); `plain`
   * when absent.
   */
  byFormat(texts: { readonly discord: string; readonly plain: string; readonly cli?: string }): string;
}

/** The formatter of one format and code setting. */
export function formatter(options: Required<RenderOptions>): Formatter {
  const examples = codeExamples(options.codeDigits);
  const digits = (): string => describeCodeDigits(options.codeDigits);
  if (options.format === 'cli') {
    // Plain text, read where the code was typed; a new code or a command is asked for on Discord.
    return {
      ...formatter({ ...options, format: 'plain' }),
      label: (action) => `"${ACTION_LABELS[action]}"`,
      press: (action) => `press "${ACTION_LABELS[action]}" on Discord`,
      pressNotice: (action) => `press "${NOTICE_ACTION_LABELS[action]}" on Discord`,
      useCommand: (command, account) => `use /${command}${accountOption(account)} on Discord`,
      byFormat: (texts) => texts.cli ?? texts.plain,
    };
  }
  if (options.format === 'plain') {
    return {
      bold: (text) => text,
      literal: (text) => `"${text}"`,
      label: (action) => (action === 'code' ? 'the code' : `"${TYPED_ACTIONS[action]}"`),
      press: (action) => (action === 'code' ? 'type the code' : `type "${TYPED_ACTIONS[action]}"`),
      pressNotice: (action) => `type "${TYPED_NOTICE_ACTIONS[action]}"`,
      useCommand: (command, account) =>
        `type "${command}${account === undefined ? '' : ` ${account.replaceAll('"', "'")}`}"`,
      examples: () => listOf(examples),
      digits,
      time: (at) => `${utcTime(at)} UTC`,
      dateTime: (at) => `${utcDate(at)} ${utcTime(at).slice(0, 5)} UTC`,
      moment: (at) => `${utcTime(at)} UTC`,
      when: (at) => `${utcDate(at)} ${utcTime(at).slice(0, 5)} UTC`,
      byFormat: (texts) => texts.plain,
    };
  }
  return {
    bold: (text) => `**${text}**`,
    // Inline code shows the name exactly and cannot be broken out of once backticks are gone.
    literal: (text) => `\`${text.replaceAll('`', "'")}\``,
    label: (action) => `**${ACTION_LABELS[action]}**`,
    press: (action) => `press **${ACTION_LABELS[action]}**`,
    pressNotice: (action) => `press **${NOTICE_ACTION_LABELS[action]}**`,
    useCommand: (command, account) => `use \`/${command}${accountOption(account)}\``,
    examples: () => listOf(examples.map((example) => `\`${example}\``)),
    digits,
    // Discord shows these in the reader's own time zone and language: no zone to name, none to get wrong.
    time: (at) => `${discordTime(at, 't')} (${discordTime(at, 'R')})`,
    dateTime: (at) => `${discordTime(at, 'f')} (${discordTime(at, 'R')})`,
    moment: (at) => `${discordTime(at, 'T')} (${discordTime(at, 'R')})`,
    when: (at) => discordTime(at, 'R'),
    byFormat: (texts) => texts.discord,
  };
}

/**
 * A code of the usual length within the setting: 6 digits when 6 is allowed, else the nearest
 * allowed length. The modal's placeholder and every example start from it.
 */
export function exampleCode(digits: CodeDigits): string {
  const length = Math.min(Math.max(6, digits.minDigits), digits.maxDigits);
  return '1234567890'.repeat(Math.ceil(length / 10)).slice(0, length);
}

/**
 * The ways to write a code that help texts show: the whole code, and cut in two by a space and by a
 * hyphen, but only the forms the parser takes under this setting (with `1-12`, `123 456` is two
 * codes).
 */
export function codeExamples(digits: CodeDigits): string[] {
  const code = exampleCode(digits);
  const half = Math.ceil(code.length / 2);
  const forms = [code];
  if (code.length >= 2)
    forms.push(`${code.slice(0, half)} ${code.slice(half)}`, `${code.slice(0, half)}-${code.slice(half)}`);
  return forms.filter((form) => parseCode(form, digits).ok);
}

/** `a, b or c` */
export function listOf(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1) ?? ''}`;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * ` account:live`, as Discord shows a slash command's option (the name inside a code span, so
 * backticks are turned into quotes); nothing without an account.
 */
function accountOption(account: string | undefined): string {
  return account === undefined ? '' : ` account:${account.replaceAll('`', "'")}`;
}

/** `HH:MM:SS`: seconds matter when the deadline is minutes away. */
function utcTime(at: Date): string {
  return at.toISOString().slice(11, 19);
}

function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * A Discord timestamp, in the reader's own language and time zone: `R` renders as "in 4 minutes" /
 * "2 minutes ago", `t` as the time of day ("8:05 AM"), `T` the same with seconds, `f` as date and time
 * ("March 4, 2025 8:05 AM").
 */
function discordTime(at: Date, style: 'R' | 't' | 'T' | 'f'): string {
  return `<t:${Math.floor(at.getTime() / 1000)}:${style}>`;
}
