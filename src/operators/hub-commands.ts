import type { OperatorInput, OperatorNotice, StatusView } from '../relay/ports/operators.js';
import { errorFields, type Logger } from '../shared/log.js';

type Command = Extract<OperatorInput, { kind: 'command' }>;

/** How long `/status` waits for one account's answer (Discord keeps a deferred reply 15 minutes). */
const STATUS_WAIT_MS = 10_000;

/** What {@link routeCommand} needs of the hub. */
export interface CommandRoutes {
  /** The operator's accounts, in the configured order. */
  readonly mine: readonly string[];
  /** Where a command of an operator of no account goes (a command-line user: the first account). */
  readonly first: string;
  /**
   * Whether the relay serves several accounts: only then does an answer name its account (a
   * one-account relay's "Try anyway" keeps the custom ID it always had).
   */
  readonly several: boolean;
  /** Hands an input to an account's login. */
  readonly deliver: (account: string, input: OperatorInput) => void;
  readonly log: Logger;
}

/**
 * A command of the operator hub: to the account it names (one of the operator's, else refused);
 * to the operator's only account; with several, `/status` answers for each in one answer, and
 * `/login` and `/cancel` ask which (one button per account).
 */
export async function routeCommand(input: Command, routes: CommandRoutes): Promise<void> {
  const { mine, deliver, log } = routes;
  const respond = input.respond;
  const naming = routes.several ? namingAccount : (_account: string, r: typeof respond) => r;
  if (input.account !== undefined) {
    if (!mine.includes(input.account)) {
      return answer(respond, { kind: 'unknown-account', account: input.account, accounts: mine }, log);
    }
    return deliver(input.account, { ...input, respond: naming(input.account, respond) });
  }
  if (mine.length <= 1) {
    const only = mine[0] ?? routes.first;
    return deliver(only, { ...input, respond: naming(only, respond) });
  }
  if (input.command !== 'status') {
    const question = { kind: 'command', command: input.command } as const;
    return answer(respond, { kind: 'choose-account', question, accounts: mine }, log);
  }
  const statuses = await Promise.all(
    mine.map(
      (account) =>
        new Promise<StatusView | undefined>((resolve) => {
          // A relay that is stopping drops the command: its account is left out, not waited for.
          setTimeout(() => resolve(undefined), STATUS_WAIT_MS).unref();
          deliver(account, {
            ...input,
            account,
            respond: async (notice) => resolve(notice.kind === 'status' ? notice.status : undefined),
          });
        }),
    ),
  );
  await answer(respond, { kind: 'statuses', statuses: statuses.filter((s) => s !== undefined) }, log);
}

/** A command's `respond` that names the account on answers that offer a button for it. */
function namingAccount(account: string, respond: (notice: OperatorNotice) => Promise<void>) {
  return (notice: OperatorNotice): Promise<void> =>
    respond(notice.kind === 'login-request' ? { ...notice, account } : notice);
}

/** Answers through `respond`; a failure is logged. Never rejects. */
export async function answer(
  respond: (notice: OperatorNotice) => Promise<void>,
  notice: OperatorNotice,
  log: Logger,
): Promise<void> {
  try {
    await respond(notice);
  } catch (error) {
    log.warn({ notice: notice.kind, err: errorFields(error) }, 'answer not sent');
  }
}
