import { createHmac, randomBytes } from 'node:crypto';
import type { Secret } from '../shared/secret.js';

/**
 * A keyed hash that lets relays compare the credentials a halt was caused by without storing them.
 * (Codes have their own, in login/code.ts.)
 */

/**
 * A digest of the broker credentials (`<salt>.<hmac>`), kept with a halt. With `salt` from an
 * earlier digest it recomputes that one, so two digests compare equal exactly when the credentials
 * are the same. The parts are joined with a separator no credential is hashed with on its own.
 */
export function credentialsDigest(
  credentials: readonly Secret[],
  salt: string = randomBytes(16).toString('base64url'),
): string {
  const hmac = createHmac('sha256', salt);
  for (const part of credentials) hmac.update(`${part.reveal().length}:${part.reveal()}\u0000`);
  return `${salt}.${hmac.digest('base64url')}`;
}

/** Whether `digest` (from {@link credentialsDigest}) was made from `credentials`. */
export function sameCredentials(digest: string | undefined, credentials: readonly Secret[]): boolean {
  if (digest === undefined) return false;
  const salt = digest.split('.')[0] ?? '';
  return salt !== '' && credentialsDigest(credentials, salt) === digest;
}
