import { vi } from 'vitest';
import type {
  OperatorChannel,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from '../../src/relay/ports/operators.js';
import type { LoginCoordination, PromptRefs } from '../../src/relay/ports/coordination.js';
import type { Relay } from '../../src/relay/relay.js';
import { Secret } from '../../src/shared/secret.js';
import { relayKeys } from '../../src/contract/keys.js';
import { MemoryCoordination } from '../../src/store/memory-coordination.js';
import { RedisCoordination } from '../../src/store/redis-coordination.js';
import { AccountModel, CODE_TIMEOUT_MS, inputContext, type ModelInput } from './model-account.js';
import { never, StoreTracker, type RelayControl } from './model-store.js';
import { deletePrefix, uniquePrefix, type connectRedis } from './redis.js';
import type { LoginReason } from '../../src/domain/vocabulary.js';

/**
 * A world of the login model: 1–3 relays of one account sharing a coordination store (memory or
 * Redis), a token store, the model's broker and two operators; faults to inject; and the
 * invariants of the login protocol, checked against what the broker, the stores and the operators
 * saw (those of one account in test/helpers/model-account.ts). See test/relay/login-model.test.ts.
 */

export const ALICE = '100000000000000001';
export const BOB = '100000000000000002';
export const OPERATORS = [ALICE, BOB] as const;
export {
  CODE_TIMEOUT_MS,
  LOCK_TTL_MS,
  MAX_CODE_ATTEMPTS,
  MAX_LOGINS_PER_HOUR,
  type ModelInput,
} from './model-account.js';

interface Answer {
  readonly inputId: string;
  readonly operatorId: string;
  readonly relayId: string;
  readonly notice?: OperatorNotice['kind'];
  /**
   * `notice`: a DM reply (counts towards "answered twice"); `prompt`: a prompt shown or edited, or a
   * DM to every operator.
   */
  readonly kind: 'notice' | 'prompt';
}

interface RelayEntry {
  readonly control: RelayControl;
  readonly relay: Relay;
  readonly operators: ModelOperators;
  resume: (() => void) | undefined;
}

/** One relay's operator channel: records every prompt and DM, with the input it answers. */
class ModelOperators implements OperatorChannel {
  public onInput: OperatorInputHandler | undefined;

  public constructor(
    private readonly world: World,
    private readonly control: RelayControl,
  ) {}

  public async start(onInput: OperatorInputHandler): Promise<void> {
    this.onInput = onInput;
  }

  public async showPrompt(view: PromptView): Promise<PromptRefs> {
    if (this.control.killed) return never();
    this.world.prompted(view);
    const inputId = inputContext.getStore()?.inputId;
    const named = 'operatorId' in view.state ? view.state.operatorId : undefined;
    if (inputId !== undefined) {
      this.world.answered({
        inputId,
        operatorId: named ?? '',
        relayId: this.control.relayId,
        kind: 'prompt',
      });
    }
    return { recorded: view.loginId };
  }

  public async notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    if (this.control.killed) return never();
    const inputId = inputContext.getStore()?.inputId;
    if (inputId !== undefined) {
      this.world.answered({
        inputId,
        operatorId,
        relayId: this.control.relayId,
        kind: 'notice',
        notice: notice.kind,
      });
    }
    this.world.log.push(`${this.control.relayId} → ${operatorId}: ${notice.kind} (${inputId ?? '-'})`);
  }

  public async broadcast(notice: OperatorNotice): Promise<void> {
    if (this.control.killed) return never();
    // A DM to every operator answers the input it follows from too (the operator who pressed "Send
    // a new code" hears that its login was abandoned with everyone else). Not counted towards
    // "answered twice": the others hear it as well.
    const inputId = inputContext.getStore()?.inputId;
    if (inputId !== undefined) {
      this.world.answered({ inputId, operatorId: '', relayId: this.control.relayId, kind: 'prompt' });
    }
    this.world.log.push(`${this.control.relayId} → all: ${notice.kind} (${inputId ?? '-'})`);
  }

  public isConnected(): boolean {
    return !this.control.killed;
  }

  public async stop(): Promise<void> {}
}

export type Backend = 'memory' | 'redis';

/** What a Redis world needs: a connected client (made before timers are faked). */
export type RedisHandle = Awaited<ReturnType<typeof connectRedis>>;

export class World {
  /** The account its relays serve: its broker, stores and per-account invariants. */
  public readonly account: AccountModel;
  public readonly relays: RelayEntry[] = [];
  public readonly inputs = new Map<string, ModelInput>();
  /** Inputs delivered, each once, with when (fake epoch ms), first first. */
  public readonly delivered: { readonly input: ModelInput; readonly atMs: number }[] = [];
  /** Inputs written and not delivered yet ("late"). */
  public readonly late: ModelInput[] = [];
  /** What happened, for a failure's message. */
  public readonly log: string[] = [];
  readonly #answers: Answer[] = [];
  /** `/login` commands delivered (by ID) → answers given. */
  readonly #commands = new Map<string, number>();
  /** The relay each `/login` went to: one killed before it answered cannot answer. */
  readonly #commandRelays = new Map<string, string>();
  #relayCount = 0;
  #inputCount = 0;

  private constructor(
    coordination: LoginCoordination,
    tracker: StoreTracker,
    private readonly cleanup: () => Promise<void>,
  ) {
    this.account = new AccountModel({
      name: 'default',
      coordination,
      tracker,
      log: this.log,
      pause: (control) => {
        const entry = this.relays.find((e) => e.control === control);
        if (entry !== undefined) this.pause(entry);
      },
      codeInput: (inputId) => this.inputs.get(inputId),
    });
  }

  public static create(backend: Backend, redis?: RedisHandle): World {
    if (backend === 'memory') return new World(new MemoryCoordination(), new StoreTracker(), async () => {});
    const prefix = uniquePrefix('login-model');
    const keys = relayKeys({ prefix, account: 'default' });
    return new World(
      new RedisCoordination({ client: redis!, keys, now: () => Date.now() }),
      new StoreTracker(keys.lock, keys.pending, redis),
      () => deletePrefix(redis!, prefix),
    );
  }

  public get broker(): AccountModel['broker'] {
    return this.account.broker;
  }

  public get tracker(): StoreTracker {
    return this.account.tracker;
  }

  public get events(): AccountModel['events'] {
    return this.account.events;
  }

  /** Logins whose prompts were shown, first shown first. */
  public get promptedLogins(): readonly string[] {
    return this.account.promptedLogins;
  }

  public get violations(): readonly string[] {
    return this.tracker.violations;
  }

  public live(): RelayEntry[] {
    return this.relays.filter((entry) => !entry.control.killed);
  }

  // ── relays ──

  /**
   * Starts a new relay (a replica, or one restarted after a kill). `otherConfig`: one whose
   * credentials differ from the others' (a password rotated on it only).
   */
  public spawn(otherConfig = false): void {
    this.#relayCount += 1;
    const control: RelayControl = { relayId: `r${this.#relayCount}`, killed: false, paused: undefined };
    const operators = new ModelOperators(this, control);
    const relay = this.account.newRelay(control, operators, otherConfig);
    const entry: RelayEntry = { control, relay, operators, resume: undefined };
    this.relays.push(entry);
    this.log.push(`spawn ${control.relayId}${otherConfig ? ' (configured otherwise)' : ''}`);
    this.personActed();
    void operators.start((input) => relay.handleInput(input));
    // A relay that cannot read the store at start exits (and is restarted by its orchestrator).
    relay.start().catch(() => this.kill(entry));
  }

  public kill(entry: RelayEntry): void {
    entry.control.killed = true;
    this.broker.killed(entry.control.relayId);
    entry.resume?.();
    this.log.push(`kill ${entry.control.relayId}`);
  }

  public pause(entry: RelayEntry): void {
    if (entry.control.paused !== undefined) return;
    entry.control.paused = new Promise((resolve) => {
      entry.resume = () => {
        entry.control.paused = undefined;
        entry.resume = undefined;
        resolve();
      };
    });
    this.log.push(`pause ${entry.control.relayId}`);
  }

  public resumeAll(): void {
    for (const entry of this.relays) entry.resume?.();
  }

  public trigger(entry: RelayEntry, reason: LoginReason): void {
    if (reason === 'operator-request' || reason === 'schedule') this.personActed();
    this.log.push(`${entry.control.relayId}.requestLogin(${reason})`);
    void entry.relay.requestLogin(reason);
  }

  // ── operator inputs ──

  /** A new input ID, as Discord gives each message or interaction. */
  public newInputId(): string {
    this.#inputCount += 1;
    return `in-${this.#inputCount}`;
  }

  /** Delivers `input` to every relay that runs (each has its own gateway connection). */
  public deliver(input: ModelInput): void {
    if (!this.inputs.has(input.inputId)) this.delivered.push({ input, atMs: Date.now() });
    this.inputs.set(input.inputId, input);
    if (input.kind === 'resend') this.personActed();
    this.log.push(`deliver ${describe(input)}`);
    for (const entry of this.live()) {
      const onInput = entry.operators.onInput;
      if (onInput !== undefined) inputContext.run({ inputId: input.inputId }, () => onInput(input));
    }
  }

  /** `/login` through one relay (Discord acknowledges an interaction once). */
  public loginCommand(entry: RelayEntry, operatorId: string): void {
    const inputId = this.newInputId();
    this.#commands.set(inputId, 0);
    this.#commandRelays.set(inputId, entry.control.relayId);
    this.personActed();
    this.log.push(`${entry.control.relayId} /login by ${operatorId}`);
    entry.operators.onInput?.({
      kind: 'command',
      operatorId,
      command: 'login',
      inputId,
      respond: async () => {
        this.#commands.set(inputId, (this.#commands.get(inputId) ?? 0) + 1);
      },
    });
  }

  /** Codes of the SMS sent so far, oldest first. */
  public smsCodes(): string[] {
    return this.account.smsCodes();
  }

  // ── time ──

  /** Runs what is due and waits until nothing is under way but waits on timers, gates or held calls. */
  public async settle(): Promise<void> {
    let quiet = 0;
    for (let round = 0; round < 100_000 && quiet < 3; round += 1) {
      await vi.advanceTimersByTimeAsync(0);
      await new Promise((resolve) => setImmediate(resolve));
      quiet = this.tracker.inflight === 0 ? quiet + 1 : 0;
    }
  }

  /** Moves the clock `ms` on, one timer at a time, settling after each. */
  public async advance(ms: number): Promise<void> {
    const target = Date.now() + ms;
    setTimeout(() => undefined, ms);
    while (Date.now() < target) {
      await vi.advanceTimersToNextTimerAsync();
      await this.settle();
    }
  }

  // ── records ──

  public prompted(view: PromptView): void {
    this.account.prompted(view);
  }

  public answered(answer: Answer): void {
    this.#answers.push(answer);
  }

  /** A person acted: automatic logins may go again. */
  public personActed(): void {
    this.account.personActed();
  }

  // ── invariants ──

  /** Checks what can be checked at any moment; returns every violation so far. */
  public async check(): Promise<readonly string[]> {
    await this.account.check();
    const v = this.tracker.violations;
    const notices = new Map<string, number>();
    for (const answer of this.#answers) {
      if (answer.kind !== 'notice') continue;
      // A relay that could not claim an input (the store failed) says so: another relay, paused or
      // with a store connection that works, may still take it. A window no relay can close alone.
      const claimer = this.tracker.inputClaims.get(answer.inputId);
      if (answer.notice === 'input-not-taken' && claimer !== answer.relayId) continue;
      notices.set(answer.inputId, (notices.get(answer.inputId) ?? 0) + 1);
    }
    for (const [inputId, count] of notices) {
      if (count > 1 && this.tracker.inputClaims.has(inputId))
        v.push(`input ${inputId} answered ${count} times`);
    }
    for (const [inputId, count] of this.#commands) {
      if (count > 1) v.push(`/login ${inputId} answered ${count} times`);
    }
    return [...new Set(v)];
  }

  /**
   * Ends every fault (relays resumed, store up, held calls answered), lets an hour pass, and checks
   * what needs the world to have settled: every input some running relay took got an answer.
   */
  public async finish(): Promise<readonly string[]> {
    this.resumeAll();
    this.tracker.down = false;
    this.tracker.unstall();
    this.tracker.refuseRenewals = false;
    this.broker.holdStepTwo = false;
    this.broker.stepOnePlans.length = 0;
    this.broker.releaseHeld();
    await this.settle();
    await this.advance(CODE_TIMEOUT_MS + 60_000);
    this.broker.releaseHeld();
    await this.advance(3_600_000);
    const v = this.tracker.violations;
    const killed = new Set(this.relays.filter((e) => e.control.killed).map((e) => e.control.relayId));
    for (const [inputId, relayId] of this.tracker.inputClaims) {
      if (killed.has(relayId) || !this.inputs.has(inputId)) continue;
      if (!this.#answers.some((a) => a.inputId === inputId))
        v.push(`input ${inputId} taken by ${relayId} never answered`);
    }
    for (const [inputId, count] of this.#commands) {
      if (count === 0 && !killed.has(this.#commandRelays.get(inputId) ?? ''))
        v.push(`/login ${inputId} never answered`);
    }
    return this.check();
  }

  public async dispose(): Promise<void> {
    for (const entry of this.relays) this.kill(entry);
    vi.clearAllTimers();
    await this.cleanup();
  }
}

/** One input in a line of the log, without its code. */
export function describe(input: ModelInput): string {
  const extra =
    input.kind === 'code'
      ? ` code=${input.code.reveal()} sentAt=+${input.sentAt.getTime() % 10_000_000}${input.loginId === undefined ? '' : ` modal=${input.loginId}`}`
      : 'loginId' in input
        ? ` for ${input.loginId}`
        : '';
  return `${input.inputId} ${input.kind} by ${input.operatorId === ALICE ? 'alice' : 'bob'}${extra}`;
}

/** A code input of the model. */
export function codeInput(
  world: World,
  operatorId: string,
  code: string,
  sentAtMs: number,
  loginId: string | undefined,
): ModelInput {
  return {
    kind: 'code',
    operatorId,
    code: new Secret(code),
    sentAt: new Date(sentAtMs),
    inputId: world.newInputId(),
    ...(loginId === undefined ? {} : { loginId }),
  };
}
