/**
 * The bare baseline of "answer to token" (a child process of the bench): what the relay does
 * between an operator's answer and the bots' event, with nothing else. A bare discord.js client,
 * configured as the relay's (DM intent, channel partials), logged into a Discord emulator of its
 * own: on the operator's DM it sends broker step 2 with undici, writes keyv's envelope with
 * SET … PX and PUBLISHes `token.updated`.
 *
 * Protocol on the WebSocket at BENCH_WS_URL (the bench's control line, outside any timing):
 * `{"type":"prepare"}` → step 1, answered `{"type":"prepared"}`; after the DM's round,
 * `{"type":"done"}` (or `{"type":"error"}`). The client is ready when the socket opens.
 */
import { once } from 'node:events';
import { createClient } from '@redis/client';
import { Client, Events, GatewayIntentBits, Partials } from 'discord.js';
import { Agent, request } from 'undici';
import WebSocket from 'ws';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`bare-answer: ${name} is not set`);
  return value;
};

const tokenUrl = new URL('token', env('ETNA_API_URL'));
const baseHeaders = {
  Accept: 'application/json',
  'Et-App-Key': env('ETNA_APP_KEY'),
  Username: env('ETNA_USERNAME'),
  Password: env('ETNA_PASSWORD'),
  'Content-Length': '0',
};
const tokenKey = env('BENCH_TOKEN_KEY');
const eventsChannel = env('BENCH_EVENTS_CHANNEL');
const account = env('RELAY_ACCOUNT');
const tokenLifetimeMs = Number(env('BENCH_TOKEN_LIFETIME_MS'));

// The relay's broker client also sends through an Agent of its own, keeping its sockets alive.
const agent = new Agent({ connect: { timeout: 15_000 }, headersTimeout: 15_000, bodyTimeout: 15_000 });
const redis = createClient({ url: env('REDIS_URL') });
redis.on('error', () => undefined);
await redis.connect();

let interim: string | undefined;
let generation = 0;

async function post(headers: Record<string, string>): Promise<{ Token?: string; State?: string }> {
  const response = await request(tokenUrl, { dispatcher: agent, method: 'POST', headers });
  return (await response.body.json()) as { Token?: string; State?: string };
}

async function prepare(): Promise<void> {
  const answer = await post(baseHeaders);
  if (answer.Token === undefined) throw new Error('bare-answer: step 1 gave no interim token');
  interim = answer.Token;
}

async function answer(code: string): Promise<void> {
  if (!/^\d{4,8}$/.test(code) || interim === undefined) throw new Error('bare-answer: no login to answer');
  const answer = await post({ ...baseHeaders, Authorization: `Bearer ${interim}`, VerificationCode: code });
  interim = undefined;
  if (answer.State !== 'Succeeded' || answer.Token === undefined)
    throw new Error('bare-answer: step 2 failed');
  generation += 1;
  const obtainedAtMs = Date.now();
  const expiresAtMs = obtainedAtMs + tokenLifetimeMs;
  const expiresAt = new Date(expiresAtMs).toISOString();
  const envelope = JSON.stringify({
    value: {
      token: answer.Token,
      account,
      generation,
      obtainedAt: new Date(obtainedAtMs).toISOString(),
      expiresAt,
    },
    expires: expiresAtMs,
  });
  await redis.sendCommand(['SET', tokenKey, envelope, 'PX', String(expiresAtMs - Date.now())]);
  await redis.sendCommand([
    'PUBLISH',
    eventsChannel,
    JSON.stringify({ type: 'token.updated', generation, expiresAt }),
  ]);
}

const operatorId = env('BENCH_OPERATOR_ID');
const discord = new Client({
  intents: [GatewayIntentBits.DirectMessages],
  partials: [Partials.Channel],
  rest: { api: env('DISCORD_API_URL') },
});
await Promise.all([once(discord, Events.ClientReady), discord.login(env('DISCORD_TOKEN'))]);

const socket = new WebSocket(env('BENCH_WS_URL'));
const reply = (work: Promise<void>, done: string): void => {
  work.then(
    () => socket.send(JSON.stringify({ type: done })),
    (error: unknown) => socket.send(JSON.stringify({ type: 'error', message: String(error) })),
  );
};
discord.on(Events.MessageCreate, (message) => {
  if (message.author.id !== operatorId || message.guildId !== null) return;
  reply(answer(message.content.trim()), 'done');
});
socket.on('message', (data: Buffer) => {
  const message = JSON.parse(data.toString('utf8')) as { type: string };
  if (message.type === 'prepare') reply(prepare(), 'prepared');
});
socket.on('close', () => {
  void Promise.allSettled([redis.close(), agent.close(), discord.destroy()]).then(() => process.exit(0));
});
