import { randomBytes } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { PromptRefs } from '../relay/ports/coordination.js';
import { Secret } from '../shared/secret.js';
import type { UnreachableOperator } from './delivery.js';
import {
  ACTION_LABELS,
  TYPED_NOTICE_ACTIONS,
  renderNotice,
  renderPrompt,
  type PromptAction,
  type RenderOptions,
} from './messages.js';
import { cliOperatorName } from './labels.js';
import { TYPED_ACTIONS } from './text-format.js';
import { DEFAULT_CODE_DIGITS, type CodeDigits } from '../domain/code-digits.js';
import { parseCode } from './parse-code.js';
import type {
  OperatorChannel,
  OperatorCommand,
  OperatorInput,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from '../relay/ports/operators.js';

/** A login an earlier run left waiting, as the terminal announces it; `note` is printed after it. */
export interface WaitingPrompt {
  readonly view: PromptView;
  readonly note?: string;
}

/** Options of {@link TerminalOperatorChannel}. */
export interface TerminalChannelOptions {
  /** Where the operator types (standard input in the demo). */
  input: Readable;
  /** Where prompts and notices are written (standard output in the demo). */
  output: Writable;
  /** The operator's id in inputs and logs. */
  operatorId?: string;
  /** How many digits a code has (`CODE_DIGITS`); 4 to 8 by default. */
  codeDigits?: CodeDigits;
  /** The clock that stamps each typed code's `sentAt`; the system clock by default. */
  now?: () => Date;
  /**
   * The accounts the relay serves: with two or more, the help names them, to type after a command
   * (`login paper`). Commands for an account are taken without it all the same.
   */
  accounts?: readonly string[];
  /**
   * The login already waiting for a code when the channel starts (one an earlier run left in Redis),
   * if any: the channel announces it, with its deadline, and "new" then acts on it. `note`, printed
   * after its prompt, says what else the operator should know about it.
   */
  waitingLogin?: () => Promise<WaitingPrompt | readonly WaitingPrompt[] | undefined>;
}

/** The terminal's operator, unless `operatorId` says otherwise: the one operator of every account. */
export const TERMINAL_OPERATOR_ID = 'terminal';

const DEFAULTS = {
  operatorId: TERMINAL_OPERATOR_ID,
  codeDigits: DEFAULT_CODE_DIGITS,
  now: () => new Date(),
  waitingLogin: () => Promise.resolve(undefined),
  accounts: [],
} as const satisfies Required<
  Pick<TerminalChannelOptions, 'operatorId' | 'codeDigits' | 'now' | 'waitingLogin' | 'accounts'>
>;

/** What the operator types for "Send a new code". */
const TYPED_RESEND: readonly string[] = [TYPED_ACTIONS.resend, 'resend', ACTION_LABELS.resend.toLowerCase()];

/** What the operator types for each command: its name, with or without Discord's slash. */
const TYPED_COMMANDS = {
  status: ['status', '/status'],
  login: ['login', '/login'],
  cancel: ['cancel', '/cancel'],
} as const satisfies Record<OperatorCommand, readonly string[]>;

/** What the operator types for "Try anyway" on a `/login` answered `halt-confirm`. */
const TYPED_FORCE_LOGIN: readonly string[] = [TYPED_NOTICE_ACTIONS['force-login'], '/login anyway'];

/** A "which account is this code for?" question the operator may answer by typing a name. */
interface OpenChoice {
  /** The input that held the code (the hub keeps the code by it). */
  readonly codeInputId: string;
  readonly accounts: readonly string[];
}

/**
 * One operator at a terminal: Discord's stand-in in the demo and in the sandbox (`SANDBOX=true`).
 * Lines typed are parsed exactly as DM replies are, and a code's `sentAt` is when its line was read;
 * "new" stands for the "Send a new code" button of the last prompt shown (with none shown, it asks
 * for a login, as `login` does), and "status", "login" and "cancel" are the slash commands (so
 * "cancel" drops whatever login waits for a code, as `/cancel` does, rather than a button of one
 * prompt); "login anyway" is the "Try anyway" button of the last `halt-confirm` answer (`login` with
 * `force`, naming that answer's halt and account). Anything else is an `unclear` input, which the
 * core answers with the `help` notice.
 *
 * Several accounts: a command followed by an account's name is that command for that account
 * (`login paper`, `cancel paper`, `status paper`: the `account:` option of Discord's commands), and
 * `new paper` is "Send a new code" on that account's last prompt (a login of it, when none was
 * shown). After a "which account is this code for?" question, typing one of the names it offers is
 * the press of that account's button (`account-chosen`), once; the answer is printed.
 *
 * Each line's `inputId` is a counter behind a prefix drawn at random per channel: the core's claims
 * of inputs may outlive this process (Redis), so a restarted demo must not reuse an earlier run's IDs.
 * The terminal keeps no prompt messages: `showPrompt` prints the prompt anew and resolves with `{}`.
 */
export class TerminalOperatorChannel implements OperatorChannel {
  readonly #options: Required<TerminalChannelOptions>;
  readonly #inputIdPrefix = `terminal-${randomBytes(6).toString('hex')}`;
  #inputCount = 0;
  #lines: Interface | undefined;
  /** The login whose prompt was shown last, for "new". */
  #currentLoginId: string | undefined;
  /** The login "new" was typed for: its prompt, ended by the new login, says so (not "cancelled"). */
  #replacing: string | undefined;
  /** The halt (and account) of the last `halt-confirm` shown, which "login anyway" names. */
  #offeredHalt: { readonly haltAt?: number; readonly account?: string } = {};
  /** Per account, the login whose prompt was shown last, for "new <account>". */
  readonly #lastLoginOf = new Map<string, string>();
  /** The last "which account is this code for?" question, until a name answers it. */
  #openChoice: OpenChoice | undefined;

  public constructor(options: TerminalChannelOptions) {
    this.#options = { ...DEFAULTS, ...options };
  }

  public async start(onInput: OperatorInputHandler): Promise<void> {
    const operatorId = this.#options.operatorId;
    this.#lines = createInterface({ input: this.#options.input, terminal: false });
    this.#lines.on('line', (line) => {
      const readAt = this.#options.now();
      const inputId = this.#nextInputId();
      const text = line.trim().toLowerCase();
      const typed = this.#typed(text, inputId);
      if (typed !== undefined) {
        onInput(typed);
        return;
      }
      const parsed = parseCode(line, this.#options.codeDigits);
      if (parsed.ok) {
        onInput({ kind: 'code', operatorId, code: new Secret(parsed.code), sentAt: readAt, inputId });
      } else {
        onInput({ kind: 'unclear', operatorId, inputId });
      }
    });
    const found = await this.#options.waitingLogin();
    // Several accounts may each have left one.
    for (const waiting of found === undefined ? [] : 'view' in found ? [found] : found) {
      // The terminal has no message of that login's prompt to edit: without this, the login would go
      // on unseen, and "new" would not know it.
      this.#write(`\n${RESUMED}`);
      this.#print(waiting.view, waiting.note);
    }
  }

  /**
   * What a typed word stands for (a button, a command, an account's name answering a question), in
   * this order; `undefined` for a line to parse as a code.
   */
  #typed(text: string, inputId: string): OperatorInput | undefined {
    const operatorId = this.#options.operatorId;
    const choice = this.#openChoice;
    if (choice?.accounts.includes(text) === true) {
      // One answer per question, as one press of its buttons on Discord.
      this.#openChoice = undefined;
      return {
        kind: 'account-chosen',
        operatorId,
        account: text,
        codeInputId: choice.codeInputId,
        respond: this.#responder(),
        inputId,
      };
    }
    if (TYPED_RESEND.includes(text)) return this.#resend(this.#currentLoginId, undefined, inputId);
    if (TYPED_FORCE_LOGIN.includes(text)) {
      const { haltAt, account } = this.#offeredHalt;
      return {
        kind: 'command',
        operatorId,
        command: 'login',
        force: true,
        ...(haltAt === undefined ? {} : { forHalt: haltAt }),
        ...(account === undefined ? {} : { account }),
        respond: this.#responder(),
        inputId,
      };
    }
    const command = commandOf(text);
    if (command !== undefined)
      return { kind: 'command', operatorId, command, respond: this.#responder(), inputId };
    // `<command> <account>`, and `new <account>`.
    const [first = '', account, ...rest] = text.split(/\s+/);
    if (account === undefined || rest.length > 0) return undefined;
    if (first === TYPED_ACTIONS.resend) return this.#resend(this.#lastLoginOf.get(account), account, inputId);
    const named = commandOf(first);
    return named === undefined
      ? undefined
      : { kind: 'command', operatorId, command: named, account, respond: this.#responder(), inputId };
  }

  /** "Send a new code" on login `loginId` (of `account`, when named); a login when none was shown. */
  #resend(loginId: string | undefined, account: string | undefined, inputId: string): OperatorInput {
    const operatorId = this.#options.operatorId;
    const named = account === undefined ? {} : { account };
    if (loginId === undefined) {
      // No prompt to press the button of: "new" asks for a new SMS, so a login.
      return { kind: 'command', operatorId, command: 'login', ...named, respond: this.#responder(), inputId };
    }
    this.#replacing = loginId;
    return { kind: 'resend', operatorId, loginId, ...named, inputId };
  }

  /** Prints the prompt; there is no message to edit later, so no refs: `{}`. */
  public async showPrompt(view: PromptView, _refs?: PromptRefs): Promise<PromptRefs> {
    const replaced =
      view.state.kind === 'cancelled' &&
      view.state.operatorId === this.#options.operatorId &&
      view.loginId === this.#replacing;
    // Any other view of that login means "new" did not end it (its code was being checked, say).
    if (view.loginId === this.#replacing) this.#replacing = undefined;
    if (replaced) {
      // "new" ended this login to start another: it was not cancelled, whatever its prompt says.
      this.#write(`\n── ${REPLACED}`);
      return {};
    }
    this.#print(view);
    return {};
  }

  public async notify(_operatorId: string, notice: OperatorNotice): Promise<void> {
    this.#write(this.#render(notice));
  }

  public async broadcast(notice: OperatorNotice): Promise<void> {
    this.#write(this.#render(notice));
  }

  public isConnected(): boolean {
    return this.#lines !== undefined;
  }

  /** `connected` from `start` to `stop` (`/readyz` reports it where a relay reports Discord). */
  public connectionState(): 'connected' | 'disconnected' {
    return this.isConnected() ? 'connected' : 'disconnected';
  }

  /** Nobody: the one operator at the terminal reads everything this channel writes. */
  public unreachableOperators(): readonly UnreachableOperator[] {
    return [];
  }

  /** Stops reading lines: nothing typed from now on is delivered. Output goes on until `stop`. */
  public async stopInputs(): Promise<void> {
    this.#lines?.removeAllListeners('line');
  }

  public async stop(): Promise<void> {
    this.#lines?.close();
    this.#lines = undefined;
  }

  #print(view: PromptView, note?: string): void {
    const { text, actions } = renderPrompt(view, this.#name, this.#renderOptions());
    this.#currentLoginId = view.loginId;
    this.#lastLoginOf.set(view.account, view.loginId);
    const lines = note === undefined ? text : `${text}\n${note}`;
    this.#write(`\n── ${lines.split('\n').join('\n   ')}\n${hint(actions)}`);
  }

  readonly #name = (operatorId: string): string =>
    operatorId === this.#options.operatorId
      ? 'you'
      : (cliOperatorName(operatorId) ?? `operator ${operatorId}`);

  /** A command's `respond`: prints the first answer; later ones, and any after `stop`, are dropped. */
  #responder(): (notice: OperatorNotice) => Promise<void> {
    let answered = false;
    return async (notice) => {
      if (answered || this.#lines === undefined) return;
      answered = true;
      if (notice.kind === 'login-request' && notice.result === 'halt-confirm') {
        const { haltAt, account } = notice;
        this.#offeredHalt = {
          ...(haltAt === undefined ? {} : { haltAt }),
          ...(account === undefined ? {} : { account }),
        };
      }
      this.#write(this.#render(notice));
    };
  }

  #render(notice: OperatorNotice): string {
    if (notice.kind === 'choose-account' && notice.question.kind === 'code') {
      // Whichever way it came (a notice, an answer), typing one of its names answers it.
      this.#openChoice = { codeInputId: notice.question.inputId, accounts: notice.accounts };
    }
    const text = renderNotice(notice, this.#name, this.#renderOptions());
    // The terminal has no command picker: the help names the commands too (and the accounts).
    if (notice.kind !== 'help') return text;
    const { accounts } = this.#options;
    return accounts.length < 2
      ? `${text}\n${COMMANDS_HINT}`
      : `${text}\n${COMMANDS_HINT} Add an account's name for that account only (${accounts.map((a) => `"${a}"`).join(', ')}): "login ${accounts[0] ?? ''}".`;
  }

  #renderOptions(): RenderOptions {
    return { format: 'plain', codeDigits: this.#options.codeDigits };
  }

  #nextInputId(): string {
    this.#inputCount += 1;
    return `${this.#inputIdPrefix}-${this.#inputCount}`;
  }

  #write(text: string): void {
    this.#options.output.write(`${text}\n`);
  }
}

/** Printed after the help: the terminal has no command picker to show them. */
const COMMANDS_HINT = `Or type "${TYPED_ACTIONS.resend}" for a new SMS, "status", "login" or "cancel".`;

/** Printed before the prompt of a login that was waiting when the channel started. */
const RESUMED = 'A login started before this run is still waiting for a code: here is its prompt again.';

/** Printed for the prompt of a login that "new" replaced, instead of "you cancelled this login". */
const REPLACED = 'That login is dropped, as you asked for a new code.';

function commandOf(text: string): OperatorCommand | undefined {
  return (Object.keys(TYPED_COMMANDS) as OperatorCommand[]).find((command) =>
    (TYPED_COMMANDS[command] as readonly string[]).includes(text),
  );
}

function hint(actions: readonly PromptAction[]): string {
  const choices: string[] = [];
  if (actions.includes('code')) choices.push('type the code');
  if (actions.includes('resend')) choices.push('type "new" for a new code');
  if (actions.includes('cancel')) choices.push('type "cancel" to drop this login');
  return choices.length === 0 ? '' : `   > ${choices.join(', ')}.`;
}
