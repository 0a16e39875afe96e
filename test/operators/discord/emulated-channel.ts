import { createLogger } from '../../../src/shared/log.js';
import { DiscordOperatorChannel } from '../../../src/operators/discord-channel.js';
import type { DiscordOperatorChannelOptions } from '../../../src/operators/discord-channel.js';
import type { OperatorInput, PromptView } from '../../../src/relay/ports/operators.js';
import { Secret } from '../../../src/shared/secret.js';
import { startDiscordEmulator, type DiscordEmulator } from '../../fakes/discord/index.js';

/** A Discord channel logged into its own emulator, and what a test sees of it. */
export interface EmulatedChannel {
  readonly emulator: DiscordEmulator;
  readonly channel: DiscordOperatorChannel;
  /** The operators, by the names they were created with. */
  readonly users: Readonly<Record<string, string>>;
  /** Every input the channel delivered, in order. */
  readonly inputs: OperatorInput[];
  readonly logLines: string[];
  /** The input delivered at `index` (the count before the action), once there. */
  nextInput(index: number, what: string): Promise<OperatorInput>;
  /** Stops the channel and the emulator. */
  close(): Promise<void>;
}

/**
 * Starts an emulator with users `operators` (all operators, `closed` among them with DMs closed to
 * the bot) and a channel on it.
 */
export async function startEmulatedChannel(
  operators: readonly string[],
  options?: Partial<DiscordOperatorChannelOptions> & { closed?: readonly string[] },
): Promise<EmulatedChannel> {
  const emulator = await startDiscordEmulator();
  const users = Object.fromEntries(
    operators.map((name) => [name, emulator.createUser(name, { dmsOpen: !options?.closed?.includes(name) })]),
  );
  const inputs: OperatorInput[] = [];
  const logLines: string[] = [];
  const channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: Object.values(users),
    apiUrl: emulator.apiUrl,
    logger: createLogger({
      level: 'debug',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
    dmRetry: { baseDelayMs: 20, maxDelayMs: 50 },
    codeDigits: { minDigits: 6, maxDigits: 6 },
    ...options,
  });
  await channel.start((input) => inputs.push(input));
  return {
    emulator,
    channel,
    users,
    inputs,
    logLines,
    nextInput: (index, what) => emulator.waitFor(() => inputs[index], { what }),
    close: async () => {
      await channel.stop();
      await emulator.close();
    },
  };
}

/** An open prompt of `account` for login `loginId`. */
export function openView(loginId: string, account: string, operatorIds?: readonly string[]): PromptView {
  return {
    loginId,
    account,
    reason: 'renewal',
    deadline: new Date(Date.now() + 5 * 60_000),
    state: { kind: 'open', attemptsLeft: 3 },
    ...(operatorIds === undefined ? {} : { operatorIds }),
  };
}
