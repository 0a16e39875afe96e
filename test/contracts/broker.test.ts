import { EtnaBroker } from '../../src/broker/etna-client.js';
import { Secret } from '../../src/shared/secret.js';
import { startEtnaServer } from '../fakes/etna.js';
import { ScriptedBroker } from '../fakes/scripted-broker.js';
import { brokerContract } from './broker.contract.js';

// The scripted broker answers `valid` to any token, issued or not, and ignores AbortSignals: it
// cannot show those two promises, and its answers can only be changed by re-scripting its mocks,
// which would test the script rather than the broker. Those checks run against EtnaBroker only.
brokerContract('ScriptedBroker', { tellTokens: false, abort: false, fail: false }, async () => {
  const broker = new ScriptedBroker();
  return {
    broker,
    sentCode: () => '123456',
    wrongCode: () => '000000',
    codesReceived: () => broker.submittedCodes,
  };
});

for (const wrongCodeBurnsInterim of [true, false]) {
  brokerContract(
    `EtnaBroker against the sandbox broker over HTTP (a wrong code ${wrongCodeBurnsInterim ? 'burns' : 'keeps'} the interim)`,
    { tellTokens: true, abort: true, fail: true },
    async () => {
      const server = await startEtnaServer({ host: '127.0.0.1', wrongCodeBurnsInterim });
      const { appKey, username, password } = server.settings;
      const broker = new EtnaBroker({
        apiUrl: server.url,
        appKey: new Secret(appKey),
        username,
        password: new Secret(password),
      });
      const sentCode = (): string => {
        const code = server.lastCode;
        if (code === undefined) throw new Error('no code was sent');
        return code;
      };
      return {
        broker,
        sentCode,
        // Another code of the same length: the first digit moved on by one.
        wrongCode: () => `${(Number(sentCode()[0]) + 1) % 10}${sentCode().slice(1)}`,
        codesReceived: () => server.codesSubmitted,
        failNext: (calls) => server.failNext(calls, { status: 503 }),
        cleanup: async () => {
          await server.close();
          await broker.close();
        },
      };
    },
  );
}
