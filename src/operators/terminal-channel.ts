import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Secret } from '../secret.js';
import { ACTION_LABELS, renderNotice, renderPrompt, type PromptAction } from './messages.js';
import { parseCode } from './parse-code.js';
import type { OperatorChannel, OperatorInputHandler, OperatorNotice, PromptView } from './types.js';

/** Options of {@link TerminalOperatorChannel}. */
export interface TerminalChannelOptions {
  /** Where the operator types (standard input in the demo). */
  input: Readable;
  /** Where prompts and notices are written (standard output in the demo). */
  output: Writable;
  /** The operator's id in inputs and logs. */
  operatorId?: string;
  /** Digits in a code. */
  codeLength?: number;
}

const DEFAULTS = { operatorId: 'terminal', codeLength: 6 } as const satisfies Required<
  Pick<TerminalChannelOptions, 'operatorId' | 'codeLength'>
>;

/** What the operator types for each action other than a code. */
const TYPED_ACTIONS = {
  resend: ['new', 'resend', ACTION_LABELS.resend.toLowerCase()],
  cancel: ['cancel', ACTION_LABELS.cancel.toLowerCase()],
} as const;

/**
 * One operator at a terminal: the demo's stand-in for Discord. Lines typed are parsed exactly as DM
 * replies are; "new" and "cancel" stand for the prompt's buttons.
 */
export class TerminalOperatorChannel implements OperatorChannel {
  readonly #options: Required<TerminalChannelOptions>;
  #lines: Interface | undefined;
  /** The login whose prompt was shown last, for "new" and "cancel". */
  #currentLoginId: string | undefined;

  public constructor(options: TerminalChannelOptions) {
    this.#options = { ...DEFAULTS, ...options };
  }

  public async start(onInput: OperatorInputHandler): Promise<void> {
    const operatorId = this.#options.operatorId;
    this.#lines = createInterface({ input: this.#options.input, terminal: false });
    this.#lines.on('line', (line) => {
      const text = line.trim().toLowerCase();
      const loginId = this.#currentLoginId;
      if ((TYPED_ACTIONS.resend as readonly string[]).includes(text) && loginId !== undefined) {
        onInput({ kind: 'resend', operatorId, loginId });
        return;
      }
      if ((TYPED_ACTIONS.cancel as readonly string[]).includes(text) && loginId !== undefined) {
        onInput({ kind: 'cancel', operatorId, loginId });
        return;
      }
      const parsed = parseCode(line, { length: this.#options.codeLength });
      if (parsed.ok) onInput({ kind: 'code', operatorId, code: new Secret(parsed.code) });
      else this.#write(renderNotice({ kind: 'help' }, this.#name, { format: 'plain' }));
    });
  }

  public async showPrompt(view: PromptView): Promise<void> {
    const { text, actions } = renderPrompt(view, this.#name, { format: 'plain' });
    this.#currentLoginId = view.loginId;
    this.#write(`\n── ${text.split('\n').join('\n   ')}\n${hint(actions)}`);
  }

  public async notify(_operatorId: string, notice: OperatorNotice): Promise<void> {
    this.#write(renderNotice(notice, this.#name, { format: 'plain' }));
  }

  public async broadcast(notice: OperatorNotice): Promise<void> {
    this.#write(renderNotice(notice, this.#name, { format: 'plain' }));
  }

  public isConnected(): boolean {
    return this.#lines !== undefined;
  }

  public async stop(): Promise<void> {
    this.#lines?.close();
    this.#lines = undefined;
  }

  readonly #name = (operatorId: string): string =>
    operatorId === this.#options.operatorId ? 'you' : `operator ${operatorId}`;

  #write(text: string): void {
    this.#options.output.write(`${text}\n`);
  }
}

function hint(actions: readonly PromptAction[]): string {
  const choices: string[] = [];
  if (actions.includes('code')) choices.push('type the code');
  if (actions.includes('resend')) choices.push('type "new" for a new code');
  if (actions.includes('cancel')) choices.push('type "cancel" to drop this login');
  return choices.length === 0 ? '' : `   > ${choices.join(', ')}.`;
}
