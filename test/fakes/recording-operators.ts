import type { PromptRefs } from '../../src/relay/ports/coordination.js';
import type {
  OperatorChannel,
  OperatorInput,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from '../../src/relay/ports/operators.js';

/**
 * An {@link OperatorInput} whose `inputId` (and a code's `sentAt`) may be left out:
 * {@link RecordingOperators.input} fills them.
 */
export type RecordedInput = OperatorInput extends infer Input
  ? Input extends OperatorInput
    ? Omit<Input, 'inputId' | 'sentAt'> & { readonly inputId?: string; readonly sentAt?: Date }
    : never
  : never;

/**
 * Counts default input IDs across every instance: two recording channels (two relays in a test) must
 * not give two different actions the same ID, or the core would take the second for a repeat.
 */
let inputCount = 0;

/** An in-memory {@link OperatorChannel} that records what the relay showed and lets a test answer. */
export class RecordingOperators implements OperatorChannel {
  /** The view of every `showPrompt` call, in order. */
  public readonly prompts: PromptView[] = [];
  /** The refs passed with every `showPrompt` call (`undefined` when none), in step with `prompts`. */
  public readonly refsPassed: (PromptRefs | undefined)[] = [];
  public readonly notices: { operatorId: string; notice: OperatorNotice }[] = [];
  public readonly broadcasts: OperatorNotice[] = [];
  #onInput: OperatorInputHandler | undefined;
  #connected = false;
  #lastRefs: PromptRefs | undefined;

  public async start(onInput: OperatorInputHandler): Promise<void> {
    this.#onInput = onInput;
    this.#connected = true;
  }

  /** Records the call; resolves with dummy refs that name the login, `{ recorded: loginId }`. */
  public async showPrompt(view: PromptView, refs?: PromptRefs): Promise<PromptRefs> {
    this.prompts.push(view);
    this.refsPassed.push(refs);
    const resolved: PromptRefs = { recorded: view.loginId };
    this.#lastRefs = resolved;
    return resolved;
  }

  public async notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    this.notices.push({ operatorId, notice });
  }

  public async broadcast(notice: OperatorNotice): Promise<void> {
    this.broadcasts.push(notice);
  }

  public isConnected(): boolean {
    return this.#connected;
  }

  public async stop(): Promise<void> {
    this.#connected = false;
  }

  /**
   * Delivers an input as if an operator had acted; without an `inputId`, a new one, unique in the
   * test process (`recorded-input-1`, `-2`…). Returns the input as delivered, so a test can deliver it again as
   * another relay would.
   */
  public input(input: RecordedInput): OperatorInput {
    if (this.#onInput === undefined) throw new Error('channel not started');
    inputCount += 1;
    const delivered = {
      ...input,
      inputId: input.inputId ?? `recorded-input-${inputCount}`,
      // Written now, unless the test says when (a reply typed before a new prompt went out).
      ...(input.kind === 'code' ? { sentAt: input.sentAt ?? new Date() } : {}),
    } as OperatorInput;
    this.#onInput(delivered);
    return delivered;
  }

  /** The last prompt shown. */
  public get lastPrompt(): PromptView | undefined {
    return this.prompts.at(-1);
  }

  /** The refs the last `showPrompt` resolved with, as a relay would share them. */
  public get lastRefs(): PromptRefs | undefined {
    return this.#lastRefs;
  }

  /** Notices sent to one operator, by kind. */
  public noticesTo(operatorId: string): OperatorNotice['kind'][] {
    return this.notices.filter((n) => n.operatorId === operatorId).map((n) => n.notice.kind);
  }
}
