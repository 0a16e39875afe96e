import { InteractionResponseType } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatedMessage } from '../fakes/discord/index.js';
import { connectRedis } from '../helpers/redis.js';
import { findLeaks } from '../helpers/secret-scan.js';
import {
  eventually,
  printedLines,
  startAccountsWorld,
  type AccountsWorld,
  type RelayProcess,
  PROMPT_LINE,
} from './harness.js';

/**
 * Issue 19 with the relay as a process (dist/main.js): `RELAY_ACCOUNTS=live,paper`, a fake broker per
 * account with credentials of its own, one Discord bot, real Redis under a prefix of its own. Each
 * code must reach its own account's broker only, counted at the brokers (step-1 and step-2 calls,
 * the codes received), and each token is read from Redis as a bot would (`P:token:<account>`).
 * Outcomes only, never timings.
 */

const ACCOUNTS = ['live', 'paper'] as const;
type Account = (typeof ACCOUNTS)[number];

const QUESTION = 'Several accounts wait for a code';
const ROUTED_PREFIX = 'The code goes to the login of account';
const ROUTED = (account: Account): string => `${ROUTED_PREFIX} \`${account}\``;
const ALREADY_ANSWERED = 'That question was already answered, so nothing more was done.';
const CODE_GONE = 'Nothing was sent: the relay no longer holds that code';

/** Every secret any world of this file used or minted, and every DM text, for the final scan. */
const secretsSeen = new Set<string>();
const dmTexts: string[] = [];
let world: AccountsWorld | undefined;

afterEach(async () => {
  if (world === undefined) return;
  for (const secret of world.secretsSoFar()) secretsSeen.add(secret);
  for (const userId of [...world.operators, world.stranger]) {
    // What the bot wrote: its text, buttons and embeds (`raw` would also hold the operator's own
    // message a question replies to, as Discord repeats it there).
    for (const message of world.discord.dmsTo(userId)) {
      dmTexts.push(
        JSON.stringify({ content: message.content, components: message.components, embeds: message.embeds }),
      );
    }
  }
  await world.close();
  world = undefined;
});

function broker(w: AccountsWorld, account: Account) {
  return w.accounts[account]!.etna;
}

/** The prompt of `account`'s login in the operator's DMs: its first line names the account. */
function promptOf(w: AccountsWorld, operatorId: string, account: Account): EmulatedMessage | undefined {
  return w.discord.dmsTo(operatorId).find((message) => {
    const first = message.content.split('\n')[0] ?? '';
    return PROMPT_LINE.test(first) && first.includes(`\`${account}\``);
  });
}

function prompts(w: AccountsWorld, operatorId: string): EmulatedMessage[] {
  return w.discord.dmsTo(operatorId).filter((m) => PROMPT_LINE.test(m.content.split('\n')[0] ?? ''));
}

/**
 * The "which account?" questions the bot asked the operator: still open, or answered (a press's
 * answer replaces the question's text and buttons).
 */
function questions(w: AccountsWorld, operatorId: string): EmulatedMessage[] {
  return w.discord
    .dmsTo(operatorId)
    .filter((m) =>
      [QUESTION, ROUTED_PREFIX, ALREADY_ANSWERED, CODE_GONE].some((text) => m.content.includes(text)),
    );
}

/** Waits until every operator has the prompt of every account in `accounts`. */
async function promptsOut(w: AccountsWorld, accounts: readonly Account[] = ACCOUNTS): Promise<void> {
  for (const operatorId of w.operators) {
    for (const account of accounts) {
      await w.discord.waitFor(() => promptOf(w, operatorId, account), {
        what: `the prompt of ${account} to ${operatorId}`,
        timeoutMs: 20_000,
      });
    }
  }
}

/** `P:token:<account>` as a bot reads it: a raw GET of the documented key. */
async function readToken(
  w: AccountsWorld,
  account: Account,
): Promise<{ token: string; account: string } | undefined> {
  const redis = await connectRedis();
  const raw = await redis.get(`${w.prefix}:token:${account}`);
  await redis.quit();
  return raw === null ? undefined : (JSON.parse(raw) as { value: { token: string; account: string } }).value;
}

async function tokenPublished(
  w: AccountsWorld,
  account: Account,
): Promise<{ token: string; account: string }> {
  return eventually(async () => readToken(w, account), `the token of ${account} in Redis`);
}

/**
 * Records the content of message `messageId` now and after each of its edits from now on (the
 * emulator checks a `waitFor` predicate after every REST call it answers, and an edit is one call,
 * so none is missed), until `stop`.
 */
function recordContents(w: AccountsWorld, operatorId: string, messageId: string) {
  const seen: string[] = [];
  let edits = -1;
  let stopped = false;
  const done = w.discord
    .waitFor(
      () => {
        const message = w.discord.dmsTo(operatorId).find((m) => m.id === messageId);
        if (message !== undefined && message.editCount !== edits) {
          edits = message.editCount;
          seen.push(message.content);
        }
        return stopped;
      },
      { timeoutMs: 120_000 },
    )
    .catch(() => undefined);
  return {
    seen,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** Waits until, for each account, one of `relays` has sent its prompt to every operator and recorded it. */
async function promptsRecorded(relays: readonly RelayProcess[]): Promise<void> {
  await Promise.all(
    ACCOUNTS.map((account) =>
      Promise.any(
        relays.map((relay) =>
          relay.waitForLog((line) => line.msg === 'prompt messages shared' && line.account === account),
        ),
      ),
    ),
  );
}

async function readyz(relay: RelayProcess) {
  const response = await fetch(`${await relay.httpUrl()}/readyz`);
  const body = (await response.json()) as {
    ready: boolean;
    accounts: Record<string, { ready: boolean; halted: unknown; token: unknown }>;
  };
  return { status: response.status, body };
}

describe('two accounts in one relay process', () => {
  it('both wait at once: a reply to each prompt reaches only its own broker; both tokens are published', async () => {
    const w = (world = await startAccountsWorld(ACCOUNTS));
    const relay = w.spawnRelay();
    const [alice, bob] = w.operators;
    await promptsOut(w);
    // Each prompt reached every operator and is recorded (a reply sooner: see the test after next).
    await promptsRecorded([relay]);
    const live = broker(w, 'live');
    const paper = broker(w, 'paper');
    expect(live.counts.step1Calls).toBe(1);
    expect(paper.counts.step1Calls).toBe(1);
    const liveCode = live.lastCode!;
    const paperCode = paper.lastCode!;

    // Alice answers live's prompt, Bob paper's, at once: each a Discord reply to its prompt.
    w.discord.sendDm(alice, liveCode, { replyTo: promptOf(w, alice, 'live')!.id });
    w.discord.sendDm(bob, paperCode, { replyTo: promptOf(w, bob, 'paper')!.id });

    await eventually(
      async () => live.counts.step2Calls + paper.counts.step2Calls >= 2,
      'two codes at the brokers',
    );
    expect(live.codesSubmitted).toEqual([liveCode]);
    expect(paper.codesSubmitted).toEqual([paperCode]);
    const liveToken = await tokenPublished(w, 'live');
    const paperToken = await tokenPublished(w, 'paper');
    expect(liveToken).toMatchObject({ token: live.lastToken, account: 'live' });
    expect(paperToken).toMatchObject({ token: paper.lastToken, account: 'paper' });
    expect(live.counts.step1Calls).toBe(1);
    expect(paper.counts.step1Calls).toBe(1);
    // A reply names its account: nobody was asked which.
    for (const operatorId of w.operators) expect(questions(w, operatorId)).toEqual([]);
    await w.discord.waitFor(() =>
      w.discord.dmsTo(alice).some((m) => m.content.includes('account `live` has a new token')),
    );
    await w.discord.waitFor(() =>
      w.discord.dmsTo(bob).some((m) => m.content.includes('account `paper` has a new token')),
    );
  });

  let doublePress: { seen: readonly string[] } | undefined;

  it('a plain reply while both wait goes nowhere until a button is pressed, then to that broker only, once', async () => {
    const w = (world = await startAccountsWorld(ACCOUNTS));
    w.spawnRelay();
    const [alice] = w.operators;
    await promptsOut(w);
    const live = broker(w, 'live');
    const paper = broker(w, 'paper');
    const paperCode = paper.lastCode!;

    const dm = w.discord.sendDm(alice, paperCode);
    const question = await w.discord.waitFor(() => questions(w, alice)[0], { what: 'the question' });
    expect(question.replyTo).toBe(dm);
    expect(question.content).not.toContain(paperCode);
    expect(question.buttons.map((b) => b.customId)).toEqual([
      `otp:route:live:${dm}`,
      `otp:route:paper:${dm}`,
    ]);
    // Asked, and held: nothing reached either broker.
    expect(live.counts.step2Calls + paper.counts.step2Calls).toBe(0);

    // A double press of paper: both presses are dispatched before either answer removes the buttons.
    const recorder = recordContents(w, alice, question.id);
    const presses = await Promise.all([
      w.discord.clickButton(alice, question.id, `otp:route:paper:${dm}`),
      w.discord.clickButton(alice, question.id, `otp:route:paper:${dm}`),
    ]);
    for (const press of presses) expect(press.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    await eventually(
      async () => live.counts.step2Calls + paper.counts.step2Calls >= 1,
      'the code at a broker',
    );
    expect(paper.codesSubmitted).toEqual([paperCode]);
    expect(live.counts.step2Calls).toBe(0);

    expect(await tokenPublished(w, 'paper')).toMatchObject({ token: paper.lastToken, account: 'paper' });
    // Both presses are answered (two edits of the question), and the code was sent once.
    await w.discord.waitFor(() => recorder.seen.length >= 3, { what: 'an answer to each press' });
    await w.discord.waitFor(() =>
      w.discord.dmsTo(alice).some((m) => m.content.includes('account `paper` has a new token')),
    );
    await recorder.stop();
    doublePress = { seen: [...recorder.seen] };

    expect(paper.codesSubmitted).toEqual([paperCode]);
    expect(live.counts.step2Calls).toBe(0);
    expect(await readToken(w, 'live')).toBeUndefined();
    expect(questions(w, alice)).toHaveLength(1);
    const answers = recorder.seen.slice(1);
    expect(answers).toHaveLength(2);
    expect(answers.filter((text) => text.startsWith(ROUTED('paper')))).toHaveLength(1);
    // The other press is told that nothing more was done (which words: see the next test).
    expect(answers.filter((text) => text === ALREADY_ANSWERED || text.startsWith(CODE_GONE))).toHaveLength(1);
    // The question is answered on screen, once per press: no button is left to press.
    expect(w.discord.dmsTo(alice).find((m) => m.id === question.id)).toMatchObject({
      buttons: [],
      editCount: 2,
    });
  });

  // The press that came second, on the relay that routed the code, is told it was answered.
  it('…and the second press is answered "already answered"', () => {
    expect(doublePress).toBeDefined();
    const answers = doublePress!.seen.slice(1);
    expect(answers.filter((text) => text === ALREADY_ANSWERED)).toHaveLength(1);
  });

  let earlyReply: { readonly raced: boolean; readonly asked: number } | undefined;

  it('a reply to a prompt that comes while that prompt still goes out to another operator reaches its broker only', async () => {
    const w = (world = await startAccountsWorld(ACCOUNTS));
    const [alice, bob] = w.operators;
    // Discord fails Alice's DMs a few times (500s, tried again): her prompts go out late.
    w.discord.failDmsTo(alice, { times: 6 });
    const relay = w.spawnRelay();
    const bobPaper = await w.discord.waitFor(
      () => promptOf(w, bob, 'live') !== undefined && promptOf(w, bob, 'paper'),
      { what: 'both prompts to bob' },
    );
    const live = broker(w, 'live');
    const paper = broker(w, 'paper');
    const paperCode = paper.lastCode!;
    // Bob replies at once, before paper's prompt reached Alice (so before the relay recorded it).
    const raced =
      promptOf(w, alice, 'paper') === undefined &&
      !relay.lines.some(
        (line) => line.includes('"msg":"prompt messages shared"') && line.includes('"paper"'),
      );
    const dm = w.discord.sendDm(bob, paperCode, { replyTo: bobPaper.id });

    const outcome = await w.discord.waitFor(
      () => (questions(w, bob).length > 0 ? 'asked' : paper.counts.step2Calls > 0 ? 'sent' : undefined),
      { what: 'the reply sent, or bob asked which account' },
    );
    earlyReply = { raced, asked: questions(w, bob).length };
    if (outcome === 'asked') {
      // Today's way out: the operator says which, and it goes there only.
      const question = questions(w, bob)[0]!;
      await w.discord.clickButton(bob, question.id, `otp:route:paper:${dm}`);
    }
    expect(await tokenPublished(w, 'paper')).toMatchObject({ token: paper.lastToken, account: 'paper' });
    expect(paper.codesSubmitted).toEqual([paperCode]);
    expect(live.counts.step2Calls).toBe(0);
    expect(await readToken(w, 'live')).toBeUndefined();
  });

  // A reply that comes while its prompt still goes out waits for it: it is known as that prompt's.
  it('…without asking which account', () => {
    expect(earlyReply?.raced).toBe(true);
    expect(earlyReply?.asked).toBe(0);
  });

  it('a halted account beside a healthy one: the other logs in and publishes; /readyz is 503 and names the halted one', async () => {
    const w = (world = await startAccountsWorld(ACCOUNTS));
    const live = broker(w, 'live');
    const paper = broker(w, 'paper');
    // live's broker refuses the relay's credentials: a fatal answer, so live halts.
    live.settings.password = `rotated-${live.settings.password}`;
    const relay = w.spawnRelay();
    const [alice] = w.operators;
    await promptsOut(w, ['paper']);
    await eventually(async () => live.counts.step1Calls >= 1, 'live at its broker');

    // Only paper waits: a plain reply goes there without a question.
    w.discord.sendDm(alice, paper.lastCode!);
    expect(await tokenPublished(w, 'paper')).toMatchObject({ token: paper.lastToken, account: 'paper' });

    const ready = await eventually(async () => {
      const r = await readyz(relay);
      return r.body.accounts.paper?.ready === true && r.body.accounts.live?.halted != null ? r : undefined;
    }, 'paper ready and live halted in /readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.ready).toBe(false);
    expect(Object.keys(ready.body.accounts)).toEqual(['live', 'paper']);
    expect(ready.body.accounts.live).toMatchObject({ ready: false, token: null });
    expect(ready.body.accounts.paper).toMatchObject({ ready: true });

    expect(live.counts.step1Calls).toBe(1);
    expect(live.counts.step2Calls).toBe(0);
    expect(live.issuedInterims).toEqual([]);
    expect(await readToken(w, 'live')).toBeUndefined();
    expect(paper.codesSubmitted).toEqual([paper.lastCode]);
    expect(paper.counts.step1Calls).toBe(1);
    expect(questions(w, alice)).toEqual([]);
    // Each operator hears of live's halt in live's message (no code to enter there), and has paper's prompt.
    for (const operatorId of w.operators) {
      const halted = promptOf(w, operatorId, 'live');
      expect(halted?.content).toContain('the broker refused the username or password');
      expect(halted?.buttons.map((b) => b.label)).not.toContain('Enter code');
      expect(prompts(w, operatorId)).toHaveLength(2);
    }
  });
});

describe('two replicas of a relay of two accounts', () => {
  it('one SMS per login, each code sent once, one question, and one press routes it once', async () => {
    const w = (world = await startAccountsWorld(ACCOUNTS));
    const relays = [w.spawnRelay(), w.spawnRelay()];
    const [alice, bob] = w.operators;
    await Promise.all(relays.map((relay) => relay.waitForLog((line) => line.msg === 'relay started')));
    await promptsOut(w);
    const live = broker(w, 'live');
    const paper = broker(w, 'paper');
    expect(live.counts.step1Calls).toBe(1);
    expect(paper.counts.step1Calls).toBe(1);
    const liveCode = live.lastCode!;
    const paperCode = paper.lastCode!;

    // A plain reply with both waiting: both replicas receive it; one asks.
    const dm = w.discord.sendDm(alice, liveCode);
    await Promise.all(
      relays.map((relay) => relay.waitForLog((line) => line.msg === 'code received' && line.via === 'dm')),
    );
    const question = await w.discord.waitFor(() => questions(w, alice)[0], { what: 'the question' });
    expect(live.counts.step2Calls + paper.counts.step2Calls).toBe(0);

    const press = await w.discord.clickButton(alice, question.id, `otp:route:live:${dm}`);
    expect(press.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    // Both received the press: one acknowledged it and routed the code, the other stood aside.
    await Promise.all(
      relays.map((relay) =>
        relay.waitForLog(
          (line) =>
            (line.msg === 'account chosen for a code' && line.account === 'live') ||
            (line.msg === 'another relay answered this interaction' &&
              line.interactionId === press.interactionId),
        ),
      ),
    );
    const routedBy = relays.filter((relay) =>
      relay.lines.some((line) => line.includes('"msg":"account chosen for a code"')),
    );
    expect(routedBy).toHaveLength(1);
    await eventually(
      async () => live.counts.step2Calls + paper.counts.step2Calls >= 1,
      'the code at a broker',
    );
    expect(live.codesSubmitted).toEqual([liveCode]);
    expect(paper.counts.step2Calls).toBe(0);

    expect(await tokenPublished(w, 'live')).toMatchObject({ token: live.lastToken, account: 'live' });
    await w.discord.waitFor(
      () =>
        w.discord
          .dmsTo(alice)
          .find((m) => m.id === question.id)
          ?.content.startsWith(ROUTED('live')),
      { what: 'the question answered' },
    );

    // Bob answers paper's prompt with a reply: it goes there, without a question.
    w.discord.sendDm(bob, paperCode, { replyTo: promptOf(w, bob, 'paper')!.id });
    expect(await tokenPublished(w, 'paper')).toMatchObject({ token: paper.lastToken, account: 'paper' });
    for (const [operatorId, account] of [
      [alice, 'live'],
      [bob, 'paper'],
    ] as const) {
      await w.discord.waitFor(() =>
        w.discord.dmsTo(operatorId).some((m) => m.content.includes(`account \`${account}\` has a new token`)),
      );
    }

    expect(live.codesSubmitted).toEqual([liveCode]);
    expect(paper.codesSubmitted).toEqual([paperCode]);
    expect(live.counts.step1Calls).toBe(1);
    expect(paper.counts.step1Calls).toBe(1);
    expect(questions(w, alice)).toHaveLength(1);
    expect(questions(w, bob)).toEqual([]);
    for (const operatorId of w.operators) expect(prompts(w, operatorId)).toHaveLength(2);
    for (const [operatorId, account] of [
      [alice, 'live'],
      [bob, 'paper'],
    ] as const) {
      expect(
        w.discord
          .dmsTo(operatorId)
          .filter((m) => m.content.includes(`account \`${account}\` has a new token`)),
      ).toHaveLength(1);
    }
  });
});

describe('secrets', () => {
  // Runs last in this file (tests run in order): scans what every relay process above printed and
  // every message the bot sent.
  it('never appear in anything a relay process printed, nor in any DM', () => {
    expect(printedLines.length).toBeGreaterThan(50);
    expect(dmTexts.length).toBeGreaterThan(10);
    expect(secretsSeen.size).toBeGreaterThan(20);
    // The scan finds a secret when one is there (so a pass below means something).
    const [planted] = secretsSeen;
    expect(findLeaks([`{"msg":"oops","value":"${planted}"}`], secretsSeen)).toEqual([planted]);
    expect(findLeaks(printedLines, secretsSeen)).toEqual([]);
    expect(findLeaks(dmTexts, secretsSeen)).toEqual([]);
  });
});
