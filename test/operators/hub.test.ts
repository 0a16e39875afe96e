import { describe, expect, it } from 'vitest';
import {
  OperatorHub,
  type AccountLogin,
  type HubAccount,
  type WaitingLogin,
} from '../../src/operators/hub.js';
import type { PromptRefs } from '../../src/relay/ports/coordination.js';
import type { OperatorInput, OperatorNotice, PromptView } from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';
import { RecordingOperators } from '../fakes/recording-operators.js';
import { captureLog } from '../store/log-capture.js';

const ALICE = '100000000000000001';
const BOB = '100000000000000002';
const ANY_DIGITS = { minDigits: 4, maxDigits: 8 };

/** A channel whose prompt refs look like Discord's: one message per operator, its ID from the login. */
class Channel extends RecordingOperators {
  public override async showPrompt(view: PromptView, refs?: PromptRefs): Promise<PromptRefs> {
    await super.showPrompt(view, refs);
    const to = view.operatorIds ?? [ALICE, BOB];
    return Object.fromEntries(
      to.map((id) => [id, { channelId: `dm-${id}`, messageId: `msg-${view.loginId}-${id}` }]),
    );
  }
}

/** One account's login as the hub sees it: what it was handed, and what its store says waits. */
class Login implements AccountLogin {
  public readonly inputs: OperatorInput[] = [];
  public waiting: WaitingLogin | undefined;
  public starting?: () => boolean;
  public looks = 0;
  public handleInput(input: OperatorInput): void {
    this.inputs.push(input);
    if (input.kind === 'command')
      void input.respond({ kind: 'status', status: statusOf(input.account ?? '?') });
  }
  public async waitingLogin(): Promise<WaitingLogin | undefined> {
    this.looks += 1;
    return this.waiting;
  }
  public codes(): string[] {
    return this.inputs.flatMap((input) => (input.kind === 'code' ? [input.code.reveal()] : []));
  }
}

function statusOf(account: string) {
  return {
    account,
    token: undefined,
    login: { state: 'none' },
    nextLogin: undefined,
    lastFailure: undefined,
    halted: undefined,
    loginsLastHour: 0,
    maxLoginsPerHour: 4,
    recentLogins: [],
  };
}

/** Input claims shared by every hub of a test, as the one Redis key is by every relay. */
function sharedClaims(): (inputId: string) => Promise<boolean> {
  const taken = new Set<string>();
  return async (inputId) => (taken.has(inputId) ? false : (taken.add(inputId), true));
}

interface Setup {
  readonly accounts?: readonly HubAccount[];
  readonly claims?: (inputId: string) => Promise<boolean>;
  readonly now?: () => number;
}

async function hubWith(setup: Setup = {}) {
  const accounts = setup.accounts ?? [
    { name: 'live', operatorIds: [ALICE, BOB], codeDigits: ANY_DIGITS },
    { name: 'paper', operatorIds: [ALICE, BOB], codeDigits: ANY_DIGITS },
  ];
  const channel = new Channel();
  const log = captureLog();
  const hub = new OperatorHub({
    channel,
    accounts,
    claimInput: setup.claims ?? sharedClaims(),
    logger: log.logger,
    holdCodesMs: 60_000,
    claimTtlMs: 600_000,
    ...(setup.now === undefined ? {} : { now: setup.now }),
  });
  const logins = new Map(accounts.map((account) => [account.name, new Login()]));
  await hub.start(logins);
  return { hub, channel, logins, log, live: logins.get('live')!, paper: logins.get('paper')! };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

function code(value: string, extra: Partial<Extract<OperatorInput, { kind: 'code' }>> = {}) {
  return { kind: 'code' as const, operatorId: ALICE, code: new Secret(value), ...extra };
}

function prompt(account: string, loginId: string): PromptView {
  return {
    loginId,
    account,
    reason: 'startup',
    deadline: new Date(Date.now() + 60_000),
    state: { kind: 'open', attemptsLeft: 3 },
  };
}

describe('OperatorHub: one account', () => {
  it('hands every code to the only account without looking at the store', async () => {
    const { channel, logins } = await hubWith({
      accounts: [{ name: 'default', operatorIds: [ALICE], codeDigits: ANY_DIGITS }],
    });
    channel.input(code('123456'));
    await settle();
    const only = logins.get('default')!;
    expect(only.codes()).toEqual(['123456']);
    expect(only.looks).toBe(0);
  });

  it('passes a command on with its answer untouched: one account names none', async () => {
    const { channel, logins } = await hubWith({
      accounts: [{ name: 'default', operatorIds: [ALICE], codeDigits: ANY_DIGITS }],
    });
    const answers: OperatorNotice[] = [];
    channel.input({
      kind: 'command',
      operatorId: ALICE,
      command: 'login',
      respond: async (n) => void answers.push(n),
    });
    await settle();
    const handed = logins.get('default')!.inputs[0];
    expect(handed?.kind).toBe('command');
    if (handed?.kind !== 'command') return;
    await handed.respond({ kind: 'login-request', result: 'halt-confirm', haltAt: 5 });
    expect(answers.at(-1)).toEqual({ kind: 'login-request', result: 'halt-confirm', haltAt: 5 });
  });
});

describe('OperatorHub: several accounts, a plain reply', () => {
  it('goes to the only account that waits', async () => {
    const { channel, live, paper } = await hubWith();
    paper.waiting = { loginId: 'p1', prompts: {} };
    channel.input(code('123456'));
    await settle();
    expect(paper.codes()).toEqual(['123456']);
    expect(live.inputs).toEqual([]);
  });

  it('goes to the prompt it replies to, known from this relay’s own prompt, without a look at the store', async () => {
    const { hub, channel, live, paper } = await hubWith();
    await hub.channelFor('live').showPrompt(prompt('live', 'l1'));
    live.waiting = { loginId: 'l1', prompts: {} };
    paper.waiting = { loginId: 'p1', prompts: {} };
    channel.input(code('123456', { replyTo: `msg-l1-${ALICE}` }));
    await settle();
    expect(live.codes()).toEqual(['123456']);
    expect(paper.inputs).toEqual([]);
    expect(live.looks + paper.looks).toBe(0);
  });

  it('goes to the prompt it replies to when another replica sent it (the store’s refs say so)', async () => {
    const { channel, live, paper } = await hubWith();
    live.waiting = { loginId: 'l1', prompts: {} };
    paper.waiting = { loginId: 'p1', prompts: { [ALICE]: { channelId: 'dm', messageId: 'elsewhere-7' } } };
    channel.input(code('123456', { replyTo: 'elsewhere-7' }));
    await settle();
    expect(paper.codes()).toEqual(['123456']);
    expect(live.inputs).toEqual([]);
  });

  it('goes where a modal or `otp-relay code --account` names, waiting or not', async () => {
    const { channel, live, paper } = await hubWith();
    live.waiting = { loginId: 'l1', prompts: {} };
    paper.waiting = { loginId: 'p1', prompts: {} };
    channel.input(code('123456', { account: 'paper', loginId: 'p1' }));
    channel.input(code('654321', { loginId: 'l1' }));
    await settle();
    expect(paper.codes()).toEqual(['123456']);
    expect(live.codes()).toEqual(['654321']);
  });

  it('drops a repeat delivery of a code message, though it would now go to another account', async () => {
    const { channel, live, paper } = await hubWith();
    paper.waiting = { loginId: 'p1', prompts: {} };
    const dm = channel.input(code('123456', { inputId: 'dm-11' }));
    await settle();
    paper.waiting = undefined;
    live.waiting = { loginId: 'l1', prompts: {} };
    channel.input(dm);
    await settle();
    expect(paper.codes()).toEqual(['123456']);
    expect(live.inputs).toEqual([]);
  });

  it('goes to the waiting account whose CODE_DIGITS it fits', async () => {
    const { channel, live, paper } = await hubWith({
      accounts: [
        { name: 'live', operatorIds: [ALICE], codeDigits: { minDigits: 6, maxDigits: 6 } },
        { name: 'paper', operatorIds: [ALICE], codeDigits: { minDigits: 4, maxDigits: 4 } },
      ],
    });
    live.waiting = { loginId: 'l1', prompts: {} };
    paper.waiting = { loginId: 'p1', prompts: {} };
    channel.input(code('1234'));
    await settle();
    expect(paper.codes()).toEqual(['1234']);
    expect(live.inputs).toEqual([]);
  });

  it('is help, not a code, for an account whose CODE_DIGITS it does not fit', async () => {
    const { channel, logins } = await hubWith({
      accounts: [{ name: 'live', operatorIds: [ALICE], codeDigits: { minDigits: 6, maxDigits: 6 } }],
    });
    channel.input(code('1234'));
    await settle();
    expect(logins.get('live')!.inputs.map((i) => i.kind)).toEqual(['unclear']);
  });

  it('reaches only the accounts of its operator', async () => {
    const { channel, live, paper } = await hubWith({
      accounts: [
        { name: 'live', operatorIds: [ALICE], codeDigits: ANY_DIGITS },
        { name: 'paper', operatorIds: [BOB], codeDigits: ANY_DIGITS },
      ],
    });
    live.waiting = { loginId: 'l1', prompts: {} };
    paper.waiting = { loginId: 'p1', prompts: {} };
    channel.input({ ...code('123456'), operatorId: BOB });
    await settle();
    expect(paper.codes()).toEqual(['123456']);
    expect(live.inputs).toEqual([]);
  });
});

describe('OperatorHub: several accounts wait', () => {
  it('asks which, once across relays, and sends the code only to the one pressed, once', async () => {
    const claims = sharedClaims();
    const one = await hubWith({ claims });
    const two = await hubWith({ claims });
    for (const run of [one, two]) {
      run.live.waiting = { loginId: 'l1', prompts: {} };
      run.paper.waiting = { loginId: 'p1', prompts: {} };
    }
    // Every relay receives the same DM.
    const dm = one.channel.input(code('123456', { inputId: 'dm-1' }));
    two.channel.input(dm);
    await settle();
    const questions = [...one.channel.notices, ...two.channel.notices].filter(
      (n) => n.notice.kind === 'choose-account',
    );
    expect(questions).toHaveLength(1);
    expect(questions[0]!.notice).toMatchObject({
      question: { kind: 'code', inputId: 'dm-1' },
      accounts: ['live', 'paper'],
    });
    expect([one, two].every((run) => run.live.inputs.length + run.paper.inputs.length === 0)).toBe(true);

    // The press reaches the relay that did not ask: it holds the code too.
    const asked = one.channel.notices.length > 0 ? two : one;
    const answers: OperatorNotice[] = [];
    asked.channel.input({
      kind: 'account-chosen',
      operatorId: ALICE,
      account: 'paper',
      codeInputId: 'dm-1',
      inputId: 'press-1',
      respond: async (n) => void answers.push(n),
    });
    await settle();
    expect(answers).toEqual([{ kind: 'code-routed', account: 'paper' }]);
    expect(asked.paper.codes()).toEqual(['123456']);
    expect(asked.paper.inputs[0]).toMatchObject({ inputId: 'press-1', account: 'paper' });
    expect(asked.live.inputs).toEqual([]);

    // A second press, on the other relay, on the other account: nothing more is sent.
    const other = asked === one ? two : one;
    other.channel.input({
      kind: 'account-chosen',
      operatorId: ALICE,
      account: 'live',
      codeInputId: 'dm-1',
      inputId: 'press-2',
      respond: async (n) => void answers.push(n),
    });
    await settle();
    expect(answers.at(-1)).toEqual({ kind: 'choice-over', why: 'answered' });
    expect([...other.live.codes(), ...other.paper.codes(), ...asked.live.codes()]).toEqual([]);
  });

  it('never sends a code to a second account when it was also sent by a reply to a prompt', async () => {
    const run = await hubWith();
    await run.hub.channelFor('live').showPrompt(prompt('live', 'l1'));
    run.live.waiting = { loginId: 'l1', prompts: {} };
    run.paper.waiting = { loginId: 'p1', prompts: {} };
    run.channel.input(code('123456', { inputId: 'dm-4' }));
    await settle();
    // The operator answers by replying to live's prompt instead, then presses paper on the question.
    run.channel.input(code('123456', { inputId: 'dm-5', replyTo: `msg-l1-${ALICE}` }));
    await settle();
    const answers: OperatorNotice[] = [];
    run.channel.input({
      kind: 'account-chosen',
      operatorId: ALICE,
      account: 'paper',
      codeInputId: 'dm-4',
      inputId: 'press-5',
      respond: async (n) => void answers.push(n),
    });
    await settle();
    expect(run.live.codes()).toEqual(['123456']);
    expect(run.paper.inputs).toEqual([]);
    expect(answers).toEqual([{ kind: 'choice-over', why: 'code-gone' }]);
  });

  it('answers a repeat delivery of a message it asked about never again, even while the store is down', async () => {
    let storeDown = false;
    const claims = sharedClaims();
    const run = await hubWith({
      claims: async (id) => {
        if (storeDown) throw new Error('store down');
        return claims(id);
      },
    });
    run.live.waiting = { loginId: 'l1', prompts: {} };
    run.paper.waiting = { loginId: 'p1', prompts: {} };
    const dm = run.channel.input(code('123456', { inputId: 'dm-6' }));
    await settle();
    storeDown = true;
    run.channel.input(dm);
    await settle();
    expect(run.channel.notices.map((n) => n.notice.kind)).toEqual(['choose-account']);
  });

  it('asks about a reply to a message it cannot place, even with one account waiting', async () => {
    const run = await hubWith();
    run.paper.waiting = { loginId: 'p1', prompts: {} };
    run.channel.input(code('123456', { inputId: 'dm-7', replyTo: 'an-ended-prompt' }));
    await settle();
    expect(run.paper.inputs).toEqual([]);
    expect(run.channel.notices.map((n) => n.notice)).toEqual([
      { kind: 'choose-account', question: { kind: 'code', inputId: 'dm-7' }, accounts: ['paper'] },
    ]);
  });

  it('answers a second press on the same relay "already answered", not "gone"', async () => {
    const run = await hubWith();
    run.live.waiting = { loginId: 'l1', prompts: {} };
    run.paper.waiting = { loginId: 'p1', prompts: {} };
    run.channel.input(code('123456', { inputId: 'dm-8' }));
    await settle();
    const answers: OperatorNotice[] = [];
    for (const inputId of ['press-8', 'press-9']) {
      run.channel.input({
        kind: 'account-chosen',
        operatorId: ALICE,
        account: 'paper',
        codeInputId: 'dm-8',
        inputId,
        respond: async (n) => void answers.push(n),
      });
    }
    await settle();
    // The second press's answer may come first: the first waits on the store's claim.
    expect(answers).toHaveLength(2);
    expect(answers).toContainEqual({ kind: 'code-routed', account: 'paper' });
    expect(answers).toContainEqual({ kind: 'choice-over', why: 'answered' });
    expect(run.paper.codes()).toEqual(['123456']);
  });

  it('asks about a plain reply while another account’s login is starting here', async () => {
    const run = await hubWith();
    run.live.waiting = { loginId: 'l1', prompts: {} };
    run.paper.starting = () => true;
    run.channel.input(code('123456', { inputId: 'dm-9' }));
    await settle();
    expect(run.live.inputs).toEqual([]);
    expect(run.channel.notices.map((n) => n.notice.kind)).toEqual(['choose-account']);
  });

  it('waits for a prompt under way before it routes a reply to it', async () => {
    const run = await hubWith();
    run.live.waiting = { loginId: 'l1', prompts: {} };
    run.paper.waiting = { loginId: 'p1', prompts: {} };
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const original = run.channel.showPrompt.bind(run.channel);
    run.channel.showPrompt = async (view, refs) => {
      await slow;
      return original(view, refs);
    };
    const shown = run.hub.channelFor('live').showPrompt(prompt('live', 'l2'));
    run.channel.input(code('123456', { inputId: 'dm-10', replyTo: `msg-l2-${ALICE}` }));
    await settle();
    expect(run.live.inputs).toEqual([]);
    release();
    await shown;
    await settle();
    expect(run.live.codes()).toEqual(['123456']);
    expect(run.channel.notices).toEqual([]);
  });

  it('says the code is gone when the press comes after the codes are held no longer', async () => {
    let now = 1_000_000;
    const run = await hubWith({ now: () => now });
    run.live.waiting = { loginId: 'l1', prompts: {} };
    run.paper.waiting = { loginId: 'p1', prompts: {} };
    run.channel.input(code('123456', { inputId: 'dm-2' }));
    await settle();
    now += 60_001;
    const answers: OperatorNotice[] = [];
    run.channel.input({
      kind: 'account-chosen',
      operatorId: ALICE,
      account: 'live',
      codeInputId: 'dm-2',
      inputId: 'press-3',
      respond: async (n) => void answers.push(n),
    });
    await settle();
    expect(answers).toEqual([{ kind: 'choice-over', why: 'code-gone' }]);
    expect(run.live.inputs).toEqual([]);
  });

  it('never routes a code held for one operator on another’s press', async () => {
    const run = await hubWith();
    run.live.waiting = { loginId: 'l1', prompts: {} };
    run.paper.waiting = { loginId: 'p1', prompts: {} };
    run.channel.input(code('123456', { inputId: 'dm-3' }));
    await settle();
    const answers: OperatorNotice[] = [];
    run.channel.input({
      kind: 'account-chosen',
      operatorId: BOB,
      account: 'live',
      codeInputId: 'dm-3',
      inputId: 'press-4',
      respond: async (n) => void answers.push(n),
    });
    await settle();
    expect(answers).toEqual([{ kind: 'choice-over', why: 'code-gone' }]);
    expect(run.live.inputs).toEqual([]);
  });
});

describe('OperatorHub: commands with several accounts', () => {
  it('/status without account: one view per account of the operator, in one answer', async () => {
    const { channel } = await hubWith();
    const answers: OperatorNotice[] = [];
    channel.input({
      kind: 'command',
      operatorId: ALICE,
      command: 'status',
      respond: async (n) => void answers.push(n),
    });
    await settle();
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ kind: 'statuses' });
    if (answers[0]?.kind !== 'statuses') return;
    expect(answers[0].statuses.map((s) => s.account)).toEqual(['live', 'paper']);
  });

  it('names the account on the answer of a command that named it (its "Try anyway" then does)', async () => {
    const { channel, paper } = await hubWith();
    const answers: OperatorNotice[] = [];
    channel.input({
      kind: 'command',
      operatorId: ALICE,
      command: 'login',
      account: 'paper',
      respond: async (n) => void answers.push(n),
    });
    await settle();
    const handed = paper.inputs[0];
    if (handed?.kind !== 'command') throw new Error('no command handed to paper');
    await handed.respond({ kind: 'login-request', result: 'halt-confirm', haltAt: 5 });
    expect(answers.at(-1)).toEqual({
      kind: 'login-request',
      result: 'halt-confirm',
      haltAt: 5,
      account: 'paper',
    });
  });

  it('/login and /cancel without account ask which; with one, go there; an unknown one is refused', async () => {
    const { channel, live, paper } = await hubWith();
    const answers: OperatorNotice[] = [];
    const respond = async (n: OperatorNotice) => void answers.push(n);
    channel.input({ kind: 'command', operatorId: ALICE, command: 'cancel', respond });
    channel.input({ kind: 'command', operatorId: ALICE, command: 'login', account: 'paper', respond });
    channel.input({ kind: 'command', operatorId: ALICE, command: 'login', account: 'nope', respond });
    await settle();
    expect(answers[0]).toEqual({
      kind: 'choose-account',
      question: { kind: 'command', command: 'cancel' },
      accounts: ['live', 'paper'],
    });
    expect(paper.inputs.map((i) => i.kind)).toEqual(['command']);
    expect(live.inputs).toEqual([]);
    expect(answers).toContainEqual({ kind: 'unknown-account', account: 'nope', accounts: ['live', 'paper'] });
  });
});

describe('AccountChannel', () => {
  it('shows an account’s prompt and broadcasts only to its operators when they are not everyone', async () => {
    const { hub, channel } = await hubWith({
      accounts: [
        { name: 'live', operatorIds: [ALICE, BOB], codeDigits: ANY_DIGITS },
        { name: 'paper', operatorIds: [BOB], codeDigits: ANY_DIGITS },
      ],
    });
    await hub.channelFor('paper').showPrompt(prompt('paper', 'p1'));
    await hub.channelFor('live').showPrompt(prompt('live', 'l1'));
    expect(channel.prompts[0]?.operatorIds).toEqual([BOB]);
    expect(channel.prompts[1]?.operatorIds).toBeUndefined();
    await hub.channelFor('paper').broadcast({ kind: 'no-pending-login' });
    expect(channel.notices.map((n) => n.operatorId)).toEqual([BOB]);
    expect(channel.broadcasts).toEqual([]);
  });
});
