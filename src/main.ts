/**
 * The composition root: environment → Config → adapters → relay; signals and shutdown.
 * The only module (with the demo) that reads `process.env`.
 */
import { existsSync } from 'node:fs';
import { startRelay } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger, errorFields } from './log.js';

/** Shutdown must finish within this, or the process exits anyway (orchestrators wait ~10 s). */
const SHUTDOWN_DEADLINE_MS = 9_000;

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
  const relay = await startRelay(config, logger);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    relay.stop().then(
      () => {
        logger.info('stopped');
        process.exitCode = 0;
      },
      (error: unknown) => {
        logger.error({ err: errorFields(error) }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  // Only the error's name and message: a stack or cause could carry what a client sent.
  process.stderr.write(`otp-relay: fatal: ${JSON.stringify(errorFields(error))}\n`);
  process.exit(1);
});
