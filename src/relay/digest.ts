import { createHmac, randomBytes } from 'node:crypto';
import { Secret } from '../shared/secret.js';

/**
 * Keyed hashes that let relays compare secrets without storing them: a code already tried for a
 * login, the credentials a halt was caused by. HMAC-SHA256, so a stored digest reveals nothing about
 * a 4-to-8-digit code without the key (a plain hash of a 6-digit code is reversed by trying a
 * million values).
 */

/** A new random key for one login's code digests (32 bytes, base64url). A secret. */
export function newDigestKey(): Secret {
  return new Secret(randomBytes(32).toString('base64url'));
}

/** The digest of `code` under a login's `key`: what `triedCodes` holds. */
export function codeDigest(key: Secret, code: Secret): string {
  return createHmac('sha256', key.reveal()).update(code.reveal()).digest('base64url');
}

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
