import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that pino censors in every log line. A backstop only: secrets are {@link Secret}s that
 * print as `[redacted]`, and no message string is built from a secret in the first place.
 */
export const REDACTED_PATHS = [
  'password',
  'token',
  'code',
  'appKey',
  'pin',
  'interim',
  'authorization',
  '*.password',
  '*.token',
  '*.code',
  '*.appKey',
  '*.pin',
  '*.interim',
  '*.authorization',
  'headers.authorization',
  'headers["et-app-key"]',
  'headers.password',
  'headers.verificationcode',
  'headers.pincode',
] as const;

/** Options of {@link createLogger}. */
export interface LoggerFactoryOptions {
  /** pino level name: `trace`, `debug`, `info`, `warn`, `error`, `fatal` or `silent`. */
  level: string;
  /** Where lines go; standard output when omitted. */
  destination?: DestinationStream;
}

/**
 * Creates the relay's pino JSON logger with its redaction backstop. Without a `destination`, lines
 * go to standard output asynchronously: a line is handed to the OS off the event loop, in order,
 * as soon as it is logged (no batching delay). A synchronous write blocks the relay whenever the
 * reader of its output (a container runtime, a terminal, a parent process) is slow to drain the
 * pipe, and that blocking sat between an operator's code and the bots. pino flushes what is left
 * when the process exits (also on `process.exit()`); only a kill -9 can lose the last lines.
 */
export function createLogger(options: LoggerFactoryOptions): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level,
    base: { service: 'otp-relay' },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  };
  return pino(pinoOptions, options.destination ?? pino.destination({ dest: 1, sync: false }));
}

/**
 * An error as a log field: its name and message only. Stacks and causes stay out of the logs because
 * a cause (an HTTP client's, say) may carry what was sent.
 */
export function errorFields(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: typeof error, message: 'non-error thrown' };
}
