/**
 * A bot whose REDIS_URL Redis's ACL refuses ends its start at once, with an error that names the
 * cause and the fix, rather than retrying until its time-out with no cause (against a redis-server
 * with deploy/redis's ACL users, as docker-compose.yml runs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenClient, TokenClientAuthError } from '../../src/client/index.js';
import {
  renderAcl,
  startRedisServer,
  testPasswords,
  userUrl,
  type RedisServer,
  type RenderedAcl,
} from '../ops/redis-server.js';

let server: RedisServer | undefined;
let acl: RenderedAcl | undefined;
let passwords: { relay: string; bot: string };

beforeAll(async () => {
  passwords = testPasswords();
  acl = await renderAcl(passwords);
  server = await startRedisServer({ aclFile: acl.path });
});

afterAll(async () => {
  await server?.stop();
  await acl?.remove();
});

/** What `start()` rejects with, and how long it took. */
async function startWith(redisUrl: string, options: { prefix?: string } = {}) {
  try {
    // Without the fix, the start retries until this signal: a time-out with no cause.
    const tokens = await createTokenClient(
      { redisUrl, shareConnections: false, ...options },
      { signal: AbortSignal.timeout(15_000) },
    );
    await tokens.close();
    return { error: undefined };
  } catch (error) {
    return { error };
  }
}

describe('a bot refused by Redis', () => {
  it('without a user and password (NOAUTH): says to give the bot user in REDIS_URL', async () => {
    const { error } = await startWith(`redis://127.0.0.1:${server!.port}`);
    expect(error).toBeInstanceOf(TokenClientAuthError);
    expect(error).toMatchObject({ problem: 'no-auth' });
    expect(String((error as Error).message)).toMatch(/NOAUTH.*redis:\/\/bot:/s);
  });

  it('with a wrong password (WRONGPASS): says to check the user and password', async () => {
    const { error } = await startWith(userUrl(server!, 'bot', 'not-the-password'));
    expect(error).toMatchObject({ name: 'TokenClientAuthError', problem: 'wrong-password' });
    expect(String((error as Error).message)).toMatch(/WRONGPASS/);
    expect(String((error as Error).message)).not.toContain('not-the-password');
  });

  it('reading keys it may not (NOPERM): names the key prefix to check', async () => {
    const { error } = await startWith(userUrl(server!, 'bot', passwords.bot), { prefix: 'someone-else' });
    expect(error).toMatchObject({ name: 'TokenClientAuthError', problem: 'no-permission' });
    expect(String((error as Error).message)).toMatch(/NOPERM.*RELAY_KEY_PREFIX/s);
  });

  it('with the bot user, starts', async () => {
    const { error } = await startWith(userUrl(server!, 'bot', passwords.bot));
    expect(error).toBeUndefined();
  });
});
