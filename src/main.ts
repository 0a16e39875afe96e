/**
 * The composition root: environment → Config → adapters → relay; signals and shutdown.
 * The only module (with the demo) that reads `process.env`.
 */
import { existsSync } from 'node:fs';
import { shutdownDeadlineMs, startRelay } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { installLastResortHandlers, Shutdown } from './lifecycle.js';
import { createLogger, errorFields } from './shared/log.js';

async function main(): Promise<void> {
  // A .env file is a convenience for one machine; real environment variables win over it.
  if (existsSync('.env')) process.loadEnvFile('.env');

  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(
        `otp-relay: cannot start\n${error.message}\n(For a try-out with no accounts: npm run demo)\n`,
      );
      process.exitCode = 2;
      return;
    }
    throw error;
  }

  const logger = createLogger({ level: config.logLevel });
  const exit = (code: number): void => process.exit(code);
  installLastResortHandlers(process, logger, exit);

  // Longer than a code exchange with the broker can take, so that SIGTERM during step 2 still
  // publishes the token a human's code bought. The orchestrator's grace period must exceed it.
  const shutdown = new Shutdown({ logger, deadlineMs: shutdownDeadlineMs(), exit });
  const onSignal = (signal: NodeJS.Signals): void => shutdown.request({ signal }, 0);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const relay = await startRelay(config, logger, {
    onFatal: (error) => shutdown.request({ fatal: error }, 1),
  });
  shutdown.attach(relay);
}

main().catch((error: unknown) => {
  // Only the error's name and message: a stack or cause could carry what a client sent.
  process.stderr.write(`otp-relay: fatal: ${JSON.stringify(errorFields(error))}\n`);
  process.exit(1);
});
