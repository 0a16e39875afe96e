/**
 * The sandbox, as `npm run demo` and `SANDBOX=true npm start` run it: the fake ETNA broker of
 * `src/sandbox/` on 127.0.0.1, which "sends" each code by printing it; the real ETNA client, logged
 * in to it with its own credentials; and the terminal as the operators' channel. Composition only,
 * shared by the two roots (src/demo.ts, src/app.ts): the relay, the store and the texts are the
 * real ones.
 */
import type { Readable, Writable } from 'node:stream';
import { EtnaBroker } from './broker/etna-client.js';
import type { CodeDigits } from './domain/code-digits.js';
import { TERMINAL_OPERATOR_ID, TerminalOperatorChannel } from './operators/terminal-channel.js';
import type { LoginCoordination, SharedLogin } from './relay/ports/coordination.js';
import type { PromptView } from './relay/ports/operators.js';
import type { TokenStore } from './relay/ports/token-store.js';
import { isSandboxToken } from './sandbox/etna-logins.js';
import { startEtnaServer } from './sandbox/etna-server.js';
import type { Logger } from './shared/log.js';
import { Secret } from './shared/secret.js';

/** The sandbox broker's account: the only credentials it takes, and worthless anywhere else. */
const CREDENTIALS = { appKey: 'sandbox-app-key', username: 'sandbox', password: 'sandbox-password' } as const;

/**
 * Whether a wrong code spends the sandbox's login: no. Its refusal of a wrong code (`Invalid
 * verification code`) then means what the relay tells the operator: that code was wrong, and the
 * attempts left may be used. The real broker does not document what a wrong code does
 * (docs/broker.md); the tests run the fake broker the other way too, spending the login without
 * saying so (the worst case), but a try-out that did so would contradict its own texts.
 */
export const SANDBOX_WRONG_CODE_BURNS_INTERIM = false;

/** The operator at the terminal, as the terminal's inputs name them: every account's operator. */
export const SANDBOX_OPERATOR_ID = TERMINAL_OPERATOR_ID;

/** The line that stands for the SMS to the account's phone (named when the relay serves several). */
export function sandboxSms(code: string, account?: string): string {
  const phone = account === undefined ? "the account's phone" : `account ${account}'s phone`;
  return `[sandbox SMS to ${phone}] Your ETNA verification code: ${code}`;
}

/** A running sandbox broker and the ETNA client logged in to it. */
export interface SandboxBroker {
  /** The sandbox's API base, on 127.0.0.1. */
  readonly url: URL;
  /** The real ETNA client, pointed at the sandbox. */
  readonly broker: EtnaBroker;
  /** The sandbox's credentials, for the relay's halt digest. */
  readonly credentials: readonly Secret[];
  /** Closes the client, then the sandbox. */
  close(): Promise<void>;
}

/** Options of {@link startSandboxBroker}. */
export interface SandboxBrokerOptions {
  /** Where each code is "sent": the terminal. */
  readonly output: Writable;
  readonly logger: Logger;
  /** Digits in each code (default 6). */
  readonly codeLength?: number;
  /** The ETNA client's time-out per call. */
  readonly requestTimeoutMs?: number;
  /** The account whose phone the SMS goes to, named in its line (several accounts). */
  readonly account?: string;
}

/** Starts the sandbox broker on a free port of 127.0.0.1, and the ETNA client for it. */
export async function startSandboxBroker(options: SandboxBrokerOptions): Promise<SandboxBroker> {
  const sandbox = await startEtnaServer({
    ...CREDENTIALS,
    ...(options.codeLength === undefined ? {} : { codeLength: options.codeLength }),
    wrongCodeBurnsInterim: SANDBOX_WRONG_CODE_BURNS_INTERIM,
    onCodeSent: (code) => options.output.write(`\n${sandboxSms(code, options.account)}\n`),
  });
  const credentials = {
    appKey: new Secret(CREDENTIALS.appKey),
    username: CREDENTIALS.username,
    password: new Secret(CREDENTIALS.password),
  };
  const broker = new EtnaBroker({
    apiUrl: sandbox.url,
    ...credentials,
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    logger: options.logger,
  });
  return {
    url: sandbox.url,
    broker,
    credentials: [credentials.appKey, new Secret(credentials.username), credentials.password],
    close: async () => {
      await broker.close();
      await sandbox.close();
    },
  };
}

/** The sandbox found a token in its store that no sandbox issued. */
export class ForeignTokenError extends Error {
  public override readonly name = 'ForeignTokenError';
}

/**
 * Refuses a store that holds a token no sandbox issued: a relay's, on a Redis and key prefix shared
 * with a real deployment. The sandbox broker would answer 401 to it, and the relay would take it for
 * dead and remove it from under the bots. Its own earlier tokens (a restarted demo or sandbox relay)
 * are fine. Never prints the token.
 *
 * @throws ForeignTokenError naming the key
 */
export async function refuseForeignToken(store: Pick<TokenStore, 'read'>, tokenKey: string): Promise<void> {
  const record = await store.read();
  if (record === undefined || isSandboxToken(record.token)) return;
  throw new ForeignTokenError(
    `${tokenKey} holds a token the sandbox did not issue (a real relay's?): the sandbox would take it ` +
      'for dead and remove it. Give the sandbox a RELAY_KEY_PREFIX, or a Redis, of its own.',
  );
}

/** Printed after the prompt of a login an earlier run left waiting. */
const EARLIER_SANDBOX =
  'Its SMS came from the sandbox broker of the run that started it, which stopped with that run: ' +
  'this sandbox cannot check that code. Type "new" for a new SMS, or "cancel".';

/** One account of the terminal: where a login an earlier run left waiting is found. */
export interface SandboxOperatorsAccount {
  readonly name: string;
  readonly maxCodeAttempts: number;
  readonly coordination: Pick<LoginCoordination, 'loadPending'>;
}

/** Options of {@link sandboxOperators}. */
export interface SandboxOperatorsOptions {
  readonly input: Readable;
  readonly output: Writable;
  readonly codeDigits: CodeDigits;
  /** Every account the terminal serves, in order. */
  readonly accounts: readonly SandboxOperatorsAccount[];
}

/**
 * The terminal as the operators' channel, its operator {@link SANDBOX_OPERATOR_ID}. A login an
 * earlier run left waiting (in Redis) is announced at start, with its deadline, and with what that
 * run's sandbox leaves of it: nothing to check its code with. With several accounts, its help names
 * them.
 */
export function sandboxOperators(options: SandboxOperatorsOptions): TerminalOperatorChannel {
  return new TerminalOperatorChannel({
    input: options.input,
    output: options.output,
    operatorId: SANDBOX_OPERATOR_ID,
    codeDigits: options.codeDigits,
    accounts: options.accounts.map((account) => account.name),
    // Every account's that waits: the terminal announces each.
    waitingLogin: async () => {
      const found = await Promise.all(
        options.accounts.map(async ({ name, maxCodeAttempts, coordination }) => {
          const pending = await coordination.loadPending();
          return pending === undefined
            ? []
            : [{ view: promptViewOf(pending, name, maxCodeAttempts), note: EARLIER_SANDBOX }];
        }),
      );
      return found.flat();
    },
  });
}

/** The prompt of a login found in the store, as the relay that started it showed it. */
function promptViewOf(login: SharedLogin, account: string, maxCodeAttempts: number): PromptView {
  const { phase } = login;
  return {
    loginId: login.loginId,
    account,
    reason: login.reason,
    deadline: login.deadline,
    state:
      phase.kind === 'exchanging'
        ? { kind: 'checking', operatorId: phase.operatorId }
        : { kind: 'open', attemptsLeft: Math.max(0, maxCodeAttempts - login.attemptsUsed) },
  };
}
