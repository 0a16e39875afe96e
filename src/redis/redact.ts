/**
 * A Redis URL fit for a log line: the password (and a user name, which can be a secret too) become
 * `***`. An unparsable URL is not echoed at all.
 */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[unparsable url]';
  }
  if (parsed.username !== '') parsed.username = '***';
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

/** What may be logged of a Redis error. */
export interface RedisErrorFields {
  readonly name: string;
  /** Without the URL, its user or its password (raw or decoded). */
  readonly message: string;
  /** The error's code (`ECONNREFUSED`, `WRONGPASS`), when it has one. Not `code`: the relay's log redaction censors every `*.code` (it is meant for SMS codes). */
  readonly errorCode?: string;
}

/**
 * The name, code and message of a connection error, with any trace of `url`'s secrets removed from
 * the message: node-redis messages hold host and port at most, but a message is never trusted to.
 */
export function describeRedisError(error: unknown, url: string | undefined): RedisErrorFields {
  if (!(error instanceof Error)) return { name: typeof error, message: 'not an Error' };
  const code = (error as { code?: unknown }).code;
  const message = urlSecrets(url).reduce((text, secret) => text.split(secret).join('***'), error.message);
  return { name: error.name, message, ...(typeof code === 'string' ? { errorCode: code } : {}) };
}

/** The whole URL, its user and its password, raw and decoded, longest first. */
function urlSecrets(url: string | undefined): string[] {
  if (url === undefined) return [];
  const secrets = [url];
  try {
    const { username, password } = new URL(url);
    for (const part of [username, password]) {
      secrets.push(part);
      try {
        secrets.push(decodeURIComponent(part));
      } catch {
        // Not valid percent-encoding: the raw form is already listed.
      }
    }
  } catch {
    // Unparsable: the whole URL, already listed, is all there is to scrub.
  }
  // Longest first, so that a password is not half-replaced through a shorter user name inside it.
  return secrets.filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
}
