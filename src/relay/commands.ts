import { errorFields, type Logger } from '../shared/log.js';
import type { OperatorInput, OperatorNotice, StatusView } from './ports/operators.js';
import type { Secret } from '../shared/secret.js';
import type { LoginCoordination } from './ports/coordination.js';
import { sameCredentials } from './digest.js';
import { requestNotice } from './login/buttons.js';
import type { LoginRequestResult } from './login/start.js';
import type { LoginView } from './login/state.js';
import type { TokenRecord } from './ports/token-store.js';
import type { RelaySnapshot } from './state.js';

/** What the commands need of the relay. */
export interface CommandsOptions {
  readonly coordination: LoginCoordination;
  readonly logger: Logger;
  readonly now: () => number;
  readonly maxLoginsPerHour: number;
  /** The broker credentials, only to tell whether they changed since a halt. */
  readonly credentials: readonly Secret[];
  readonly snapshot: () => RelaySnapshot;
  readonly requestLogin: () => Promise<LoginRequestResult>;
  /** Brings the relay's view of the halt up to date (`undefined`: lifted). */
  readonly haltKnown: (halt: Awaited<ReturnType<LoginCoordination['loadHalt']>>) => void;
  /** Cancels pending login `loginId` for `operatorId`; resolves to whether it did. */
  readonly cancel: (operatorId: string, loginId: string) => Promise<boolean>;
  /** What `/status` shows beyond the relay's own state. */
  readonly statusExtras: () => Promise<Pick<StatusView, 'nextLogin' | 'recentLogins'>>;
}

type Command = Extract<OperatorInput, { kind: 'command' }>;

/** The operators' slash commands: `/status`, `/login` (and its "Try anyway"), `/cancel`. */
export class Commands {
  readonly #o: CommandsOptions;

  public constructor(options: CommandsOptions) {
    this.#o = options;
  }

  /** Answers one command through its `respond`, exactly once; never throws. */
  public async handle(input: Command): Promise<void> {
    const notice =
      input.command === 'status'
        ? await this.#status()
        : input.command === 'login'
          ? await this.#login(input)
          : await this.#cancel(input);
    try {
      await input.respond(notice);
    } catch (error) {
      this.#o.logger.error({ notice: notice.kind, err: errorFields(error) }, 'command answer not sent');
    }
  }

  /**
   * `/login`: an operator asks for a login now. The same credentials the broker refused would most
   * likely be refused again, and repeated refusals may lock the account: only an explicit "Try
   * anyway" retries them, and only for the halt it was offered for (an old button must not lift a
   * halt that came later, for what may be another reason). Changed ones (the configuration was
   * fixed and the relay restarted) go.
   */
  async #login(input: Command): Promise<OperatorNotice> {
    const { logger, coordination } = this.#o;
    const force = input.force === true;
    logger.info({ operatorId: input.operatorId, force, forHalt: input.forHalt }, '/login');
    // Another relay (or an earlier run) may have halted logins since this one last looked.
    const stored = await coordination.loadHalt().then(
      (halt) => ({ halt }),
      () => undefined,
    );
    if (stored !== undefined) this.#o.haltKnown(stored.halt);
    const halt = stored === undefined ? this.#o.snapshot().halted : stored.halt;
    if (halt !== undefined) {
      const credentials = 'credentials' in halt ? halt.credentials : undefined;
      const unchanged = credentials === undefined || sameCredentials(credentials, this.#o.credentials);
      // A halt is known by its time (epoch ms): the snapshot has it as ISO text, the store as a Date.
      const haltAt = new Date(halt.at).getTime();
      const consented = force && input.forHalt === haltAt;
      if (unchanged && !consented) {
        logger.warn(
          { operatorId: input.operatorId, error: halt.error, haltAt, forHalt: input.forHalt },
          force
            ? '/login: "Try anyway" was for another halt; halt kept, asked to confirm this one'
            : '/login: halt kept; asked to confirm',
        );
        return { kind: 'login-request', result: 'halt-confirm', haltError: halt.error, haltAt };
      }
      logger.warn(
        { operatorId: input.operatorId, error: halt.error, credentialsChanged: !unchanged },
        'halt lifted by an operator',
      );
      this.#o.haltKnown(undefined);
      try {
        await coordination.saveHalt(undefined);
      } catch (error) {
        logger.error({ err: errorFields(error) }, 'coordination store write failed');
      }
    }
    return requestNotice(await this.#o.requestLogin());
  }

  /** `/cancel`: drops the pending login, if one waits for a code. */
  async #cancel(input: Command): Promise<OperatorNotice> {
    const pending = await this.#o.coordination.loadPending().catch(() => undefined);
    const cancellable = pending?.phase.kind === 'awaiting-code';
    this.#o.logger.info({ operatorId: input.operatorId, cancellable }, '/cancel');
    const cancelled = cancellable ? await this.#o.cancel(input.operatorId, pending.loginId) : false;
    return { kind: 'cancel-request', cancelled };
  }

  async #status(): Promise<OperatorNotice> {
    let extras: Pick<StatusView, 'nextLogin' | 'recentLogins'> = { nextLogin: undefined, recentLogins: [] };
    let loginsLastHour = 0;
    try {
      extras = await this.#o.statusExtras();
      loginsLastHour = await this.#o.coordination.loginsInLastHour();
    } catch (error) {
      // A status without its extras beats no status: they live in a Redis that may be down.
      this.#o.logger.warn({ err: errorFields(error) }, 'status extras unavailable');
    }
    return {
      kind: 'status',
      status: { ...statusView(this.#o.snapshot(), loginsLastHour, this.#o.maxLoginsPerHour), ...extras },
    };
  }
}

/** The `/status` view: a pure picture of the relay's snapshot, with dates as dates. */
export function statusView(
  snapshot: RelaySnapshot,
  loginsLastHour: number,
  maxLoginsPerHour: number,
): StatusView {
  const { token, login, halted, lastFailure } = snapshot;
  const { loginId: _loginId, deadline, ...loginState } = login;
  return {
    account: snapshot.account,
    token:
      token === undefined
        ? undefined
        : { generation: token.generation, expiresAt: new Date(token.expiresAt) },
    login: deadline === undefined ? loginState : { ...loginState, deadline: new Date(deadline) },
    nextLogin: undefined,
    lastFailure:
      lastFailure === undefined ? undefined : { reason: lastFailure.reason, at: new Date(lastFailure.at) },
    halted: halted === undefined ? undefined : { error: halted.error, at: new Date(halted.at) },
    loginsLastHour,
    maxLoginsPerHour,
    recentLogins: [],
  };
}

/** A picture of the relay with no secret in it: its view of the login, and the token's generation. */
export function snapshotOf(
  account: string,
  view: LoginView,
  token: TokenRecord | undefined,
  fingerprint?: string,
): RelaySnapshot {
  const { login, halted, lastFailure } = view;
  const pending = login.kind === 'awaiting-code' || login.kind === 'exchanging' ? login : undefined;
  const mismatch =
    pending?.fingerprint !== undefined && fingerprint !== undefined && pending.fingerprint !== fingerprint;
  const base = login.kind === 'none' ? {} : { loginId: login.loginId, reason: login.reason };
  return {
    account,
    token: token === undefined ? undefined : { generation: token.generation, expiresAt: token.expiresAt },
    login:
      login.kind === 'none' || login.kind === 'starting'
        ? { state: login.kind, ...base }
        : login.kind === 'ended'
          ? { state: login.kind, ...base, outcome: login.outcome }
          : {
              state: login.kind,
              ...base,
              deadline: login.deadline.toISOString(),
              attemptsUsed: login.attemptsUsed,
            },
    halted: halted === undefined ? undefined : { error: halted.error, at: halted.at.toISOString() },
    lastFailure,
    ...(mismatch ? { configMismatch: { loginId: pending.loginId } } : {}),
  };
}
