import { createHmac, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../shared/secret.js';

/**
 * A digest of the credentials a halt was caused by, kept with the halt so that `/login` can tell
 * whether they changed, without storing them. (Codes have their own, in login/code.ts.)
 *
 * scrypt, not a plain keyed hash: anyone who can read the halt's key and knows the app key could
 * otherwise try passwords offline at billions a second; scrypt makes each try cost milliseconds and
 * megabytes. A relay makes one digest (at its first halt) and checks one per `/login` while halted:
 * synchronous, so a login's flow never waits on the thread pool for it.
 */

/**
 * scrypt's default cost N. With r = 1 and p = 8 a digest takes 2^14 × 128 bytes (2 MiB) and about
 * as much CPU as the usual r = 8, p = 1 (16 MiB): the relay makes one at start (its configuration's
 * fingerprint), and 16 MiB there stayed in its resident memory for good.
 */
export const DEFAULT_DIGEST_COST = 2 ** 14;
const SCRYPT_R = 1;
const SCRYPT_P = 8;
const KEY_BYTES = 32;
/** The digests' form: `s1.<N>.<salt>.<key>`, base64url. Earlier halts kept `<salt>.<hmac>`. */
const VERSION = 's1';

/** Parts as one string: each with its length, so no two lists join alike. */
function joined(parts: readonly (Secret | string)[]): string {
  const texts = parts.map((part) => (typeof part === 'string' ? part : part.reveal()));
  return texts.map((text) => `${text.length}:${text}\u0000`).join('');
}

function scryptOptions(cost: number) {
  return { N: cost, r: SCRYPT_R, p: SCRYPT_P, maxmem: 256 * cost * SCRYPT_R };
}

function scryptKey(parts: readonly (Secret | string)[], salt: string, cost: number): Buffer {
  return scryptSync(joined(parts), salt, KEY_BYTES, scryptOptions(cost));
}

/** {@link scryptKey} on the thread pool: the same key, while the event loop goes on. */
function scryptKeyAsync(parts: readonly (Secret | string)[], salt: string, cost: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(joined(parts), salt, KEY_BYTES, scryptOptions(cost), (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

/**
 * A digest of the broker credentials (`s1.<N>.<salt>.<key>`), kept with a halt. `cost` is scrypt's
 * N (a power of two); the digest carries it, so any relay can check it.
 */
export function credentialsDigest(
  credentials: readonly Secret[],
  cost: number = DEFAULT_DIGEST_COST,
  salt: string = randomBytes(16).toString('base64url'),
): string {
  return `${VERSION}.${cost}.${salt}.${scryptKey(credentials, salt, cost).toString('base64url')}`;
}

/** Whether `digest` (from {@link credentialsDigest}, or an earlier relay's HMAC) was made from `credentials`. */
export function sameCredentials(digest: string | undefined, credentials: readonly Secret[]): boolean {
  const parts = digest?.split('.') ?? [];
  const [version, costText, salt, key] = parts;
  if (parts.length === 4 && version === VERSION && salt !== undefined && salt !== '' && key !== undefined) {
    const cost = Number(costText);
    // A cost out of bounds is no digest of ours (and must not make this relay spend gigabytes).
    if (!Number.isInteger(cost) || cost < 2 || cost > 2 ** 20 || (cost & (cost - 1)) !== 0) return false;
    const expected = Buffer.from(key, 'base64url');
    const actual = scryptKey(credentials, salt, cost);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  // A halt saved by a relay from before scrypt: `<salt>.<hmac>`, still compared (it only reads).
  if (parts.length === 2 && version !== undefined && version !== '') {
    return createHmac('sha256', version).update(joined(credentials)).digest('base64url') === costText;
  }
  return false;
}

/**
 * A digest of one relay's login-relevant configuration: its credentials, and `settings` (broker URL,
 * code rules, limits, as text). The same on every replica configured alike (the salt is the
 * account's, not random), so replicas compare it; scrypt, as for a halt's digest, so that it gives
 * no fast way to try passwords.
 */
export function configFingerprint(
  account: string,
  credentials: readonly Secret[],
  settings: readonly string[],
  cost: number = DEFAULT_DIGEST_COST,
): string {
  return `c1.${scryptKey([...credentials, ...settings], `otp-relay/config/${account}`, cost).toString('base64url')}`;
}

/**
 * {@link configFingerprint}, the same string, computed on the thread pool: a relay of many accounts
 * computes each one's while its connections open, rather than one after another before them.
 */
export function configFingerprintAsync(
  account: string,
  credentials: readonly Secret[],
  settings: readonly string[],
  cost: number = DEFAULT_DIGEST_COST,
): Promise<string> {
  const next = fingerprints.then(() =>
    scryptKeyAsync([...credentials, ...settings], `otp-relay/config/${account}`, cost),
  );
  fingerprints = next.catch(() => undefined);
  return next.then((key) => `c1.${key.toString('base64url')}`);
}

/**
 * The fingerprints on the thread pool run one after another: each takes 2 MiB, and several at once
 * would each leave a thread's allocator holding its own (resident memory that stays).
 */
let fingerprints: Promise<unknown> = Promise.resolve();
