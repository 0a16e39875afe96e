/**
 * The relay as a process, given its environment (src/main.ts reads it): environment → Config →
 * adapters (src/app.ts) → relay; signals and shutdown; the exit status.
 */
import { ConfigError, loadConfig } from './config/index.js';
import { installLastResortHandlers, Shutdown } from './lifecycle.js';
import { createLogger, errorFields } from './shared/log.js';

/**
 * Runs the relay until a signal or a fatal error stops it; never rejects. A configuration error is
 * printed (exit status 2) before anything heavy is loaded: src/app.ts, and discord.js, @redis/client
 * and undici with it, are imported only once the configuration is known to be good.
 */
export async function runRelayProcess(env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await run(env);
  } catch (error) {
    // Only the error's name and message: a stack or cause could carry what a client sent.
    process.stderr.write(`otp-relay: fatal: ${JSON.stringify(errorFields(error))}\n`);
    process.exit(1);
  }
}

async function run(env: NodeJS.ProcessEnv): Promise<void> {
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(
        `otp-relay: cannot start\n${error.message}\n(For a try-out with no accounts: npm run demo, or SANDBOX=true npm start)\n`,
      );
      process.exitCode = 2;
      return;
    }
    throw error;
  }

  const logger = createLogger({ level: config.logLevel });
  const exit = (code: number): void => process.exit(code);
  installLastResortHandlers(process, logger, exit);

  const { shutdownDeadlineMs, startRelay } = await import('./app.js');
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
