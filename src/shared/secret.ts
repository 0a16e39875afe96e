import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A secret value (password, app key, Discord token, interim or final broker token, verification code).
 *
 * The value lives in a `#private` field: `String(secret)`, template literals, `JSON.stringify`,
 * `util.inspect` and pino all print `[redacted]`. Only {@link Secret.reveal} gives the value, and
 * it is called only where the value leaves the process on purpose (an HTTP header, a Redis write).
 */
export class Secret {
  readonly #value: string;

  public constructor(value: string) {
    this.#value = value;
  }

  /** The secret value itself. Call it only at the edge that sends it. */
  public reveal(): string {
    return this.#value;
  }

  /** Whether two secrets hold the same value, without revealing either. */
  public equals(other: Secret): boolean {
    return this.#value === other.#value;
  }

  public toString(): string {
    return REDACTED;
  }

  public toJSON(): string {
    return REDACTED;
  }

  public [inspect.custom](): string {
    return REDACTED;
  }
}
