import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';

/** The keys and arguments of one script call. */
export interface ScriptCall {
  readonly keys: readonly string[];
  readonly arguments: readonly string[];
}

/**
 * A Lua script called by its SHA-1 (`EVALSHA`), sent whole (`EVAL`) only when the server does not
 * have it yet (`NOSCRIPT`: after a restart, a failover, or `SCRIPT FLUSH`), as node-redis'
 * `defineScript` does. The script text stays off the wire on every later call, and the server does
 * not hash it again. The relay's clients are created in one place for every store (see
 * `connectRedis`), so the scripts are defined here rather than at client creation.
 *
 * A `NOSCRIPT` reply means nothing ran: sending the same call again with `EVAL` cannot run a
 * script twice.
 */
export class LuaScript {
  /** The script's text, as `EVAL` sends it. */
  public readonly source: string;
  /** Its SHA-1 in hex, as `EVALSHA` names it. */
  public readonly sha1: string;

  public constructor(source: string) {
    this.source = source;
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script on `client`: `EVALSHA`, then `EVAL` after a `NOSCRIPT` reply. */
  public async run(client: RedisClient, call: ScriptCall): Promise<unknown> {
    const options = { keys: [...call.keys], arguments: [...call.arguments] };
    try {
      return await client.evalSha(this.sha1, options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, options);
    }
  }
}
