import type {
  OperatorChannel,
  OperatorInput,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from '../../src/operators/types.js';

/** An in-memory {@link OperatorChannel} that records what the relay showed and lets a test answer. */
export class RecordingOperators implements OperatorChannel {
  public readonly prompts: PromptView[] = [];
  public readonly notices: { operatorId: string; notice: OperatorNotice }[] = [];
  public readonly broadcasts: OperatorNotice[] = [];
  #onInput: OperatorInputHandler | undefined;
  #connected = false;

  public async start(onInput: OperatorInputHandler): Promise<void> {
    this.#onInput = onInput;
    this.#connected = true;
  }

  public async showPrompt(view: PromptView): Promise<void> {
    this.prompts.push(view);
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

  /** Delivers an input as if an operator had acted. */
  public input(input: OperatorInput): void {
    if (this.#onInput === undefined) throw new Error('channel not started');
    this.#onInput(input);
  }

  /** The last prompt shown. */
  public get lastPrompt(): PromptView | undefined {
    return this.prompts.at(-1);
  }

  /** Notices sent to one operator, by kind. */
  public noticesTo(operatorId: string): OperatorNotice['kind'][] {
    return this.notices.filter((n) => n.operatorId === operatorId).map((n) => n.notice.kind);
  }
}
