import { errorFields, type Logger } from '../shared/log.js';
import type { RedisClient } from '../redis/connect.js';

/** How long a token write waits for a replica by default: a healthy replica acknowledges in ms. */
export const REPLICA_WAIT_DEFAULT_MS = 1_000;

/** What {@link waitForReplica} found. */
export interface ReplicaAck {
  /** Replicas the master lists (`ROLE`); 0 on a Redis without replicas, or when not a master. */
  readonly replicas: number;
  /** Replicas that acknowledged this connection's writes within the wait (`WAIT 1 <ms>`). */
  readonly acknowledged: number;
}

/**
 * Waits until one replica has every write this connection made (`WAIT 1 <timeoutMs>`), when the
 * master has replicas (`ROLE`); returns at once on a Redis without replicas, where `WAIT` would
 * only sit out its timeout. Replication stays asynchronous: this narrows, not closes, the window in
 * which a failover right after a write loses it (the relay writes the token back then).
 */
export async function waitForReplica(client: RedisClient, timeoutMs: number): Promise<ReplicaAck> {
  const role = await client.sendCommand(['ROLE']);
  const replicas = Array.isArray(role) && role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
  if (replicas === 0 || !(timeoutMs > 0)) return { replicas, acknowledged: 0 };
  const acknowledged = await client.sendCommand(['WAIT', '1', String(Math.ceil(timeoutMs))]);
  return { replicas, acknowledged: typeof acknowledged === 'number' ? acknowledged : 0 };
}

/**
 * {@link waitForReplica} after a token write that already landed on the master: a replica that does
 * not acknowledge in time, or a failed `WAIT`, is logged (warn), never thrown, since the write itself
 * succeeded and must not be retried under a new generation.
 */
export async function confirmReplicated(
  client: RedisClient,
  timeoutMs: number,
  logger: Logger | undefined,
  generation: number,
): Promise<void> {
  if (!(timeoutMs > 0)) return;
  try {
    const ack = await waitForReplica(client, timeoutMs);
    if (ack.replicas > 0 && ack.acknowledged < 1) {
      logger?.warn(
        { generation, replicas: ack.replicas, waitedMs: timeoutMs },
        'no replica acknowledged the token write in time; a failover now could lose it (it would be written back)',
      );
    }
  } catch (error) {
    logger?.warn(
      { generation, err: errorFields(error) },
      'could not wait for a replica after the token write',
    );
  }
}
