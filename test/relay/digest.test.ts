import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  configFingerprint,
  configFingerprintAsync,
  credentialsDigest,
  sameCredentials,
} from '../../src/relay/digest.js';
import { Secret } from '../../src/shared/secret.js';

const creds = (password: string) => [new Secret('app-key'), new Secret('user'), new Secret(password)];
const COST = 2 ** 8;

describe("a halt's credentials digest", () => {
  it('is scrypt with its cost and salt: it tells the same credentials from changed ones', () => {
    const digest = credentialsDigest(creds('hunter2'), COST);
    expect(digest).toMatch(/^s1\.256\.[\w-]+\.[\w-]+$/);
    expect(sameCredentials(digest, creds('hunter2'))).toBe(true);
    expect(sameCredentials(digest, creds('hunter3'))).toBe(false);
    expect(sameCredentials(digest, [new Secret('app-key'), new Secret('userhunter2')])).toBe(false);
    for (const part of ['app-key', 'user', 'hunter2']) expect(digest).not.toContain(part);
  });

  it('is salted: two digests of the same credentials differ', () => {
    expect(credentialsDigest(creds('x'), COST)).not.toBe(credentialsDigest(creds('x'), COST));
  });

  it('still reads a halt an older relay kept (`<salt>.<hmac>`)', () => {
    const hmac = createHmac('sha256', 'salt');
    for (const part of creds('hunter2')) hmac.update(`${part.reveal().length}:${part.reveal()}\u0000`);
    const old = `salt.${hmac.digest('base64url')}`;
    expect(sameCredentials(old, creds('hunter2'))).toBe(true);
    expect(sameCredentials(old, creds('hunter3'))).toBe(false);
  });

  it.each([
    undefined,
    '',
    'garbage',
    's1.256..key',
    's1.255.salt.key',
    's1.0.salt.key',
    `s1.${2 ** 24}.salt.key`,
    's1.abc.salt.key',
  ])('refuses %o: unknown, never "the same"', (digest) => {
    expect(sameCredentials(digest, creds('hunter2'))).toBe(false);
  });
});

describe('configFingerprint on the thread pool', () => {
  it('is the same string as the synchronous one, and differs with any part', async () => {
    const parts = ['codeTimeoutMs=300000', 'broker=https://example.test/api/'];
    const sync = configFingerprint('live', creds('hunter2'), parts, COST);
    expect(await configFingerprintAsync('live', creds('hunter2'), parts, COST)).toBe(sync);
    expect(await configFingerprintAsync('paper', creds('hunter2'), parts, COST)).not.toBe(sync);
    expect(await configFingerprintAsync('live', creds('hunter3'), parts, COST)).not.toBe(sync);
  });
});
