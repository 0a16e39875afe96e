import { createLogger } from '../../src/shared/log.js';
import type { LoginCoordination } from '../../src/relay/ports/coordination.js';
import { Relay, type RelayOptions } from '../../src/relay/relay.js';
import { Secret } from '../../src/shared/secret.js';
import { MemoryCoordination } from '../../src/store/memory-coordination.js';
import { MemoryEventPublisher } from '../../src/store/memory-events.js';
import { MemoryTokenStore } from '../../src/store/memory-token-store.js';
import type { RelayEvent } from '../../src/relay/ports/token-store.js';
import { RecordingOperators } from '../fakes/recording-operators.js';
import { ScriptedBroker } from '../fakes/scripted-broker.js';

/** Operators of the unit tests. */
export const ALICE = '100000000000000001';
export const BOB = '100000000000000002';
export const CODE_TIMEOUT_MS = 5 * 60_000;

/** What {@link makeRelay} may be told; the rest are the defaults of a small team. */
export interface MakeRelayOptions extends Partial<Omit<RelayOptions, 'broker' | 'operators'>> {
  /** Shared with other relays of the same test (replicas); a fresh one otherwise. */
  readonly coordination?: LoginCoordination;
  readonly broker?: ScriptedBroker;
  readonly store?: MemoryTokenStore;
  readonly events?: MemoryEventPublisher;
}

let loginIds = 0;

/** The stores several relays of one account share in a test (replicas), each with its own broker. */
export function sharedStores() {
  return {
    coordination: new MemoryCoordination(),
    store: new MemoryTokenStore({ account: 'default' }),
    events: new MemoryEventPublisher(),
  };
}

/** {@link sharedStores} and one broker for all the relays. */
export function sharedPorts() {
  return { ...sharedStores(), broker: new ScriptedBroker() };
}

/**
 * One relay on in-memory ports (scripted broker, recording operators, memory token store, events and
 * coordination), its operator channel started. Pass the same `coordination`, `store`, `events` and
 * `broker` to several calls for replicas.
 */
export function makeRelay(options: MakeRelayOptions = {}) {
  const broker = options.broker ?? new ScriptedBroker();
  const operators = new RecordingOperators();
  const store = options.store ?? new MemoryTokenStore({ account: 'default' });
  const events = options.events ?? new MemoryEventPublisher();
  const coordination = options.coordination ?? new MemoryCoordination();
  const published: RelayEvent[] = [];
  events.subscribe((event) => published.push(event));
  const relay = new Relay({
    account: 'default',
    codeTimeoutMs: CODE_TIMEOUT_MS,
    tokenLifetimeMs: 24 * 3_600_000,
    maxCodeAttempts: 3,
    maxLoginsPerHour: 4,
    logger: createLogger({ level: 'silent' }),
    newLoginId: () => `login-${++loginIds}`,
    random: () => 0.5,
    // scrypt at a test's cost: the digest's checks are the same at any N.
    digestCost: 2 ** 8,
    ...options,
    broker,
    operators,
    store,
    events,
    coordination,
  });
  void operators.start((input) => relay.handleInput(input));
  /** An operator's code: a plain DM reply (written now unless `sentAt`), or through `loginId`'s modal. */
  const code = (operatorId: string, text: string, extra: { loginId?: string; sentAt?: Date } = {}) =>
    operators.input({ kind: 'code', operatorId, code: new Secret(text), ...extra });
  return { broker, operators, store, events, coordination, published, relay, code };
}

/** The login id the relay shows in its last prompt. */
export function lastLoginId(operators: RecordingOperators): string {
  const id = operators.lastPrompt?.loginId;
  if (id === undefined) throw new Error('no prompt shown');
  return id;
}
