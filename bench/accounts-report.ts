/** Benchmark 7's rows of the results table, and how each figure is made (bench/accounts.ts). */
import type { AccountsOptions, AccountsResult } from './accounts.js';
import { SETTLE_MS } from './accounts-answer.js';
import type { GatewayCount } from './lib/accounts-world.js';
import type { MemorySample } from './lib/memory-probe.js';
import type { Row } from './lib/row.js';
import { fmt, ms } from './lib/stats.js';

const mb = (bytes: number): string => `${fmt(bytes / 2 ** 20)} MB`;
const yes = (ok: boolean): string => (ok ? 'yes' : '**no**');
const signedMs = (value: number): string => `${value >= 0 ? '+' : '−'}${ms(Math.abs(value))}`;
const signedMb = (bytes: number): string => `${bytes >= 0 ? '+' : '−'}${mb(Math.abs(bytes))}`;
const young = (sample: MemorySample): string => mb(sample.spaces.new_space ?? Number.NaN);
const list = (values: readonly number[]): string => values.map((value) => fmt(value / 2 ** 20)).join(', ');

/** The gateway counts, grouped: `1 connection, 1 IDENTIFY (×12)`. */
function describeCounts(counts: readonly GatewayCount[]): string {
  const groups = new Map<string, number>();
  for (const { connections, identifies } of counts) {
    const key = `${connections} connection${connections === 1 ? '' : 's'}, ${identifies} IDENTIFY`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, times]) => `${key} (×${times})`).join('; ');
}

export function accountsReport(
  result: AccountsResult,
  options: AccountsOptions,
): { rows: Row[]; detail: string } {
  const n = result.accounts;
  const { oneOfMany, allAtOnce } = result;
  const manyProcesses = [...result.gatewayMany, ...oneOfMany.gateway, allAtOnce.gateway];
  const oneGateway = manyProcesses.every((count) => count.connections === 1 && count.identifies === 1);
  const ratio = result.memoryMany.rss / result.memoryOne.rss;
  const ratioNoGc = result.memoryManyNoGc.rss / result.memoryOneNoGc.rss;
  const addedStartMs = result.startupMany.median - result.startupOne.median;
  const reply = oneOfMany.manyReply.token.median / oneOfMany.oneReply.token.median;
  const plain = oneOfMany.manyPlain.token.median / oneOfMany.onePlain.token.median;
  const allPublished = allAtOnce.published.every((count) => count === allAtOnce.accounts);
  const instances = result.rssOne.length;
  const processes = instances === 1 ? '1 process each' : `${instances} processes each`;
  const rows: Row[] = [
    {
      id: '7',
      benchmark: `${n} accounts in one process: Discord gateway connections, per process`,
      measured: `${n}-account relay: ${describeCounts(manyProcesses)}`,
      baseline: `one-account relay: ${describeCounts(result.gatewayOne)}`,
      comparison: oneGateway ? 'one connection for every account' : 'more than one',
      target: '1',
      met: yes(oneGateway),
    },
    {
      id: '7',
      benchmark: `${n} accounts: memory, idle (after forced GC; median of ${processes})`,
      measured: `${n}-account relay RSS ${mb(result.memoryMany.rss)} (heap used ${mb(result.memoryMany.heapUsed)})`,
      baseline: `one-account relay RSS ${mb(result.memoryOne.rss)} (heap used ${mb(result.memoryOne.heapUsed)})`,
      comparison: `${fmt(ratio)}× (${signedMb(result.memoryMany.rss - result.memoryOne.rss)})`,
      target: '≤ 1.15×',
      met: yes(ratio <= 1.15),
    },
    {
      id: '7',
      benchmark: `${n} accounts: memory, idle as a user sees it (no forced GC, ${fmt(result.idleMs / 1000)} s after its start; median of ${processes})`,
      measured: `${n}-account relay RSS ${mb(result.memoryManyNoGc.rss)} (heap used ${mb(result.memoryManyNoGc.heapUsed)})`,
      baseline: `one-account relay RSS ${mb(result.memoryOneNoGc.rss)} (heap used ${mb(result.memoryOneNoGc.heapUsed)})`,
      comparison: `${fmt(ratioNoGc)}× (${signedMb(result.memoryManyNoGc.rss - result.memoryOneNoGc.rss)})`,
      target: '≤ 1.15×',
      met: yes(ratioNoGc <= 1.15),
    },
    {
      id: '7',
      benchmark: `${n} accounts: start-up to \`relay started\`, every published token valid (n=${result.startupMany.n} each)`,
      measured: `${n}-account relay: median ${ms(result.startupMany.median)}, max ${ms(result.startupMany.max)}`,
      baseline: `one-account relay: median ${ms(result.startupOne.median)}, max ${ms(result.startupOne.max)}`,
      comparison: signedMs(addedStartMs),
      target: '≤ one-account + 150 ms',
      met: yes(addedStartMs <= 150),
    },
    {
      id: '7',
      benchmark:
        `Answer to token, one account of ${n} (\`${oneOfMany.account}\`), the others idle: a Discord reply ` +
        `to its prompt (n=${oneOfMany.manyReply.token.n} each)`,
      measured: `${n}-account relay: median ${ms(oneOfMany.manyReply.token.median)}, p99 ${ms(oneOfMany.manyReply.token.p99)}`,
      baseline: `one-account relay, a reply to its prompt: median ${ms(oneOfMany.oneReply.token.median)}, p99 ${ms(oneOfMany.oneReply.token.p99)}`,
      comparison: `${fmt(reply)}×, ${signedMs(oneOfMany.manyReply.token.median - oneOfMany.oneReply.token.median)}`,
      target: 'one-account ±10 % (≤ 1.1×)',
      met: yes(reply <= 1.1),
    },
    {
      id: '7',
      benchmark:
        `Answer to token, one account of ${n}, the others idle: a plain DM (the hub reads the ${n} ` +
        `accounts' pending logins once; n=${oneOfMany.manyPlain.token.n} each)`,
      measured: `${n}-account relay: median ${ms(oneOfMany.manyPlain.token.median)}, p99 ${ms(oneOfMany.manyPlain.token.p99)}`,
      baseline: `one-account relay, a plain DM: median ${ms(oneOfMany.onePlain.token.median)}, p99 ${ms(oneOfMany.onePlain.token.p99)}`,
      comparison: `${fmt(plain)}×, ${signedMs(oneOfMany.manyPlain.token.median - oneOfMany.onePlain.token.median)}`,
      target: '— (stated)',
      met: '—',
    },
    {
      id: '7',
      benchmark: `${n} logins waiting at once, a reply to each prompt, back to back (n=${allAtOnce.token.n})`,
      measured:
        `tokens published: ${allPublished ? 'all' : allAtOnce.published.join(', ')} of ${allAtOnce.accounts} ` +
        `in each round; answer to token median ${ms(allAtOnce.token.median)}, p99 ${ms(allAtOnce.token.p99)}; ` +
        `last token of a round: median ${ms(allAtOnce.lastToken.median)}`,
      baseline: `one-account relay, one login, a reply: median ${ms(oneOfMany.oneReply.token.median)}, p99 ${ms(oneOfMany.oneReply.token.p99)}`,
      comparison: `p99 ${fmt(allAtOnce.token.p99 / oneOfMany.oneReply.token.p99)}× the one-account p99`,
      target: 'every token published; p99 stated',
      met: yes(allPublished),
    },
  ];
  const step = (series: { stepTwo: { median: number } }): string => ms(series.stepTwo.median);
  const detail =
    `7. ${n} accounts (\`RELAY_ACCOUNTS=a01,…\`, each with \`ACCOUNT_<NAME>_ETNA_*\` of a fake broker ` +
    `of its own on 127.0.0.1; both operators on every account) in one process, against the one-account ` +
    `relay (\`RELAY_ACCOUNT\`, the plain variables, as bench 1's), each on a Discord emulator of its own. ` +
    `Start-up: \`node dist/main.js\` as in bench 5, the two alternating (1 warm-up each), timed from ` +
    `spawn() to \`relay started\`, every account keeping its published token (no login); REST calls a ` +
    `start made: median ${fmt(result.restCallsMany.median)} (${n} accounts) and ` +
    `${fmt(result.restCallsOne.median)} (one). Gateway: the emulator's connections and IDENTIFYs during ` +
    `each ${n}-account start-up (${result.gatewayMany.length}), each whole answer session ` +
    `(${oneOfMany.gateway.length}) and the all-at-once session (1). Memory: as bench 4 ` +
    `(bench/relay-host.ts, --expose-gc), ${instances} process${instances === 1 ? '' : 'es'} of each side by side, each on a ` +
    `prefix of its own with valid tokens; RSS ${list(result.rssMany)} MB (${n} accounts) and ` +
    `${list(result.rssOne)} MB (one) after forced GC, ${list(result.rssManyNoGc)} MB and ` +
    `${list(result.rssOneNoGc)} MB as a user sees them, each ${fmt(result.idleMs / 1000)} s after its own ` +
    `\`relay started\` (V8's young generation then committed: ${young(result.memoryManyNoGc)} and ` +
    `${young(result.memoryOneNoGc)}, medians' processes). Answer to token: \`node dist/main.js\` ` +
    `(MAX_LOGINS_PER_HOUR=60, so ${options.answerSessions} session${options.answerSessions > 1 ? 's' : ''} ` +
    `of a fresh pair of relays), one login at a time (a bot's \`token.rejected\`, then the first ` +
    `operator's DM ${SETTLE_MS} ms after the prompts), ${options.answerWarmupRounds} warm-up and ` +
    `${options.answerRounds} timed rounds per session of each series, the four series taking turns; ` +
    `\`sendDm\` → \`token.updated\` at a Redis subscriber. Step 2 reached the broker after a median ` +
    `${step(oneOfMany.manyReply)} (${n} accounts, reply), ${step(oneOfMany.oneReply)} (one, reply), ` +
    `${step(oneOfMany.manyPlain)} (${n}, plain), ${step(oneOfMany.onePlain)} (one, plain); the ` +
    `${n}-account relay asked "which account?" ${oneOfMany.questions} times (none expected: one ` +
    `account waits). All at once: a fresh ${n}-account relay; each round, a bot of every account ` +
    `reports its token at once (every prompt out after a median ${ms(allAtOnce.promptsOut.median)}), ` +
    `then the first operator replies to each prompt, back to back; 1 warm-up and ${allAtOnce.rounds} ` +
    `timed rounds; each token checked in Redis against its broker's last; answer to token max ` +
    `${ms(allAtOnce.token.max)}, step 2 at the broker after a median ${ms(allAtOnce.stepTwo.median)} ` +
    `(the emulator, the 20 brokers and the subscriber share the bench process: its work counts too).`;
  return { rows, detail };
}
