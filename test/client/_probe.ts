import { createClient, type RedisClientType } from 'redis';
import { createClient as cc2 } from '@redis/client';
import type { TokenClientRedis } from '../../src/client/redis-connection.js';
import type { Logger } from '../../src/log.js';
interface L { debug(f: Record<string, unknown>, m: string): void; warn(f: Record<string, unknown>, m: string): void; error(f: Record<string, unknown>, m: string): void }
const a: TokenClientRedis = createClient({ url: 'x' });
const b: TokenClientRedis = createClient({ url: 'x', RESP: 3 });
const e: TokenClientRedis = cc2({ url: 'x' });
const g: TokenClientRedis = createClient({ url: 'x', RESP: 3 }) as RedisClientType;
declare const p: Logger;
const l1: L = p; const l2: L = console;
void a; void b; void e; void g; void l1; void l2;
