import { ConfigError, readRedisAccess } from '../config/index.js';
import { parseCliArgs, USAGE } from './args.js';
import { enterCode, EXIT } from './code.js';

/** Options of {@link runCli}: everything the command reads from and writes to the process. */
export interface RunCliOptions {
  /** The arguments after `otp-relay` (`process.argv.slice(2)`). */
  readonly argv: readonly string[];
  /**
   * The environment, read only once the arguments asked for a code (`.env` is loaded then, and
   * only then: `--help` needs none).
   */
  readonly env: () => Readonly<Record<string, string | undefined>>;
  /** The OS user, as the CLI sends it (`cliUserName`). */
  readonly user: string;
  /** A line to standard output. */
  readonly out: (text: string) => void;
  /** A line to standard error. */
  readonly err: (text: string) => void;
}

/**
 * `otp-relay …` from its arguments to its exit status (cli/code.ts's `EXIT`), the process left to
 * cli/main.ts. The account is `--account`, else `RELAY_ACCOUNT`, else the only one `RELAY_ACCOUNTS`
 * lists; with several listed and no `--account`, it stops as for a usage error, names them, and
 * sends nothing: a code must never go to an account the operator did not mean.
 */
export async function runCli(options: RunCliOptions): Promise<number> {
  const { out, err } = options;
  const parsed = parseCliArgs(options.argv);
  if (!parsed.ok) {
    err(`otp-relay: ${parsed.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { command } = parsed;
  if (command.kind === 'help') {
    out(USAGE);
    return 0;
  }
  let access;
  try {
    access = readRedisAccess(options.env(), { account: command.account });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const { problems } = error;
    if (problems.every((problem) => problem.variable === '--account')) {
      // Which account, not how Redis is set up: told as the usage error it is.
      err(
        `otp-relay: ${problems.map((problem) => problem.message).join('; ')}. Nothing was sent.\n\n${USAGE}`,
      );
    } else {
      err(`otp-relay: cannot run, nothing was sent\n${error.message}`);
    }
    return EXIT.usage;
  }
  return enterCode({
    access,
    text: command.text,
    timeoutMs: command.timeoutMs,
    user: options.user,
    out,
    err,
  });
}
