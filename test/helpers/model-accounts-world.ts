import { vi } from 'vitest';
import { relayKeys } from '../../src/contract/keys.js';
import type { LoginReason } from '../../src/domain/vocabulary.js';
import type { LoginCoordination } from '../../src/relay/ports/coordination.js';
import type { OperatorInput, OperatorNotice } from '../../src/relay/ports/operators.js';
import { MemoryCoordination, MemoryInputClaims } from '../../src/store/memory-coordination.js';
import { RedisCoordination } from '../../src/store/redis-coordination.js';
import { AccountModel, CODE_TIMEOUT_MS, inputContext, type ModelInput } from './model-account.js';
import {
  describeInput,
  newProcess,
  type Answer,
  type ProcessEntry,
  type ProcessWorld,
} from './model-process.js';
import { RouteLedger } from './model-routes.js';
import { StoreTracker, type RelayControl } from './model-store.js';
import { deletePrefix, uniquePrefix } from './redis.js';
import { ALICE, BOB, type Backend, type RedisHandle } from './model-world.js';

export type { ProcessEntry } from './model-process.js';

/**
 * A world of the login model with two accounts (issue 19): up to two relay processes, each one
 * operator hub over its own operators' channel with one `Relay` per account, as the composition
 * runs them (test/helpers/model-process.ts). Per account: its coordination store's keys, scripted
 * broker, token store and events, with every invariant of test/helpers/model-account.ts. Across
 * accounts the input claims are one (`P:inputs`, or one {@link MemoryInputClaims}), the hubs claim
 * through them too, and the invariants of test/helpers/model-routes.ts hold. Every process gets
 * every DM and prompt button (its own gateway), in either order; a press or a command goes to one.
 * See test/relay/login-model-accounts.ts.
 */

export const ACCOUNTS = ['live', 'paper'] as const;
const CODE_BASES = [100_000, 500_000] as const;
const LOGIN_PREFIXES = ['L', 'P'] as const;

type Press = Extract<ModelInput, { kind: 'account-chosen' }>;

export class AccountsWorld implements ProcessWorld {
  public readonly accounts: readonly AccountModel[];
  public readonly processes: ProcessEntry[] = [];
  public readonly inputs = new Map<string, ModelInput>();
  /** Inputs delivered to every process, each once, with when (fake epoch ms), first first. */
  public readonly delivered: { readonly input: ModelInput; readonly atMs: number }[] = [];
  /** Inputs written and not delivered yet ("late"). */
  public readonly late: ModelInput[] = [];
  public readonly log: string[] = [];
  public readonly routes: RouteLedger;
  readonly #answers: Answer[] = [];
  /** `/login` commands (by ID) → answers given, and the process each went to. */
  readonly #commands = new Map<string, { count: number; readonly processId: string }>();
  #processCount = 0;
  #inputCount = 0;

  private constructor(
    coordinations: readonly LoginCoordination[],
    trackers: readonly StoreTracker[],
    /** Bob operates `paper` only (live's prompts and questions reach Alice alone). */
    public readonly bobPaperOnly: boolean,
    private readonly cleanup: () => Promise<void>,
  ) {
    this.routes = new RouteLedger(this.inputs, (code) => this.#smsAccount(code));
    this.accounts = ACCOUNTS.map(
      (name, i) =>
        new AccountModel({
          name,
          coordination: coordinations[i]!,
          tracker: trackers[i]!,
          log: this.log,
          codeBase: CODE_BASES[i]!,
          loginPrefix: LOGIN_PREFIXES[i]!,
          pause: (control) => {
            const entry = this.processes.find((p) => p.control === control);
            if (entry !== undefined) this.pause(entry);
          },
          codeInput: (inputId) => {
            const input = this.inputs.get(inputId);
            return input?.kind === 'account-chosen' ? this.inputs.get(input.codeInputId) : input;
          },
          submitted: (submit, inputId) => this.routes.submitted(name, submit, inputId),
        }),
    );
  }

  public static create(
    backend: Backend,
    redis: RedisHandle | undefined,
    bobPaperOnly: boolean,
  ): AccountsWorld {
    if (backend === 'memory') {
      const claims = new MemoryInputClaims();
      const live = new StoreTracker(undefined, undefined, undefined, { label: 'live' });
      return new AccountsWorld(
        ACCOUNTS.map(() => new MemoryCoordination({ inputClaims: claims })),
        [live, new StoreTracker(undefined, undefined, undefined, { inputsOf: live, label: 'paper' })],
        bobPaperOnly,
        async () => {},
      );
    }
    const prefix = uniquePrefix('login-model-accounts');
    const keys = ACCOUNTS.map((account) => relayKeys({ prefix, account, sharedInputs: true }));
    const live = new StoreTracker(keys[0]!.lock, keys[0]!.pending, redis, { label: 'live' });
    const paper = new StoreTracker(keys[1]!.lock, keys[1]!.pending, redis, {
      inputsOf: live,
      label: 'paper',
    });
    return new AccountsWorld(
      keys.map((k) => new RedisCoordination({ client: redis!, keys: k, now: () => Date.now() })),
      [live, paper],
      bobPaperOnly,
      () => deletePrefix(redis!, prefix),
    );
  }

  public account(name: string): AccountModel {
    const account = this.accounts.find((a) => a.name === name);
    if (account === undefined) throw new RangeError(`no account ${name} in the model`);
    return account;
  }

  /** The accounts `operatorId` operates. */
  public accountsOf(operatorId: string): readonly string[] {
    return operatorId === BOB && this.bobPaperOnly ? ['paper'] : ACCOUNTS;
  }

  public live(): ProcessEntry[] {
    return this.processes.filter((entry) => !entry.control.killed);
  }

  // ── processes ──

  /** Starts a relay process (one that restarted after a kill holds no code of the one before). */
  public spawn(): void {
    this.#processCount += 1;
    const control: RelayControl = { relayId: `p${this.#processCount}`, killed: false, paused: undefined };
    const { entry, logins } = newProcess(this, control);
    this.processes.push(entry);
    for (const account of this.accounts) account.personActed();
    this.log.push(`spawn ${control.relayId}`);
    void entry.hub.start(logins);
    // A relay that cannot read the store at start exits, and its process with it.
    for (const relay of entry.relays.values()) relay.start().catch(() => this.kill(entry));
  }

  public kill(entry: ProcessEntry): void {
    entry.control.killed = true;
    for (const account of this.accounts) account.broker.killed(entry.control.relayId);
    entry.resume?.();
    this.log.push(`kill ${entry.control.relayId}`);
  }

  public pause(entry: ProcessEntry): void {
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
    for (const entry of this.processes) entry.resume?.();
  }

  public trigger(entry: ProcessEntry, account: string, reason: LoginReason): void {
    if (reason === 'operator-request' || reason === 'schedule') this.account(account).personActed();
    this.log.push(`${entry.control.relayId}.${account}.requestLogin(${reason})`);
    void entry.relays.get(account)!.requestLogin(reason);
  }

  // ── operator inputs ──

  public newInputId(): string {
    this.#inputCount += 1;
    return `in-${this.#inputCount}`;
  }

  /**
   * Delivers a DM or a prompt's button to every process that runs (each has its own gateway),
   * starting with the `first`-th: which one's gateway is quicker varies.
   */
  public deliver(input: ModelInput, first = 0): void {
    if (!this.inputs.has(input.inputId)) this.delivered.push({ input, atMs: Date.now() });
    this.inputs.set(input.inputId, input);
    if (input.kind === 'resend' && input.account !== undefined) this.account(input.account).personActed();
    this.log.push(`deliver ${describeInput(input)}`);
    const live = this.live();
    const start = live.length === 0 ? 0 : first % live.length;
    for (const entry of [...live.slice(start), ...live.slice(0, start)]) this.#hand(entry, input);
  }

  /** A press of a "which account?" button: one process acknowledges the interaction and gets it. */
  public press(entry: ProcessEntry, codeInputId: string, account: string, operatorId: string): void {
    const inputId = this.newInputId();
    const press: Press = {
      kind: 'account-chosen',
      operatorId,
      account,
      codeInputId,
      inputId,
      respond: async (notice) => {
        this.routes.pressAnswered(press, notice);
        this.log.push(`${entry.control.relayId} answers ${inputId}: ${notice.kind}`);
      },
    };
    this.inputs.set(inputId, press);
    this.routes.pressed(press, entry.control.relayId);
    this.log.push(`${entry.control.relayId} gets ${describeInput(press)}`);
    if (!entry.control.killed) this.#hand(entry, press);
  }

  /** `/login` (`account:` given or not) through one process. */
  public loginCommand(entry: ProcessEntry, operatorId: string, account: string | undefined): void {
    const inputId = this.newInputId();
    const record = { count: 0, processId: entry.control.relayId };
    this.#commands.set(inputId, record);
    if (account !== undefined) this.account(account).personActed();
    this.log.push(`${entry.control.relayId} /login ${account ?? ''} by ${name(operatorId)}`);
    this.#hand(entry, {
      kind: 'command',
      operatorId,
      command: 'login',
      inputId,
      ...(account === undefined ? {} : { account }),
      respond: async () => {
        record.count += 1;
      },
    });
  }

  #hand(entry: ProcessEntry, input: OperatorInput): void {
    const onInput = entry.channel.onInput;
    if (onInput !== undefined) inputContext.run({ inputId: input.inputId }, () => onInput(input));
  }

  /** Records an answer to the input being handled, if any; returns its ID. */
  public answered(
    control: RelayControl,
    kind: Answer['kind'],
    notice?: OperatorNotice['kind'],
  ): string | undefined {
    const inputId = inputContext.getStore()?.inputId;
    if (inputId !== undefined) {
      this.#answers.push({
        inputId,
        relayId: control.relayId,
        kind,
        ...(notice === undefined ? {} : { notice }),
      });
    }
    return inputId;
  }

  #smsAccount(code: string): string | undefined {
    return this.accounts.find((account) => account.smsCodes().includes(code))?.name;
  }

  // ── time ──

  public async settle(): Promise<void> {
    let quiet = 0;
    for (let round = 0; round < 100_000 && quiet < 3; round += 1) {
      await vi.advanceTimersByTimeAsync(0);
      await new Promise((resolve) => setImmediate(resolve));
      quiet = this.accounts.every((a) => a.tracker.inflight === 0) ? quiet + 1 : 0;
    }
  }

  public async advance(ms: number): Promise<void> {
    const target = Date.now() + ms;
    setTimeout(() => undefined, ms);
    while (Date.now() < target) {
      await vi.advanceTimersToNextTimerAsync();
      await this.settle();
    }
  }

  // ── faults ──

  public storeDown(down: boolean): void {
    for (const account of this.accounts) account.tracker.down = down;
  }

  public stall(stalled: boolean): void {
    for (const account of this.accounts) {
      if (stalled) account.tracker.stall();
      else account.tracker.unstall();
    }
  }

  public releaseHeld(): void {
    for (const account of this.accounts) account.broker.releaseHeld();
  }

  // ── invariants ──

  public async check(): Promise<readonly string[]> {
    const v: string[] = [];
    for (const account of this.accounts) {
      await account.check();
      v.push(...account.tracker.violations.map((text) => `${account.name}: ${text}`));
    }
    v.push(...this.routes.violations);
    const claims = this.accounts[0]!.tracker.inputClaims;
    const notices = new Map<string, number>();
    for (const answer of this.#answers) {
      if (answer.kind !== 'notice') continue;
      // Could not claim (the store failed): another process may still take it.
      if (answer.notice === 'input-not-taken' && claims.get(answer.inputId) !== answer.relayId) continue;
      notices.set(answer.inputId, (notices.get(answer.inputId) ?? 0) + 1);
    }
    for (const [inputId, count] of notices) {
      if (count > 1 && claims.has(inputId)) v.push(`input ${inputId} answered ${count} times`);
    }
    for (const [inputId, { count }] of this.#commands) {
      if (count > 1) v.push(`/login ${inputId} answered ${count} times`);
    }
    return [...new Set(v)];
  }

  /** Ends every fault, lets an hour pass, and checks that what was taken got its answer. */
  public async finish(): Promise<readonly string[]> {
    this.resumeAll();
    this.storeDown(false);
    this.stall(false);
    for (const account of this.accounts) {
      account.broker.holdStepTwo = false;
      account.broker.stepOnePlans.length = 0;
    }
    this.releaseHeld();
    await this.settle();
    await this.advance(CODE_TIMEOUT_MS + 60_000);
    this.releaseHeld();
    await this.advance(3_600_000);
    const v = this.routes.violations;
    const killed = new Set(this.processes.filter((e) => e.control.killed).map((e) => e.control.relayId));
    // Taken alone or with a code (a code's DM, or the press that routed it): the operator hears of it.
    const tracker = this.accounts[0]!.tracker;
    for (const [inputId, relayId] of [...tracker.inputClaims, ...tracker.codeInputClaims()]) {
      if (killed.has(relayId) || !this.inputs.has(inputId)) continue;
      if (!this.#answers.some((a) => a.inputId === inputId))
        v.push(`input ${inputId} taken by ${relayId} never answered`);
    }
    for (const [inputId, { count, processId }] of this.#commands) {
      if (count === 0 && !killed.has(processId)) v.push(`/login ${inputId} never answered`);
    }
    v.push(...this.routes.unansweredPresses((id) => !killed.has(id)));
    return this.check();
  }

  public async dispose(): Promise<void> {
    for (const entry of this.processes) this.kill(entry);
    vi.clearAllTimers();
    await this.cleanup();
  }
}

const name = (operatorId: string): string => (operatorId === ALICE ? 'alice' : 'bob');
