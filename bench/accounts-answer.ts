/**
 * Benchmark 7's answer-to-token figures (bench/accounts.ts), both with `node dist/main.js` as
 * bench 1 runs it (MAX_LOGINS_PER_HOUR=60, discord.js' 50 REST calls a second), every account's
 * published token valid at the start (no start-up login), from `sendDm` to `token.updated` at a
 * Redis subscriber:
 *
 * - one of many: a relay of 20 accounts and a relay of one, side by side (a Discord emulator, brokers
 *   and a prefix each), logging in one account at a time, the other 19 idle; each answered by a
 *   Discord reply to the account's prompt (the hub routes it by the prompt, no store read) and by a
 *   plain DM (the hub reads the 20 accounts' pending logins once, finds one waiting);
 * - all at once: every account of the 20-account relay waits for a code, and the operator answers
 *   each prompt with a reply, back to back.
 */
import { RELAY_MAIN, RELAY_NODE_ARGS, sleep, spawnNode, type Child } from './lib/child.js';
import {
  AccountsDriver,
  startAccountsWorld,
  type AccountsWorld,
  type AnswerKind,
  type AnswerTiming,
  type GatewayCount,
} from './lib/accounts-world.js';
import { summarize, type Summary } from './lib/stats.js';

export interface AnswerOptions {
  /** Accounts of the several-account relay (20). */
  accounts: number;
  answerSessions: number;
  answerWarmupRounds: number;
  answerRounds: number;
  allAtOnceRounds: number;
}

/** One series: answer to token, and from the answer to step 2 at the broker (ms). */
export interface AnswerSeries {
  readonly token: Summary;
  readonly stepTwo: Summary;
}

export interface OneOfManyResult {
  /** The account of the many-account relay that logs in (the last listed). */
  readonly account: string;
  readonly oneReply: AnswerSeries;
  readonly onePlain: AnswerSeries;
  readonly manyReply: AnswerSeries;
  readonly manyPlain: AnswerSeries;
  /** The many-account relay's gateway, over each whole session. */
  readonly gateway: readonly GatewayCount[];
  /** "Which account?" questions the many-account relay asked (none should be: one account waits). */
  readonly questions: number;
}

export interface AllAtOnceResult {
  readonly accounts: number;
  /** Every answer of the timed rounds. */
  readonly token: Summary;
  readonly stepTwo: Summary;
  /** Per round: from the first answer sent to the last token published. */
  readonly lastToken: Summary;
  /** Per round: from the bots' requests to every prompt out (every account's login started). */
  readonly promptsOut: Summary;
  /** Per round (warm-up included): how many of the accounts' tokens were published. */
  readonly published: readonly number[];
  readonly rounds: number;
  readonly gateway: GatewayCount;
}

/** Least time between two login starts of one relay: discord.js' 50 REST calls a second (bench 1). */
const MIN_LOGIN_INTERVAL_MS = 250;
/** Quiet time between a login's prompts and its answer (bench 1's). */
export const SETTLE_MS = 20;

interface RelayUnderTest {
  readonly world: AccountsWorld;
  readonly child: Child;
  readonly driver: AccountsDriver;
}

async function startUnderTest(name: string, accounts: number): Promise<RelayUnderTest> {
  const world = await startAccountsWorld(name, accounts);
  try {
    const generations = await world.publishValidTokens();
    const child = spawnNode(RELAY_MAIN, { env: world.env(), nodeArgs: RELAY_NODE_ARGS });
    try {
      await child.waitForLine((line) => line.msg === 'relay started', 30_000);
      return { world, child, driver: await AccountsDriver.open(world, generations) };
    } catch (error) {
      await child.stop();
      throw error;
    }
  } catch (error) {
    await world.close();
    throw error;
  }
}

async function stopUnderTest(relay: RelayUnderTest | undefined): Promise<void> {
  if (relay === undefined) return;
  await relay.child.stop().catch(() => undefined);
  await relay.driver.close().catch(() => undefined);
  await relay.world.close();
}

function checkErrors(relay: RelayUnderTest): void {
  if (relay.child.errors.length > 0) {
    throw new Error(`the relay logged errors:\n${relay.child.errors.slice(0, 5).join('\n')}`);
  }
}

function gatewayOf(world: AccountsWorld): GatewayCount {
  const { connections, identifies } = world.discord.gateway;
  return { connections, identifies };
}

function series(timings: readonly AnswerTiming[]): AnswerSeries {
  return {
    token: summarize(timings.map((timing) => timing.tokenMs)),
    stepTwo: summarize(timings.map((timing) => timing.stepTwoMs)),
  };
}

export async function benchAnswerOneOfMany(options: AnswerOptions): Promise<OneOfManyResult> {
  if (2 * (options.answerWarmupRounds + options.answerRounds) > 60) {
    throw new RangeError(
      'a relay session may start at most 60 logins of an account (MAX_LOGINS_PER_HOUR=60)',
    );
  }
  type Series = 'oneReply' | 'manyReply' | 'onePlain' | 'manyPlain';
  const samples: Record<Series, AnswerTiming[]> = {
    oneReply: [],
    manyReply: [],
    onePlain: [],
    manyPlain: [],
  };
  const gateway: GatewayCount[] = [];
  let questions = 0;
  let account = '';
  for (let session = 0; session < options.answerSessions; session += 1) {
    let one: RelayUnderTest | undefined;
    let many: RelayUnderTest | undefined;
    try {
      one = await startUnderTest('accounts-answer-one', 1);
      many = await startUnderTest('accounts-answer-many', options.accounts);
      const relays = { one, many };
      account = many.world.accounts.at(-1)!.name;
      const timed = { one: one.world.accounts[0]!.name, many: account };
      const lastLoginAt = { one: 0, many: 0 };
      const login = async (which: Series): Promise<AnswerTiming> => {
        const side = which.startsWith('one') ? 'one' : 'many';
        const kind: AnswerKind = which.endsWith('Reply') ? 'reply' : 'plain';
        await sleep(Math.max(0, lastLoginAt[side] + MIN_LOGIN_INTERVAL_MS - performance.now()));
        lastLoginAt[side] = performance.now();
        return relays[side].driver.login(timed[side], kind, SETTLE_MS);
      };
      const order: Series[] = ['oneReply', 'manyReply', 'onePlain', 'manyPlain'];
      for (let round = 0; round < options.answerWarmupRounds; round += 1) {
        for (const which of order) await login(which);
      }
      for (let round = 0; round < options.answerRounds; round += 1) {
        // Each series takes each place in turn, so that none always follows the same work.
        const turn = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
        for (const which of turn) samples[which].push(await login(which));
      }
      checkErrors(one);
      checkErrors(many);
      gateway.push(gatewayOf(many.world));
      const [alice] = many.world.operators;
      questions += many.world.discord
        .dmsTo(alice)
        .filter((message) => message.content.includes('Several accounts wait')).length;
    } finally {
      await stopUnderTest(many);
      await stopUnderTest(one);
    }
  }
  return {
    account,
    oneReply: series(samples.oneReply),
    onePlain: series(samples.onePlain),
    manyReply: series(samples.manyReply),
    manyPlain: series(samples.manyPlain),
    gateway,
    questions,
  };
}

export async function benchAnswerAllAtOnce(options: AnswerOptions): Promise<AllAtOnceResult> {
  let relay: RelayUnderTest | undefined;
  try {
    relay = await startUnderTest('accounts-all-at-once', options.accounts);
    const names = relay.world.accounts.map((account) => account.name);
    const timings: AnswerTiming[] = [];
    const lastToken: number[] = [];
    const promptsOut: number[] = [];
    const published: number[] = [];
    const warmupRounds = 1;
    for (let round = 0; round < warmupRounds + options.allAtOnceRounds; round += 1) {
      const promptsMs = await relay.driver.trigger(names);
      await sleep(200);
      const answered = await relay.driver.answer(names, 'reply');
      const missing = await relay.driver.unpublished(names);
      published.push(names.length - missing.length);
      if (round >= warmupRounds) {
        timings.push(...answered);
        lastToken.push(Math.max(...answered.map((timing) => timing.tokenMs)));
        promptsOut.push(promptsMs);
      }
      await sleep(MIN_LOGIN_INTERVAL_MS);
    }
    checkErrors(relay);
    return {
      accounts: names.length,
      token: summarize(timings.map((timing) => timing.tokenMs)),
      stepTwo: summarize(timings.map((timing) => timing.stepTwoMs)),
      lastToken: summarize(lastToken),
      promptsOut: summarize(promptsOut),
      published,
      rounds: options.allAtOnceRounds,
      gateway: gatewayOf(relay.world),
    };
  } finally {
    await stopUnderTest(relay);
  }
}
