import { PassThrough } from 'node:stream';
import { DiscordOperatorChannel } from '../../src/operators/discord-channel.js';
import { TerminalOperatorChannel } from '../../src/operators/terminal-channel.js';
import { CliInbox } from '../../src/operators/cli-inbox.js';
import { CombinedOperatorChannel } from '../../src/operators/combined-channel.js';
import { cliChannels } from '../../src/contract/keys.js';
import { DEFAULT_CODE_DIGITS } from '../../src/domain/code-digits.js';
import { connectRedis } from '../../src/redis/connect.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { createLogger } from '../../src/shared/log.js';
import { Secret } from '../../src/shared/secret.js';
import { startDiscordEmulator } from '../fakes/discord/index.js';
import { operatorChannelContract } from './operator-channel.contract.js';

operatorChannelContract('TerminalOperatorChannel', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (chunk: Buffer) => {
    written += chunk.toString('utf8');
  });
  return {
    channel: new TerminalOperatorChannel({ input, output }),
    operators: ['terminal'],
    write: (_operatorId, text) => input.write(`${text}\n`),
    runCommand: (_operatorId, command) => input.write(`${command}\n`),
    transcript: () => written,
  };
});

operatorChannelContract('CombinedOperatorChannel (the terminal, and the CLI inbox on Redis)', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (chunk: Buffer) => {
    written += chunk.toString('utf8');
  });
  const redis = await connectRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay:contract' });
  const inbox = new CliInbox({
    client: redis,
    channels: cliChannels({ prefix: uniquePrefix('contract-cli'), account: 'default' }),
    codeDigits: DEFAULT_CODE_DIGITS,
    logger: createLogger({ level: 'silent' }),
  });
  return {
    channel: new CombinedOperatorChannel(new TerminalOperatorChannel({ input, output }), inbox),
    operators: ['terminal'],
    write: (_operatorId, text) => input.write(`${text}\n`),
    runCommand: (_operatorId, command) => input.write(`${command}\n`),
    transcript: () => written,
    cleanup: () => redis.close(),
  };
});

operatorChannelContract('DiscordOperatorChannel (Discord emulator)', async () => {
  const emulator = await startDiscordEmulator();
  const operators = [emulator.createUser('alice'), emulator.createUser('bob')];
  const channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: operators,
    apiUrl: emulator.apiUrl,
    logger: createLogger({ level: 'silent' }),
  });
  return {
    channel,
    operators,
    write: (operatorId, text) => {
      emulator.sendDm(operatorId, text);
    },
    runCommand: (operatorId, command) => {
      void emulator.runCommand(operatorId, command);
    },
    transcript: (operatorId) =>
      emulator
        .dmsTo(operatorId)
        .map((message) =>
          [message.content, ...message.embeds.map((embed) => JSON.stringify(embed))].join('\n'),
        )
        .join('\n'),
    cleanup: () => emulator.close(),
  };
});
