/**
 * Model-based tests of the login protocol (fast-check `fc.commands`): 1–3 relays of one account
 * sharing a coordination store (MemoryCoordination, and RedisCoordination on REDIS_URL under a key
 * prefix of their own), two operators and a scripted broker, driven by random sequences of
 * triggers, operator inputs (right, wrong and earlier codes, plain or through a modal, late or
 * twice, two at once), buttons, `/login`, time, and faults (a relay killed or paused past its
 * lock's TTL, paused between step 1 and saving its login, or configured otherwise than the others;
 * the store down or stalled; lock renewals refused; broker calls held, failing, or refusing the
 * credentials). After every command the invariants of
 * test/helpers/model-world.ts are checked against what the broker, the stores and the operators saw.
 *
 * The same with two accounts and two relay processes, each an operator hub with one relay per
 * account (issue 19): test/relay/login-model-accounts.ts, its invariants per account and across
 * accounts (a code reaches one broker at most, never the broker of an account other than the one
 * its message names or its press chose, …), and runs it found, replayed as they are.
 *
 * Bounded for `npm test`: one account, 300 runs on memory and 200 on Redis, short sequences (about
 * 10 s alone); two accounts, 150 on memory and 60 on Redis, medium sequences (about 8 s more); the
 * seed is fixed when `CI` is set. For many more, and longer ones:
 * `MODEL_RUNS=2000 MODEL_SIZE=medium npx vitest run test/relay/login-model.test.ts` (runs per
 * backend and model; `-t 'two accounts'` for those alone). A failure prints its seed, its path and
 * its counterexample's `replayPath`: replay it with
 * `MODEL_SEED=<seed> MODEL_PATH=<path> MODEL_REPLAY_PATH=<replayPath>` (and the same `MODEL_RUNS`).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StepOnePlan } from '../helpers/model-broker.js';
import {
  ALICE,
  BOB,
  codeInput,
  World,
  type Backend,
  type ModelInput,
  type RedisHandle,
} from '../helpers/model-world.js';
import { connectRedis } from '../helpers/redis.js';
import type { LoginReason } from '../../src/domain/vocabulary.js';
import {
  ACCOUNTS_CASES,
  accountsProperty,
  accountTotals,
  replay,
  runAccounts,
} from './login-model-accounts.js';

const MODEL_RUNS = Number(process.env.MODEL_RUNS ?? 0);
const MEMORY_RUNS = MODEL_RUNS > 0 ? MODEL_RUNS : 300;
const REDIS_RUNS = MODEL_RUNS > 0 ? MODEL_RUNS : 200;
/** How long the command sequences get (fast-check's size: `small`, `medium`, `+1`…). */
const MODEL_SIZE = (process.env.MODEL_SIZE ?? 'small') as fc.SizeForArbitrary;
/**
 * The model of two accounts and two relay processes (test/relay/login-model-accounts.ts): longer
 * sequences by default, as a question and its presses take several commands.
 */
const ACCOUNTS_MEMORY_RUNS = MODEL_RUNS > 0 ? MODEL_RUNS : 150;
const ACCOUNTS_REDIS_RUNS = MODEL_RUNS > 0 ? MODEL_RUNS : 60;
const ACCOUNTS_SIZE = (process.env.MODEL_SIZE ?? 'medium') as fc.SizeForArbitrary;
/** A bigger run of it takes longer than a test's usual minute (Redis: about 60 ms a run). */
const accountsTimeout = (runs: number): number => Math.max(60_000, runs * 300);
const START_MS = Date.UTC(2040, 0, 6, 9, 0, 0);
const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

type Model = Record<string, never>;

/** What the runs exercised, so that a model that does nothing cannot pass. */
const totals = { runs: 0, commands: 0, stepOnes: 0, submits: 0, tokens: 0, prompts: 0 };

/** One command: acts on the world, lets it settle, then checks every invariant. */
abstract class Step implements fc.AsyncCommand<Model, World> {
  public check(): boolean {
    return true;
  }

  public async run(_model: Model, world: World): Promise<void> {
    await this.act(world);
    await world.settle();
    const violations = await world.check();
    if (violations.length > 0) throw new ModelViolation(violations, world);
  }

  protected abstract act(world: World): Promise<void> | void;
  public abstract toString(): string;
}

class ModelViolation extends Error {
  public constructor(violations: readonly string[], world: World) {
    super(`${violations.join('\n')}\n--- what happened (last 80) ---\n${world.log.slice(-80).join('\n')}`);
  }
}

const at = <T>(items: readonly T[], index: number): T | undefined =>
  items.length === 0 ? undefined : items[index % items.length];
const name = (operatorId: string) => (operatorId === ALICE ? 'alice' : 'bob');

class Trigger extends Step {
  public constructor(
    readonly relay: number,
    readonly reason: LoginReason,
  ) {
    super();
  }
  protected act(world: World): void {
    const entry = at(world.live(), this.relay);
    if (entry !== undefined) world.trigger(entry, this.reason);
  }
  public toString(): string {
    return `trigger(${this.relay}, ${this.reason})`;
  }
}

type CodeKind = 'right' | 'old' | 'wrong-1' | 'wrong-2';
type Via = 'plain' | 'modal-current' | 'modal-old';

interface CodeSpec {
  readonly operator: 0 | 1;
  readonly kind: CodeKind;
  readonly via: Via;
  readonly writtenAgoMs: number;
}

function writeCode(world: World, spec: CodeSpec): ModelInput {
  const codes = world.smsCodes();
  const code =
    spec.kind === 'right'
      ? (codes.at(-1) ?? '900001')
      : spec.kind === 'old'
        ? (codes.at(-2) ?? '900002')
        : spec.kind === 'wrong-1'
          ? '900001'
          : '900002';
  const logins = world.promptedLogins;
  // A modal belongs to a prompt: the current one, or an older one (the current one if none is older).
  const modal = spec.via === 'modal-current' ? logins.at(-1) : (logins.at(-2) ?? logins.at(-1));
  const loginId = spec.via === 'plain' ? undefined : (modal ?? 'L0');
  const operatorId = spec.operator === 0 ? ALICE : BOB;
  return codeInput(world, operatorId, code, Date.now() - spec.writtenAgoMs, loginId);
}

const codeSpec = fc.record({
  operator: fc.constantFrom<0 | 1>(0, 1),
  kind: fc.constantFrom<CodeKind>('right', 'right', 'old', 'wrong-1', 'wrong-2'),
  via: fc.constantFrom<Via>('plain', 'plain', 'modal-current', 'modal-old'),
  writtenAgoMs: fc.constantFrom(0, 0, 0, 3_000, 60_000, 10 * 60_000),
});

const specText = (s: CodeSpec) =>
  `${name(s.operator === 0 ? ALICE : BOB)} ${s.kind} ${s.via} -${s.writtenAgoMs}ms`;

class Code extends Step {
  public constructor(
    readonly spec: CodeSpec,
    readonly late: boolean,
  ) {
    super();
  }
  protected act(world: World): void {
    const input = writeCode(world, this.spec);
    if (this.late) world.late.push(input);
    else world.deliver(input);
  }
  public toString(): string {
    return `code(${specText(this.spec)}${this.late ? ', late' : ''})`;
  }
}

class BothAnswer extends Step {
  public constructor(
    readonly first: CodeSpec,
    readonly second: CodeSpec,
  ) {
    super();
  }
  protected act(world: World): void {
    const a = writeCode(world, { ...this.first, operator: 0 });
    const b = writeCode(world, { ...this.second, operator: 1 });
    world.deliver(a);
    world.deliver(b);
  }
  public toString(): string {
    return `bothAnswer(${specText({ ...this.first, operator: 0 })}; ${specText({ ...this.second, operator: 1 })})`;
  }
}

class Button extends Step {
  public constructor(
    readonly kind: 'resend' | 'cancel',
    readonly operator: 0 | 1,
    readonly old: boolean,
  ) {
    super();
  }
  protected act(world: World): void {
    const loginId = this.old ? world.promptedLogins.at(-2) : world.promptedLogins.at(-1);
    if (loginId === undefined) return;
    const operatorId = this.operator === 0 ? ALICE : BOB;
    world.deliver({ kind: this.kind, operatorId, loginId, inputId: world.newInputId() });
  }
  public toString(): string {
    return `${this.kind}(${this.operator === 0 ? 'alice' : 'bob'}${this.old ? ', older prompt' : ''})`;
  }
}

class LoginCommand extends Step {
  public constructor(
    readonly relay: number,
    readonly operator: 0 | 1,
  ) {
    super();
  }
  protected act(world: World): void {
    const entry = at(world.live(), this.relay);
    if (entry !== undefined) world.loginCommand(entry, this.operator === 0 ? ALICE : BOB);
  }
  public toString(): string {
    return `slashLogin(${this.relay}, ${this.operator === 0 ? 'alice' : 'bob'})`;
  }
}

class Advance extends Step {
  public constructor(readonly ms: number) {
    super();
  }
  protected async act(world: World): Promise<void> {
    world.log.push(`advance ${this.ms}ms`);
    await world.advance(this.ms);
  }
  public toString(): string {
    return `advance(${this.ms})`;
  }
}

class Fault extends Step {
  public constructor(
    readonly kind:
      | 'kill'
      | 'spawn'
      | 'spawn-other'
      | 'pause'
      | 'resume'
      | 'store-down'
      | 'store-up'
      | 'store-stall'
      | 'store-unstall'
      | 'refuse-renewals'
      | 'accept-renewals'
      | 'release-held',
    readonly relay: number,
  ) {
    super();
  }
  protected act(world: World): void {
    const entry = at(world.live(), this.relay);
    switch (this.kind) {
      case 'kill':
        if (entry !== undefined) world.kill(entry);
        return;
      case 'spawn':
        if (world.live().length < 3) world.spawn();
        return;
      case 'spawn-other':
        if (world.live().length < 3) world.spawn(true);
        return;
      case 'store-stall':
        world.log.push('store stalled');
        world.tracker.stall();
        return;
      case 'store-unstall':
        world.log.push('store answers again');
        world.tracker.unstall();
        return;
      case 'refuse-renewals':
        world.log.push('lock renewals refused');
        world.tracker.refuseRenewals = true;
        return;
      case 'accept-renewals':
        world.log.push('lock renewals accepted');
        world.tracker.refuseRenewals = false;
        return;
      case 'pause':
        if (entry !== undefined) world.pause(entry);
        return;
      case 'resume':
        world.log.push('resume');
        return world.resumeAll();
      case 'store-down':
        world.log.push('store down');
        world.tracker.down = true;
        return;
      case 'store-up':
        world.log.push('store up');
        world.tracker.down = false;
        return;
      case 'release-held':
        world.log.push(`release ${world.broker.heldCalls} held broker calls`);
        world.broker.releaseHeld();
        return;
    }
  }
  public toString(): string {
    return `${this.kind}(${this.relay})`;
  }
}

class BrokerPlan extends Step {
  public constructor(readonly plan: StepOnePlan | 'hold-step-2' | 'answer-step-2') {
    super();
  }
  protected act(world: World): void {
    world.log.push(`broker: ${this.plan}`);
    if (this.plan === 'hold-step-2') world.broker.holdStepTwo = true;
    else if (this.plan === 'answer-step-2') world.broker.holdStepTwo = false;
    else world.broker.stepOnePlans.push(this.plan);
  }
  public toString(): string {
    return `broker(${this.plan})`;
  }
}

class Redeliver extends Step {
  public constructor(
    readonly late: boolean,
    readonly index: number,
  ) {
    super();
  }
  protected act(world: World): void {
    if (this.late) {
      if (world.late.length === 0) return;
      const [input] = world.late.splice(this.index % world.late.length, 1);
      world.deliver(input!);
      return;
    }
    // Discord delivers a message again (a gateway resume) shortly after, never after the claim TTL.
    const recent = world.delivered.filter((d) => Date.now() - d.atMs < 5 * 60_000);
    const again = at(recent, this.index);
    if (again !== undefined) world.deliver(again.input);
  }
  public toString(): string {
    return this.late ? `deliverLate(${this.index})` : `deliverAgain(${this.index})`;
  }
}

const relayIndex = fc.nat(2);
const operator = fc.constantFrom<0 | 1>(0, 1);

const commands = [
  fc
    .tuple(
      relayIndex,
      fc.constantFrom<LoginReason>('renewal', 'token-invalid', 'bot-request', 'operator-request', 'schedule'),
    )
    .map(([r, reason]) => new Trigger(r, reason)),
  fc.tuple(codeSpec, fc.boolean()).map(([spec, late]) => new Code(spec, late)),
  fc.tuple(codeSpec, codeSpec).map(([a, b]) => new BothAnswer(a, b)),
  fc
    .tuple(fc.constantFrom<'resend' | 'cancel'>('resend', 'cancel'), operator, fc.boolean())
    .map(([kind, op, old]) => new Button(kind, op, old)),
  fc.tuple(relayIndex, operator).map(([r, op]) => new LoginCommand(r, op)),
  fc
    .constantFrom(100, 1_000, 5_000, 16_000, 60_000, 5 * 60_000 + 1_000, 20 * 60_000, 3_600_000)
    .map((ms) => new Advance(ms)),
  fc.constantFrom(100, 1_000, 16_000).map((ms) => new Advance(ms)),
  fc
    .tuple(
      fc.constantFrom<Fault['kind']>(
        'kill',
        'spawn',
        'spawn-other',
        'pause',
        'resume',
        'store-down',
        'store-up',
        'store-stall',
        'store-unstall',
        'refuse-renewals',
        'accept-renewals',
        'release-held',
      ),
      relayIndex,
    )
    .map(([kind, r]) => new Fault(kind, r)),
  fc
    .constantFrom<BrokerPlan['plan']>(
      'transient',
      'hold',
      'hold-step-2',
      'answer-step-2',
      'fatal',
      'code-then-pause',
    )
    .map((plan) => new BrokerPlan(plan)),
  fc.tuple(fc.boolean(), fc.nat(5)).map(([late, i]) => new Redeliver(late, i)),
];

function property(backend: Backend, redis: () => RedisHandle | undefined) {
  return fc.asyncProperty(
    fc.integer({ min: 1, max: 3 }),
    fc.commands(commands, { maxCommands: 40, size: MODEL_SIZE, ...replay() }),
    async (relays, cmds) => {
      vi.useFakeTimers({ toFake: [...FAKED] });
      vi.setSystemTime(START_MS);
      const world = World.create(backend, redis());
      try {
        for (let i = 0; i < relays; i += 1) world.spawn();
        await world.settle();
        await fc.asyncModelRun(() => ({ model: {}, real: world }), cmds);
        const violations = await world.finish();
        totals.runs += 1;
        totals.commands += [...cmds].length;
        totals.stepOnes += world.broker.stepOneCalls.length;
        totals.submits += world.broker.submits.length;
        totals.tokens += world.events.events.filter((e) => e.type === 'token.updated').length;
        totals.prompts += world.promptedLogins.length;
        if (violations.length > 0) throw new ModelViolation(violations, world);
      } finally {
        await world.dispose();
        vi.useRealTimers();
      }
    },
  );
}

function params<T>(numRuns: number): fc.Parameters<T> {
  const seed = process.env.MODEL_SEED ?? (process.env.CI ? '20260417' : undefined);
  return {
    numRuns,
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    ...(process.env.MODEL_PATH === undefined ? {} : { path: process.env.MODEL_PATH }),
  };
}

/** The runs did log in, refuse codes and start logins: the model is not idle. */
function exercised(before: typeof totals): void {
  expect(totals.tokens - before.tokens).toBeGreaterThan(0);
  expect(totals.submits - before.submits).toBeGreaterThan(totals.tokens - before.tokens);
  expect(totals.stepOnes - before.stepOnes).toBeGreaterThan(totals.runs - before.runs);
}

describe('the login protocol, as a model', () => {
  let redis: RedisHandle | undefined;
  beforeAll(async () => {
    redis = await connectRedis();
  });
  afterAll(async () => {
    if (process.env.MODEL_STATS !== undefined) console.log(totals);
    if (redis?.isOpen === true) await redis.close();
  });

  it('keeps its invariants with relays sharing a MemoryCoordination', async () => {
    const before = { ...totals };
    await fc.assert(
      property('memory', () => undefined),
      params(MEMORY_RUNS),
    );
    exercised(before);
  });

  it('keeps its invariants with relays sharing a RedisCoordination', async () => {
    const before = { ...totals };
    await fc.assert(
      property('redis', () => redis),
      params(REDIS_RUNS),
    );
    exercised(before);
  });
});

describe('the login protocol with two accounts and two relay processes, as a model', () => {
  let redis: RedisHandle | undefined;
  beforeAll(async () => {
    redis = await connectRedis();
  });
  afterAll(async () => {
    if (process.env.MODEL_STATS !== undefined) console.log(accountTotals);
    if (redis?.isOpen === true) await redis.close();
  });

  /** Both accounts logged in, questions were asked and answered, codes went by every route. */
  function exercisedAccounts(before: typeof accountTotals): void {
    if (process.env.MODEL_PATH !== undefined) return; // one run replayed
    const t = accountTotals;
    expect(t.tokens[0]! - before.tokens[0]!).toBeGreaterThan(0);
    expect(t.tokens[1]! - before.tokens[1]!).toBeGreaterThan(0);
    expect(t.questions - before.questions).toBeGreaterThan(0);
    expect(t.sentByPress - before.sentByPress).toBeGreaterThan(0);
    expect(t.namedSends - before.namedSends).toBeGreaterThan(0);
  }

  for (const run of ACCOUNTS_CASES) {
    it(`replays: ${run.title}`, () => runAccounts('memory', undefined, run));
  }

  it(
    'keeps its invariants per account and across, on MemoryCoordinations sharing input claims',
    async () => {
      const before = structuredClone(accountTotals);
      await fc.assert(
        accountsProperty('memory', () => undefined, ACCOUNTS_SIZE),
        params(ACCOUNTS_MEMORY_RUNS),
      );
      exercisedAccounts(before);
    },
    accountsTimeout(ACCOUNTS_MEMORY_RUNS),
  );

  it(
    'keeps its invariants per account and across, on RedisCoordinations with one input-claim key',
    async () => {
      const before = structuredClone(accountTotals);
      await fc.assert(
        accountsProperty('redis', () => redis, ACCOUNTS_SIZE),
        params(ACCOUNTS_REDIS_RUNS),
      );
      exercisedAccounts(before);
    },
    accountsTimeout(ACCOUNTS_REDIS_RUNS),
  );
});
