import type { Registry } from 'prom-client';
import { BROKER_ERROR_KINDS, LOGIN_OUTCOMES, LOGIN_REASONS, isOneOf } from '../domain/vocabulary.js';
import type { BrokerStep } from '../domain/broker-errors.js';
import type { Broker } from '../relay/ports/broker.js';
import type { RelayObserver } from '../relay/state.js';
import {
  BOT_REQUEST_TYPES,
  BROKER_REQUEST_BUCKETS_SECONDS,
  HALTING_ERRORS,
  METRIC_NAMES,
  OPERATOR_ANSWER_BUCKETS_SECONDS,
  bounded,
  errorOutcome,
  readState,
  resultOutcome,
} from './names.js';
import { Counter, Gauge, Histogram } from './prom-client.js';
import type { AccountMetrics, StateProbes, TokenSummary } from './types.js';

/**
 * The per-account metrics of one registry: each metric is registered once (one HELP and TYPE in the
 * text, whatever the number of accounts), with `account` as its first label, and `add` binds an
 * account to its own series of them.
 */
export interface AccountSeries {
  /** Binds `account` to its series; the caller makes sure it is not bound already. */
  add(account: string): AccountMetrics;
}

/** Registers the per-account metrics in `registry`; `now` is a monotonic clock in milliseconds. */
export function createAccountSeries(registry: Registry, now: () => number): AccountSeries {
  const registers = [registry];
  // The state probes of every account, read at each scrape by the state gauges' `collect`.
  const stateProbes = new Map<string, Partial<StateProbes>>();

  const tokenExpiry = new Gauge({
    name: METRIC_NAMES.tokenExpiry,
    help: 'When the published token expires, in seconds since the Unix epoch.',
    labelNames: ['account'] as const,
    registers,
  });
  const tokenGeneration = new Gauge({
    name: METRIC_NAMES.tokenGeneration,
    help: 'Generation of the published token.',
    labelNames: ['account'] as const,
    registers,
  });
  const loginsStarted = new Counter({
    name: METRIC_NAMES.loginsStarted,
    help: 'Logins started, by trigger.',
    labelNames: ['account', 'trigger'] as const,
    registers,
  });
  const logins = new Counter({
    name: METRIC_NAMES.logins,
    help: 'Logins ended, by trigger and result; failed ones also by broker error kind (error).',
    labelNames: ['account', 'trigger', 'result', 'error'] as const,
    registers,
  });
  const operatorAnswer = new Histogram({
    name: METRIC_NAMES.operatorAnswer,
    help: "Seconds from a login's prompt to the first code an operator sent for it.",
    labelNames: ['account'] as const,
    buckets: OPERATOR_ANSWER_BUCKETS_SECONDS,
    registers,
  });
  const brokerDuration = new Histogram({
    name: METRIC_NAMES.brokerRequestDuration,
    help: 'Seconds a broker call took, by step and outcome (result kind or error kind).',
    labelNames: ['account', 'step', 'outcome'] as const,
    buckets: BROKER_REQUEST_BUCKETS_SECONDS,
    registers,
  });
  const halts = new Counter({
    name: METRIC_NAMES.halts,
    help: 'Times a broker error that needs a person (credentials, app key, password, PIN) halted every login, by error kind.',
    labelNames: ['account', 'error'] as const,
    registers,
  });
  const botRequests = new Counter({
    name: METRIC_NAMES.botRequests,
    help: 'Requests the trading bots published (token.rejected: the broker refused their token), by type.',
    labelNames: ['account', 'type'] as const,
    registers,
  });

  const stateGauge = (name: string, help: string, read: (probes: Partial<StateProbes>) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['account'] as const,
      registers,
      collect() {
        for (const [account, probes] of stateProbes)
          this.set(
            { account },
            readState(() => read(probes)),
          );
      },
    });
  };
  stateGauge(
    METRIC_NAMES.nextLogin,
    'When the relay starts its next login by itself (a renewal, or a planned login of LOGIN_SCHEDULE), in seconds since the Unix epoch; 0 when none is set.',
    (p) => (p.nextLoginAt?.()?.getTime() ?? 0) / 1_000,
  );
  stateGauge(
    METRIC_NAMES.halted,
    '1 while a broker error that needs a person (credentials, app key, password, PIN) halts every login, else 0.',
    (p) => (p.snapshot?.().halted === undefined ? 0 : 1),
  );
  stateGauge(
    METRIC_NAMES.lastLoginFailed,
    '1 when the last login this relay knows of ended without a token (automatic logins then wait for an operator), else 0.',
    (p) => {
      const login = p.snapshot?.().login;
      return login?.state === 'ended' && login.outcome !== 'succeeded' ? 1 : 0;
    },
  );

  const seconds = (startedMs: number): number => Math.max(0, now() - startedMs) / 1_000;

  const add = (account: string): AccountMetrics => {
    stateProbes.set(account, {});
    // An account's series exist from its registration, as they did when a registry had one account
    // and no label: rate() and "no token" alerts work from the first scrape.
    tokenExpiry.set({ account }, 0);
    tokenGeneration.set({ account }, 0);
    operatorAnswer.zero({ account });
    for (const type of BOT_REQUEST_TYPES) botRequests.inc({ account, type }, 0);

    const setToken = (token: TokenSummary | undefined): void => {
      if (token === undefined) {
        // No valid token: an expiry in the past (the epoch) makes "expires within …" alerts fire.
        // The generation stays: it never goes back, and says which token was the last.
        tokenExpiry.set({ account }, 0);
        return;
      }
      // Only these two fields are read: a whole TokenRecord (with its token) may be handed in.
      tokenGeneration.set({ account }, token.generation);
      const expiresAtMs = Date.parse(token.expiresAt);
      tokenExpiry.set({ account }, Number.isNaN(expiresAtMs) ? 0 : expiresAtMs / 1_000);
    };

    const observer: RelayObserver = {
      loginStarted: (login) => {
        loginsStarted.inc({ account, trigger: bounded(LOGIN_REASONS, login.reason) });
      },
      codeReceived: (info) => {
        // Later attempts of the same login are counted from the same prompt: they would measure the
        // broker's refusals, not how fast someone answers.
        if (info.attempt !== 1) return;
        operatorAnswer.observe({ account }, Math.max(0, info.waitedMs) / 1_000);
      },
      loginEnded: (login) => {
        const result = bounded(LOGIN_OUTCOMES, login.outcome);
        logins.inc({
          account,
          trigger: bounded(LOGIN_REASONS, login.reason),
          result,
          // Only failures carry an error kind: the other results have no `error` label at all.
          ...(result === 'failed' ? { error: bounded(BROKER_ERROR_KINDS, login.error) } : {}),
        });
        if (result === 'failed' && isOneOf(HALTING_ERRORS, login.error)) {
          halts.inc({ account, error: login.error });
        }
      },
      tokenPublished: (token) => setToken(token),
    };

    const instrumentBroker = (broker: Broker): Broker => {
      const timed = async <R>(
        step: BrokerStep,
        signal: AbortSignal | undefined,
        call: () => Promise<R>,
      ): Promise<R> => {
        const startedMs = now();
        let result: R;
        try {
          result = await call();
        } catch (error) {
          brokerDuration.observe({ account, step, outcome: errorOutcome(error, signal) }, seconds(startedMs));
          throw error;
        }
        // Outside the try: whatever the result looks like, it goes back to the caller as it came.
        brokerDuration.observe({ account, step, outcome: resultOutcome(result) }, seconds(startedMs));
        return result;
      };
      return {
        startLogin: (...args) => timed('start-login', args[0], () => broker.startLogin(...args)),
        submitCode: (...args) => timed('submit-code', args[2], () => broker.submitCode(...args)),
        validate: (...args) => timed('validate', args[1], () => broker.validate(...args)),
      };
    };

    return {
      account,
      observer,
      instrumentBroker,
      setToken,
      countBotRequest: ({ type }) => {
        botRequests.inc({ account, type: bounded(BOT_REQUEST_TYPES, type) });
      },
      setStateProbes: (next) => {
        stateProbes.set(account, { ...stateProbes.get(account), ...next });
      },
    };
  };

  return { add };
}
