import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { redisFacts } from './redis.js';

export interface Machine {
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly redis: string;
  readonly redisMaxclients: number;
  readonly openFilesLimit: string;
  readonly loadAverage: readonly number[];
}

export async function describeMachine(): Promise<Machine> {
  const redis = await redisFacts();
  let openFilesLimit = 'unknown';
  try {
    openFilesLimit = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {
    // Not a POSIX shell: left unknown.
  }
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redis.version,
    redisMaxclients: redis.maxclients,
    openFilesLimit,
    loadAverage: os.loadavg(),
  };
}
