import { createLogger, type Logger } from '../../src/shared/log.js';

/** A real pino logger whose lines are kept, parsed, for assertions. */
export interface CapturedLog {
  readonly logger: Logger;
  /** Every line, as written (to check that a secret appears nowhere). */
  readonly text: () => string;
  /** Every line, parsed. */
  readonly lines: () => Record<string, unknown>[];
}

export function captureLog(): CapturedLog {
  const raw: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => raw.push(line) } });
  return {
    logger,
    text: () => raw.join(''),
    lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
