/**
 * How the composition root ends the process: a shutdown with a deadline (on a signal, or when a
 * part of the relay failed for good), and the last-resort handlers for errors nothing else caught.
 */
import { errorFields, type Logger } from './shared/log.js';

/** What the shutdown stops. */
export interface StoppableRelay {
  /** Stops everything, in order; resolves once done. */
  stop(): Promise<void>;
  /** What the stop has not finished yet (no secret), for the log when the deadline passes. */
  unfinished(): Record<string, unknown>;
}

/** The part of `process` the handlers are installed on. */
export interface ProcessEvents {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  on(event: 'uncaughtException', listener: (error: Error) => void): unknown;
}

/** Options of {@link Shutdown}. */
export interface ShutdownOptions {
  logger: Logger;
  /** The longest a shutdown may take before the process exits anyway (exit code 1). */
  deadlineMs: number;
  /** Ends the process: `process.exit` unless a test needs to watch it. */
  exit: (code: number) => void;
}

/**
 * One shutdown of the process, whatever asks for it first: a signal (exit code 0 once stopped) or a
 * failure for good, such as Discord closing the gateway (exit code 1, so that an orchestrator
 * restarts the relay or a person looks). Later requests only raise the exit code. A request that
 * comes before the relay is attached (while it starts) is carried out as soon as it is; the deadline
 * runs from the first request either way.
 */
export class Shutdown {
  readonly #options: ShutdownOptions;
  #relay: StoppableRelay | undefined;
  #exitCode: number | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #started = false;

  public constructor(options: ShutdownOptions) {
    this.#options = options;
  }

  /** The relay to stop; carries out a request that came before it. */
  public attach(relay: StoppableRelay): void {
    this.#relay = relay;
    if (this.#exitCode !== undefined) this.#begin(relay);
  }

  /**
   * Asks for the shutdown: `why` is logged (a signal's name, or a failure as `errorFields`), and the
   * process exits with `exitCode` once the relay stopped, or with 1 at the deadline.
   */
  public request(why: { signal: string } | { fatal: unknown }, exitCode: number): void {
    const { logger } = this.#options;
    if ('signal' in why) logger.info({ signal: why.signal }, 'shutting down');
    else logger.fatal({ err: errorFields(why.fatal) }, 'a part of the relay failed for good; shutting down');
    this.#exitCode = Math.max(this.#exitCode ?? 0, exitCode);
    this.#armDeadline();
    if (this.#relay !== undefined) this.#begin(this.#relay);
  }

  #armDeadline(): void {
    if (this.#deadline !== undefined) return;
    const { logger, deadlineMs, exit } = this.#options;
    this.#deadline = setTimeout(() => {
      const relay = this.#relay;
      logger.error(
        { deadlineMs, unfinished: relay === undefined ? { start: 'not finished' } : safeUnfinished(relay) },
        'shutdown took too long; exiting without finishing',
      );
      exit(1);
    }, deadlineMs);
    // The deadline alone must not keep the process up.
    this.#deadline.unref();
  }

  #begin(relay: StoppableRelay): void {
    if (this.#started) return;
    this.#started = true;
    const { logger, exit } = this.#options;
    relay.stop().then(
      () => {
        clearTimeout(this.#deadline);
        logger.info('stopped');
        exit(this.#exitCode ?? 0);
      },
      (error: unknown) => {
        clearTimeout(this.#deadline);
        logger.error({ err: errorFields(error), unfinished: safeUnfinished(relay) }, 'shutdown failed');
        exit(1);
      },
    );
  }
}

/**
 * Installs the handlers of last resort: an unhandled rejection or an uncaught exception is a bug,
 * after which the relay's state cannot be trusted. It is logged (name and message only: a stack or
 * cause may carry what a client sent) and the process exits with 1 at once.
 */
export function installLastResortHandlers(
  events: ProcessEvents,
  logger: Logger,
  exit: (code: number) => void,
): void {
  events.on('unhandledRejection', (reason) => {
    logger.fatal({ err: errorFields(reason) }, 'unhandled promise rejection; exiting');
    exit(1);
  });
  events.on('uncaughtException', (error) => {
    logger.fatal({ err: errorFields(error) }, 'uncaught exception; exiting');
    exit(1);
  });
}

function safeUnfinished(relay: StoppableRelay): Record<string, unknown> {
  try {
    return relay.unfinished();
  } catch (error) {
    return { unknown: errorFields(error) };
  }
}
