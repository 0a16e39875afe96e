/**
 * The login model with two accounts and two relay processes (issue 19), run by
 * test/relay/login-model.test.ts: each process is one operator hub over its own channel with one
 * relay per account (test/helpers/model-process.ts); the accounts have their own stores' keys,
 * brokers and token stores, and share the input claims. Random sequences of triggers per account,
 * operators' codes (plain replies while one or both accounts wait, replies to an account's prompt
 * message, modals naming the account and login or the login only; right, older and wrong codes of
 * either account; late, twice, two at once, to either process first), presses of a "which
 * account?" question's buttons (on either process, the one that asked or not, once or twice),
 * buttons naming their account, `/login` with or without `account:`, time, and faults (a process
 * killed, restarted or paused; the store down or stalled; broker calls held, failing, refusing the
 * credentials). Invariants: every one of test/helpers/model-account.ts per account, and those of
 * test/helpers/model-routes.ts across accounts.
 */
import fc from 'fast-check';
import { vi } from 'vitest';
import type { LoginReason } from '../../src/domain/vocabulary.js';
import { Secret } from '../../src/shared/secret.js';
import {
  accountIndex,
  BothAnswer,
  Code,
  codeSpec,
  operator,
  Press,
  pressSpec,
  processIndex,
  Redeliver,
  Button,
  type CodeKind,
  type CodeSpec,
  type Via,
} from '../helpers/model-accounts-inputs.js';
import {
  AccountsViolation,
  Advance,
  BrokerPlan,
  Fault,
  LoginCommand,
  Trigger,
  TriggerBoth,
  type AccountIndex,
  type FaultKind,
  type Model,
  type Step,
} from '../helpers/model-accounts-steps.js';
import { AccountsWorld } from '../helpers/model-accounts-world.js';
import type { Backend, RedisHandle } from '../helpers/model-world.js';

/** What the runs exercised, so that a model that does nothing cannot pass. */
export const accountTotals = {
  runs: 0,
  commands: 0,
  submits: [0, 0],
  tokens: [0, 0],
  questions: 0,
  routed: 0,
  sentByPress: 0,
  namedSends: 0,
  crossAccount: 0,
};

const commands: fc.Arbitrary<Step>[] = [
  fc
    .tuple(
      processIndex,
      accountIndex,
      fc.constantFrom<LoginReason>('renewal', 'token-invalid', 'bot-request', 'operator-request', 'schedule'),
    )
    .map(([p, a, reason]) => new Trigger(p, a, reason)),
  fc.tuple(processIndex, processIndex).map(([p, q]) => new TriggerBoth(p, q)),
  fc.tuple(codeSpec, fc.boolean(), processIndex).map(([spec, late, p]) => new Code(spec, late, p)),
  fc.tuple(codeSpec, fc.boolean(), processIndex).map(([spec, late, p]) => new Code(spec, late, p)),
  fc.tuple(codeSpec, codeSpec, processIndex).map(([a, b, p]) => new BothAnswer(a, b, p)),
  fc.tuple(fc.array(pressSpec, { minLength: 1, maxLength: 2 }), fc.nat(2)).map(([p, q]) => new Press(p, q)),
  fc.tuple(pressSpec, fc.nat(2)).map(([p, q]) => new Press([p], q)),
  fc
    .tuple(fc.constantFrom<'resend' | 'cancel'>('resend', 'cancel'), operator, accountIndex, fc.boolean())
    .map(([kind, op, account, old]) => new Button(kind, op, account, old)),
  fc
    .tuple(processIndex, operator, fc.option(accountIndex, { nil: undefined }))
    .map(([p, op, account]) => new LoginCommand(p, op, account)),
  fc
    .constantFrom(100, 1_000, 5_000, 16_000, 60_000, 5 * 60_000 + 1_000, 20 * 60_000, 3_600_000)
    .map((ms) => new Advance(ms)),
  fc.constantFrom(100, 1_000, 16_000).map((ms) => new Advance(ms)),
  fc
    .tuple(
      fc.constantFrom<FaultKind>(
        'kill',
        'spawn',
        'pause',
        'resume',
        'store-down',
        'store-up',
        'store-stall',
        'store-unstall',
        'release-held',
      ),
      processIndex,
    )
    .map(([kind, p]) => new Fault(kind, p)),
  fc
    .tuple(
      accountIndex,
      fc.constantFrom<BrokerPlan['plan']>(
        'transient',
        'hold',
        'hold-step-2',
        'answer-step-2',
        'fatal',
        'code-then-pause',
      ),
    )
    .map(([a, plan]) => new BrokerPlan(a, plan)),
  fc.tuple(fc.boolean(), fc.nat(5), processIndex).map(([late, i, p]) => new Redeliver(late, i, p)),
];

/**
 * Which accounts wait for a code when the commands begin: both (no token anywhere: each starts a
 * login), paper only (live has a token), or none.
 */
export type Opening = 'both-wait' | 'paper-waits' | 'none-waits';

/** One run: its settings and commands. */
export interface AccountsRun {
  /** Bob operates paper only (live's prompts and questions reach Alice alone). */
  readonly bobPaperOnly: boolean;
  readonly opening: Opening;
  readonly commands: Iterable<fc.AsyncCommand<Model, AccountsWorld>>;
  /** What a kept run must have done besides keeping the invariants (a summary of the world, once settled). */
  readonly expected?: Partial<RunSummary>;
}

/** What a run did, across accounts. */
export interface RunSummary {
  readonly questions: number;
  readonly routed: number;
  readonly sentByPress: number;
  /** Codes at each account's broker. */
  readonly submits: readonly number[];
}

const START_MS = Date.UTC(2040, 0, 6, 9, 0, 0);
const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

/** Runs `run` in a new world of two processes; throws on the first violation. */
export async function runAccounts(backend: Backend, redis: RedisHandle | undefined, run: AccountsRun) {
  vi.useFakeTimers({ toFake: [...FAKED] });
  vi.setSystemTime(START_MS);
  const world = AccountsWorld.create(backend, redis, run.bobPaperOnly);
  try {
    const withToken = run.opening === 'both-wait' ? [] : run.opening === 'paper-waits' ? [0] : [0, 1];
    for (const i of withToken) {
      const expiresAt = new Date(Date.now() + 20 * 3_600_000);
      await world.accounts[i]!.store.publish({
        token: new Secret('earlier'),
        obtainedAt: new Date(),
        expiresAt,
      });
    }
    world.spawn();
    world.spawn();
    await world.settle();
    await fc.asyncModelRun(() => ({ model: {}, real: world }), run.commands);
    const violations = await world.finish();
    count(world, [...run.commands].length);
    if (violations.length > 0) throw new AccountsViolation(violations, world);
    if (run.expected !== undefined) {
      const summary: RunSummary = {
        questions: world.routes.questions.length,
        ...world.routes.counts,
        submits: world.accounts.map((account) => account.broker.submits.length),
      };
      for (const [key, value] of Object.entries(run.expected)) {
        const actual = summary[key as keyof RunSummary];
        if (JSON.stringify(actual) !== JSON.stringify(value)) {
          const unmet = `${key}: ${JSON.stringify(actual)}, expected ${JSON.stringify(value)}`;
          throw new AccountsViolation([unmet], world);
        }
      }
    }
  } finally {
    await world.dispose();
    vi.useRealTimers();
  }
}

function count(world: AccountsWorld, commands: number): void {
  const t = accountTotals;
  t.runs += 1;
  t.commands += commands;
  world.accounts.forEach((account, i) => {
    t.submits[i]! += account.broker.submits.length;
    t.tokens[i]! += account.events.events.filter((e) => e.type === 'token.updated').length;
  });
  t.questions += world.routes.questions.length;
  t.routed += world.routes.counts.routed;
  t.sentByPress += world.routes.counts.sentByPress;
  t.namedSends += world.routes.counts.namedSends;
  t.crossAccount += world.routes.counts.crossAccount;
}

/** The commands' part of a failure's path (`replayPath` in its counterexample), to replay it. */
export function replay(): { readonly replayPath?: string } {
  const replayPath = process.env.MODEL_REPLAY_PATH;
  return replayPath === undefined ? {} : { replayPath };
}

/** The property: two processes, random commands, every invariant after each and at the end. */
export function accountsProperty(
  backend: Backend,
  redis: () => RedisHandle | undefined,
  size: fc.SizeForArbitrary,
) {
  return fc.asyncProperty(
    fc.boolean(),
    fc.constantFrom<Opening>('both-wait', 'both-wait', 'paper-waits', 'none-waits'),
    fc.commands(commands, { maxCommands: 40, size, ...replay() }),
    (bobPaperOnly, opening, cmds) => runAccounts(backend, redis(), { bobPaperOnly, opening, commands: cmds }),
  );
}

const alice = (account: AccountIndex, kind: CodeKind, via: Via): CodeSpec => ({
  operator: 0,
  account,
  kind,
  via,
  writtenAgoMs: 0,
});

/**
 * Runs kept as they are, replayed on every `npm test`: what the two-account model is about, and
 * what it found (the runs that fail name the finding; see the commit that added them).
 */
export const ACCOUNTS_CASES: readonly (AccountsRun & { readonly title: string })[] = [
  {
    title:
      'a plain reply while both accounts wait is asked about; two presses on two processes route it once',
    bobPaperOnly: false,
    opening: 'both-wait',
    commands: [
      new Code(alice(0, 'right', 'plain'), false, 0),
      new Press(
        [
          { process: 1, account: 0 },
          { process: 0, account: 1 },
        ],
        0,
      ),
    ],
    expected: { questions: 1, routed: 1, sentByPress: 1, submits: [1, 0] },
  },
  {
    title: 'a plain reply while one account waits goes to it without a question',
    bobPaperOnly: false,
    opening: 'paper-waits',
    commands: [new Code(alice(1, 'right', 'plain'), false, 1)],
    expected: { questions: 0, submits: [0, 1] },
  },
  {
    title:
      'hub: a DM delivered again while the store is down, after the hub asked about it, is answered once',
    bobPaperOnly: false,
    opening: 'both-wait',
    commands: [
      new Code(alice(0, 'right', 'plain'), false, 0),
      new Fault('store-down', 0),
      new Redeliver(false, 0, 0),
    ],
  },
  {
    title:
      'hub: a reply to a prompt of an ended login reaches no other account’s broker through a process that did not show it',
    bobPaperOnly: false,
    opening: 'both-wait',
    commands: [
      new Code(alice(0, 'right', 'modal'), false, 0),
      new Fault('kill', 0),
      new Code(alice(0, 'right', 'reply'), false, 0),
    ],
  },
  {
    title: 'relay: a login whose token came while the store was down has its ending reported once',
    bobPaperOnly: false,
    opening: 'both-wait',
    commands: [
      new BrokerPlan(0, 'hold-step-2'),
      new Code(alice(0, 'right', 'modal'), false, 0),
      new Fault('store-down', 0),
      new Fault('release-held', 0),
    ],
  },
];
