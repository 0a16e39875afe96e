/**
 * The accounts of `npm run demo` (src/demo.ts): which ones (`DEMO_ACCOUNTS`), each one's stores (in
 * the process, or in Redis with `REDIS_URL`), the terminal as the operator hub's channel, and the
 * tokens as the demo shows them at its end. Part of the composition root, beside src/demo.ts.
 */
import type { Writable } from 'node:stream';
import { isAccountName } from './config/account-names.js';
import { relayKeys } from './contract/keys.js';
import type { RedisClient } from './redis/connect.js';
import type { LoginCoordination } from './relay/ports/coordination.js';
import type { EventPublisher, RelayKeys, TokenRecord, TokenStore } from './relay/ports/token-store.js';
import type { HubChannel } from './operators/hub.js';
import type { TerminalOperatorChannel } from './operators/terminal-channel.js';
import type { Logger } from './shared/log.js';
import { MemoryCoordination, MemoryInputClaims } from './store/memory-coordination.js';
import { MemoryEventPublisher } from './store/memory-events.js';
import { MemoryTokenStore } from './store/memory-token-store.js';
import { RedisCoordination } from './store/redis-coordination.js';
import { RedisEventPublisher } from './store/redis-events.js';
import { RedisTokenStore } from './store/redis-token-store.js';

/** What `DEMO_ACCOUNTS` takes, for the message that refuses another value. */
export const DEMO_ACCOUNTS_ACCEPTS =
  'account names separated by commas, each once, each 1 to 32 of a-z, 0-9, - and _ (e.g. live,paper)';

/**
 * Reads `DEMO_ACCOUNTS` (`live,paper`): the names in order, as `RELAY_ACCOUNTS` takes them (blanks
 * around a name and empty entries ignored); `undefined` for a name it would refuse, a repeat, or none.
 */
export function readDemoAccounts(text: string): readonly string[] | undefined {
  const names = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const ok = names.length > 0 && names.every(isAccountName) && new Set(names).size === names.length;
  return ok ? names : undefined;
}

/** One account's keys and stores in the demo. */
export interface DemoStores {
  readonly account: string;
  readonly keys: RelayKeys;
  readonly store: TokenStore;
  /** Where its events go (the demo prints each as well). */
  readonly events: EventPublisher;
  readonly coordination: LoginCoordination;
  /**
   * The input claims of every account at once (the operator hub's): the one claim function all the
   * accounts' coordinations share.
   */
  readonly claimInput: (inputId: string, ttlMs: number) => Promise<boolean>;
}

/**
 * Every account's keys. With several, operator inputs are claimed under one key for all of them
 * (`P:inputs`), as a relay of several accounts does (src/app.ts).
 */
function keysOf(accounts: readonly string[], prefix: string): RelayKeys[] {
  const sharedInputs = accounts.length > 1;
  return accounts.map((account) => relayKeys({ prefix, account, ...(sharedInputs ? { sharedInputs } : {}) }));
}

/** In-process stores; with several accounts, one set of input claims for all, like `P:inputs`. */
export function memoryStores(accounts: readonly string[], prefix: string): DemoStores[] {
  const inputClaims = new MemoryInputClaims();
  const keys = keysOf(accounts, prefix);
  const coordinations = accounts.map(() => new MemoryCoordination({ inputClaims }));
  const claimInput = (inputId: string, ttlMs: number): Promise<boolean> =>
    coordinations[0]!.claimInput(inputId, ttlMs);
  return accounts.map((account, i) => ({
    account,
    keys: keys[i]!,
    store: new MemoryTokenStore({ account }),
    events: new MemoryEventPublisher(),
    coordination: coordinations[i]!,
    claimInput,
  }));
}

/** Stores in Redis, under `prefix`; with several accounts, their input claims under `P:inputs`. */
export function redisStores(
  accounts: readonly string[],
  prefix: string,
  redis: RedisClient,
  logger: Logger,
): DemoStores[] {
  const keys = keysOf(accounts, prefix);
  const coordinations = keys.map((k) => new RedisCoordination({ client: redis, keys: k, logger }));
  const claimInput = (inputId: string, ttlMs: number): Promise<boolean> =>
    coordinations[0]!.claimInput(inputId, ttlMs);
  return accounts.map((account, i) => ({
    account,
    keys: keys[i]!,
    // The relay writes and then publishes through `events` (printed by the demo), not from the write script.
    store: new RedisTokenStore({ client: redis, keys: keys[i]!, account, logger }),
    events: new RedisEventPublisher({ client: redis, keys: keys[i]! }),
    coordination: coordinations[i]!,
    claimInput,
  }));
}

/**
 * The terminal as the operator hub's channel, which prints {@link guide} once every account's
 * prompt asks for a code (a relay's start only begins its login: the SMS and prompt come later).
 */
export function guidedTerminal(
  terminal: TerminalOperatorChannel,
  accounts: readonly string[],
  out: Writable,
): HubChannel {
  const waiting = new Set<string>();
  let guided = false;
  return {
    start: (onInput) => terminal.start(onInput),
    showPrompt: async (view, refs) => {
      const shown = await terminal.showPrompt(view, refs);
      if (view.state.kind === 'open') waiting.add(view.account);
      if (!guided && waiting.size === accounts.length) {
        guided = true;
        out.write(`\n${guide(accounts)}\n`);
      }
      return shown;
    },
    notify: (operatorId, notice) => terminal.notify(operatorId, notice),
    broadcast: (notice) => terminal.broadcast(notice),
    isConnected: () => terminal.isConnected(),
  };
}

/** How the operator gets a code to its account, when every account waits for one. */
function guide(accounts: readonly string[]): string {
  return (
    `>> ${andList(accounts)} each wait for the code of their own SMS. Type the code of one SMS: ` +
    "while several wait, the relay asks which account it is for; type that account's name. " +
    'The demo ends when every account has a token.'
  );
}

/** `"live" and "paper"`; `"a", "b" and "c"`. */
export function andList(names: readonly string[]): string {
  const quoted = names.map((name) => `"${name}"`);
  return quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1) ?? ''}`;
}

/** The end of the demo: each account's token as a bot reads it, the token itself masked. */
export async function showTokens(
  out: Writable,
  accounts: readonly DemoStores[],
  redis: RedisClient | undefined,
): Promise<void> {
  for (const { keys, store } of accounts) {
    if (redis !== undefined) {
      const raw = await redis.get(keys.token);
      out.write(`\nA trading bot reading ${keys.token} now sees (the token masked here):\n`);
      out.write(`  GET ${keys.token} -> ${raw === null ? '(nil)' : masked(raw)}\n`);
    } else {
      const record = await store.read();
      out.write(
        `\nA trading bot would read this at ${keys.token} (the token masked here; ` +
          'set REDIS_URL and the demo writes it there):\n',
      );
      out.write(`  ${record === undefined ? '(nil)' : masked(JSON.stringify(envelopeOf(record)))}\n`);
    }
    out.write(`  python: json.loads(r.get("${keys.token}"))["value"]["token"]\n`);
  }
  out.write(
    accounts.length > 1
      ? '(Sandbox tokens: worthless outside this demo.)\n'
      : '(A sandbox token: worthless outside this demo.)\n',
  );
}

/** keyv's envelope around a record, as the token store writes it at `P:token:A`. */
function envelopeOf(record: TokenRecord): { value: TokenRecord; expires: number } {
  return { value: record, expires: Date.parse(record.expiresAt) };
}

/** The stored envelope's JSON with the token replaced by its length: the demo never prints a token. */
function masked(envelopeJson: string): string {
  const envelope = JSON.parse(envelopeJson) as { value: TokenRecord };
  const { token } = envelope.value;
  return JSON.stringify({
    ...envelope,
    value: { ...envelope.value, token: `[${token.length} characters, not shown]` },
  });
}
