import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialsDigest, sameCredentials } from '../../src/relay/digest.js';
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
