import { once } from 'node:events';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  GatewayCloseCodes,
  GatewayDispatchEvents,
  GatewayIntentBits,
  GatewayOpcodes,
  InteractionContextType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  MessageReferenceType,
  MessageType,
} from 'discord-api-types/v10';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  InteractionTimeoutError,
  startDiscordEmulator,
  type DiscordEmulator,
} from '../fakes/discord/index.js';

/** The emulator's own contract, spoken to by hand (REST with fetch, the gateway with ws). */
describe('Discord emulator', () => {
  let emulator: DiscordEmulator;
  const sockets: WebSocket[] = [];

  beforeEach(async () => {
    emulator = await startDiscordEmulator({ interactionTimeoutMs: 200 });
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await emulator.close();
  });

  interface Frame {
    op: number;
    t: string | null;
    s: number | null;
    d: Record<string, unknown> | null;
  }

  /** A hand-driven gateway connection that queues the frames it receives. */
  async function connect(path = '/gateway'): Promise<{
    socket: WebSocket;
    /** The next frame with opcode `match`, or the next dispatch named `match`. */
    next: (match?: number | string) => Promise<Frame>;
    send: (op: number, d: unknown) => void;
    closed: Promise<number>;
  }> {
    const socket = new WebSocket(`${emulator.gatewayUrl.replace('/gateway', path)}?v=10&encoding=json`);
    sockets.push(socket);
    const frames: Frame[] = [];
    const waiting: (() => void)[] = [];
    socket.on('message', (raw: Buffer) => {
      frames.push(JSON.parse(raw.toString()) as Frame);
      waiting.splice(0).forEach((wake) => wake());
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
    await once(socket, 'open');
    const next = async (match?: number | string): Promise<Frame> => {
      for (;;) {
        const index = frames.findIndex(
          (frame) =>
            match === undefined || (typeof match === 'number' ? frame.op === match : frame.t === match),
        );
        if (index >= 0) return frames.splice(index, 1)[0]!;
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
    };
    const send = (op: number, d: unknown): void => socket.send(JSON.stringify({ op, d }));
    return { socket, next, send, closed };
  }

  async function identify(intents: number = GatewayIntentBits.DirectMessages) {
    const connection = await connect();
    const hello = await connection.next(GatewayOpcodes.Hello);
    expect(hello.d?.heartbeat_interval).toBe(41_250);
    connection.send(GatewayOpcodes.Identify, {
      token: emulator.botToken,
      intents,
      properties: { os: 'linux', browser: 'test', device: 'test' },
      shard: [0, 1],
    });
    const ready = await connection.next(GatewayOpcodes.Dispatch);
    return { ...connection, ready };
  }

  it('serves REST under /api/v10 with the bot token only, and records what it does not know', async () => {
    const me = await fetch(`${emulator.apiUrl}/v10/users/@me`, {
      headers: { authorization: `Bot ${emulator.botToken}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { id: string }).id).toBe(emulator.botUserId);

    const wrong = await fetch(`${emulator.apiUrl}/v10/users/@me`, { headers: { authorization: 'Bot nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ message: '401: Unauthorized', code: 0 });

    const unknown = await fetch(`${emulator.apiUrl}/v10/guilds/1/bans`, {
      headers: { authorization: `Bot ${emulator.botToken}` },
    });
    expect(unknown.status).toBe(404);
    expect(emulator.restCalls.map((call) => [call.method, call.route, call.status])).toEqual([
      ['GET', '/users/@me', 200],
      ['GET', '/users/@me', 401],
      ['GET', 'unknown', 404],
    ]);

    const gateway = await fetch(`${emulator.apiUrl}/v10/gateway/bot`, {
      headers: { authorization: `Bot ${emulator.botToken}` },
    });
    expect(await gateway.json()).toMatchObject({
      url: emulator.gatewayUrl,
      shards: 1,
      session_start_limit: { max_concurrency: 1 },
    });
  });

  it('greets, identifies, acknowledges heartbeats and numbers dispatches', async () => {
    const { ready, next, send } = await identify();
    expect(ready).toMatchObject({ t: GatewayDispatchEvents.Ready, s: 1 });
    expect(ready.d).toMatchObject({
      user: { id: emulator.botUserId, bot: true },
      guilds: [],
      application: { id: emulator.applicationId },
      resume_gateway_url: emulator.gatewayUrl.replace('/gateway', '/resume'),
    });
    send(GatewayOpcodes.Heartbeat, 1);
    expect((await next(GatewayOpcodes.HeartbeatAck)).op).toBe(GatewayOpcodes.HeartbeatAck);

    const user = emulator.createUser('ann');
    const messageId = emulator.sendDm(user, 'hi');
    const created = await next(GatewayOpcodes.Dispatch);
    expect(created).toMatchObject({
      t: GatewayDispatchEvents.MessageCreate,
      s: 2,
      d: { id: messageId, content: 'hi', channel_type: 1, author: { id: user } },
    });
    expect(created.d).not.toHaveProperty('guild_id');
    expect(emulator.gateway).toMatchObject({ identifies: 1, heartbeats: 1, connected: true });
  });

  it('closes 4004 on a wrong token and 4014 on privileged intents it was not granted', async () => {
    const wrong = await connect();
    await wrong.next(GatewayOpcodes.Hello);
    wrong.send(GatewayOpcodes.Identify, { token: 'nope', intents: 0, properties: {} });
    expect(await wrong.closed).toBe(GatewayCloseCodes.AuthenticationFailed);

    const greedy = await connect();
    await greedy.next(GatewayOpcodes.Hello);
    greedy.send(GatewayOpcodes.Identify, {
      token: emulator.botToken,
      intents: GatewayIntentBits.DirectMessages | GatewayIntentBits.MessageContent,
      properties: {},
    });
    expect(await greedy.closed).toBe(GatewayCloseCodes.DisallowedIntents);
    expect(emulator.problems.filter((problem) => problem.startsWith('gateway'))).toHaveLength(2);
  });

  it('filters dispatches by intent: no guild messages without GuildMessages, no content without MessageContent', async () => {
    const user = emulator.createUser();
    const dmOnly = await identify(GatewayIntentBits.DirectMessages);
    emulator.sendGuildMessage(user, 'in a guild');
    emulator.sendDm(user, 'in a DM');
    expect((await dmOnly.next(GatewayOpcodes.Dispatch)).d).toMatchObject({ content: 'in a DM' });

    const guild = await identify(GatewayIntentBits.GuildMessages);
    emulator.sendGuildMessage(user, 'secret plans');
    const event = await guild.next(GatewayOpcodes.Dispatch);
    expect(event.d).toMatchObject({ content: '', channel_type: 0 });
    expect(event.d).toHaveProperty('guild_id');
  });

  it('replays missed dispatches on RESUME, and answers INVALID_SESSION to an unknown session', async () => {
    const user = emulator.createUser();
    const first = await identify();
    const sessionId = first.ready.d?.session_id;
    await emulator.closeGateway(4000);
    expect(await first.closed).toBe(4000);
    emulator.sendDm(user, 'while away');

    const again = await connect('/resume');
    await again.next(GatewayOpcodes.Hello);
    again.send(GatewayOpcodes.Resume, { token: emulator.botToken, session_id: sessionId, seq: 1 });
    expect(await again.next(GatewayOpcodes.Dispatch)).toMatchObject({ t: 'MESSAGE_CREATE', s: 2 });
    expect(await again.next(GatewayOpcodes.Dispatch)).toMatchObject({ t: 'RESUMED', s: 3 });
    expect(emulator.gateway.resumes).toBe(1);

    const stranger = await connect();
    await stranger.next(GatewayOpcodes.Hello);
    stranger.send(GatewayOpcodes.Resume, { token: emulator.botToken, session_id: 'nope', seq: 1 });
    expect(await stranger.next(GatewayOpcodes.InvalidSession)).toMatchObject({ d: false });
  });

  it('fails a click the bot does not answer in time, and refuses the late answer', async () => {
    const user = emulator.createUser();
    const bot = await identify();
    // The bot's own message with a button, sent through REST like discord.js would.
    const dm = (await (
      await fetch(`${emulator.apiUrl}/v10/users/@me/channels`, {
        method: 'POST',
        headers: { authorization: `Bot ${emulator.botToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ recipient_id: user }),
      })
    ).json()) as { id: string };
    const message = (await (
      await fetch(`${emulator.apiUrl}/v10/channels/${dm.id}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${emulator.botToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          content: 'press',
          components: [{ type: 1, components: [{ type: 2, style: 1, label: 'Go', custom_id: 'go' }] }],
        }),
      })
    ).json()) as { id: string };
    expect(emulator.dmsTo(user)[0]?.buttons).toEqual([
      { customId: 'go', label: 'Go', style: 1, disabled: false },
    ]);

    await expect(emulator.clickButton(user, message.id, 'nope')).rejects.toThrow(/no button/);
    const click = emulator.clickButton(user, message.id, 'go');
    await expect(click).rejects.toBeInstanceOf(InteractionTimeoutError);
    const created = (await bot.next(GatewayDispatchEvents.InteractionCreate)).d;
    const late = await fetch(
      `${emulator.apiUrl}/v10/interactions/${String(created?.id)}/${String(created?.token)}/callback`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: InteractionResponseType.DeferredMessageUpdate }),
      },
    );
    expect(late.status).toBe(404);
    expect(((await late.json()) as { code: number }).code).toBe(10062);
  });

  it('takes the first callback of an interaction only: a second one gets 40060, as another relay would', async () => {
    const user = emulator.createUser();
    const first = await identify();
    const second = await identify();
    const headers = { authorization: `Bot ${emulator.botToken}`, 'content-type': 'application/json' };
    await fetch(`${emulator.apiUrl}/v10/applications/${emulator.applicationId}/commands`, {
      method: 'PUT',
      headers,
      body: JSON.stringify([{ name: 'status', description: 'Show the status' }]),
    });
    const ran = emulator.runCommand(user, 'status');
    // Both sessions get the same interaction.
    const [seenByFirst, seenBySecond] = await Promise.all([
      first.next(GatewayDispatchEvents.InteractionCreate),
      second.next(GatewayDispatchEvents.InteractionCreate),
    ]);
    expect(seenBySecond.d?.id).toBe(seenByFirst.d?.id);
    const callback = (type: InteractionResponseType) =>
      fetch(
        `${emulator.apiUrl}/v10/interactions/${String(seenByFirst.d?.id)}/${String(seenByFirst.d?.token)}/callback`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type }) },
      );
    const [won, lost] = [
      await callback(InteractionResponseType.DeferredChannelMessageWithSource),
      await callback(InteractionResponseType.DeferredChannelMessageWithSource),
    ];
    expect(won.status).toBe(204);
    expect(lost.status).toBe(400);
    expect(await lost.json()).toEqual({ message: 'Interaction has already been acknowledged.', code: 40060 });
    expect((await ran).type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    expect(emulator.interactionCallbacks).toHaveLength(1);
  });

  it('fails the next DMs to one user, with or without their effect, and enforces a nonce', async () => {
    const headers = { authorization: `Bot ${emulator.botToken}`, 'content-type': 'application/json' };
    const [ann, ben] = [emulator.createUser('ann'), emulator.createUser('ben')];
    const dmOf = async (user: string) =>
      (
        (await (
          await fetch(`${emulator.apiUrl}/v10/users/@me/channels`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ recipient_id: user }),
          })
        ).json()) as { id: string }
      ).id;
    const [annDm, benDm] = [await dmOf(ann), await dmOf(ben)];
    const send = (channelId: string, body: Record<string, unknown>) =>
      fetch(`${emulator.apiUrl}/v10/channels/${channelId}/messages`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });

    emulator.failDmsTo(ann, { times: 2, status: 502 });
    expect((await send(benDm, { content: 'for ben' })).status).toBe(200);
    expect((await send(annDm, { content: 'lost' })).status).toBe(502);
    expect((await send(annDm, { content: 'lost' })).status).toBe(502);
    expect(emulator.dmsTo(ann)).toEqual([]);
    const delivered = await send(annDm, { content: 'at last' });
    expect(delivered.status).toBe(200);
    const message = (await delivered.json()) as { id: string };
    expect(emulator.dmsTo(ann).map((m) => m.content)).toEqual(['at last']);

    // An edit fails the same way; `applied` makes it take effect first, as when an answer is lost.
    emulator.failDmsTo(ann, { applied: true });
    const edited = await fetch(`${emulator.apiUrl}/v10/channels/${annDm}/messages/${message.id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ content: 'edited' }),
    });
    expect(edited.status).toBe(500);
    expect(emulator.dmsTo(ann)[0]).toMatchObject({ content: 'edited', editCount: 1 });

    // With enforce_nonce, a send that took effect but failed is not made twice when tried again.
    emulator.failDmsTo(ann, { applied: true });
    const body = { content: 'once', nonce: 'n-1', enforce_nonce: true };
    expect((await send(annDm, body)).status).toBe(500);
    const again = await send(annDm, body);
    expect(again.status).toBe(200);
    expect(emulator.dmsTo(ann).map((m) => m.content)).toEqual(['edited', 'once']);
    expect(((await again.json()) as { id: string }).id).toBe(emulator.dmsTo(ann)[1]?.id);
    // Without enforce_nonce, a nonce does not dedupe.
    await send(annDm, { content: 'once', nonce: 'n-1' });
    expect(emulator.dmsTo(ann)).toHaveLength(3);
  });

  it('stores commands, runs one as an APPLICATION_COMMAND, and shows its deferred reply with edits', async () => {
    const user = emulator.createUser();
    const bot = await identify();
    const headers = { authorization: `Bot ${emulator.botToken}`, 'content-type': 'application/json' };
    const commandsUrl = `${emulator.apiUrl}/v10/applications/${emulator.applicationId}/commands`;
    const bad = await fetch(commandsUrl, {
      method: 'PUT',
      headers,
      body: JSON.stringify([{ name: 'Status', description: '' }]),
    });
    expect(bad.status).toBe(400);
    const put = await fetch(commandsUrl, {
      method: 'PUT',
      headers,
      body: JSON.stringify([
        { name: 'status', description: 'Show the status', contexts: [InteractionContextType.BotDM] },
      ]),
    });
    expect(put.status).toBe(200);
    const [stored] = (await put.json()) as { id: string; type: number }[];
    expect(stored?.type).toBe(ApplicationCommandType.ChatInput);
    expect(await (await fetch(commandsUrl, { headers })).json()).toEqual(emulator.registeredCommands);

    await expect(emulator.runCommand(user, 'nope')).rejects.toThrow(/no slash command/);
    await expect(emulator.runCommand(user, 'status', { inGuild: true })).rejects.toThrow(/not offered/);

    const ran = emulator.runCommand(user, 'status');
    const created = (await bot.next(GatewayDispatchEvents.InteractionCreate)).d as Record<string, unknown>;
    expect(created).toMatchObject({
      type: InteractionType.ApplicationCommand,
      context: InteractionContextType.BotDM,
      user: { id: user },
      data: { id: stored?.id, name: 'status', type: ApplicationCommandType.ChatInput },
    });
    const id = String(created.id);
    const token = String(created.token);
    expect(emulator.interactionReply(id)).toBeUndefined();
    const deferred = await fetch(`${emulator.apiUrl}/v10/interactions/${id}/${token}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: InteractionResponseType.DeferredChannelMessageWithSource }),
    });
    expect(deferred.status).toBe(204);
    expect((await ran).type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    expect(emulator.interactionReply(id)).toMatchObject({
      content: '',
      flags: MessageFlags.Loading,
      editCount: 0,
    });

    // discord.js percent-encodes `@original`; both spellings reach the same route.
    for (const original of ['@original', '%40original']) {
      const edited = await fetch(
        `${emulator.apiUrl}/v10/webhooks/${emulator.applicationId}/${token}/messages/${original}`,
        {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ content: original }),
        },
      );
      expect(edited.status).toBe(200);
    }
    const reply = emulator.interactionReply(id);
    expect(reply).toMatchObject({ content: '%40original', flags: 0, editCount: 2, ephemeral: false });
    expect(emulator.dmsTo(user).map((message) => message.id)).toEqual([reply?.id]);
  });

  it('delivers a user’s reply with its reference, and takes the bot’s replies as Discord does', async () => {
    const user = emulator.createUser();
    const bot = await identify();
    const headers = { authorization: `Bot ${emulator.botToken}`, 'content-type': 'application/json' };
    const dm = (await (
      await fetch(`${emulator.apiUrl}/v10/users/@me/channels`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ recipient_id: user }),
      })
    ).json()) as { id: string };
    const post = (body: unknown) =>
      fetch(`${emulator.apiUrl}/v10/channels/${dm.id}/messages`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
    const prompt = (await (await post({ content: 'a prompt' })).json()) as { id: string };

    const replyId = emulator.sendDm(user, '123456', { replyTo: prompt.id });
    let created = (await bot.next(GatewayDispatchEvents.MessageCreate)).d;
    while (created?.id !== replyId) created = (await bot.next(GatewayDispatchEvents.MessageCreate)).d;
    expect(created).toMatchObject({
      type: MessageType.Reply,
      message_reference: { type: MessageReferenceType.Default, message_id: prompt.id, channel_id: dm.id },
      referenced_message: { id: prompt.id, content: 'a prompt' },
    });
    expect(() => emulator.sendDm(user, '1', { replyTo: '1234' })).toThrow(/cannot be replied to/);

    const answer = await post({ content: 'an answer', message_reference: { message_id: replyId } });
    expect(answer.status).toBe(200);
    expect(emulator.dmsTo(user).at(-1)).toMatchObject({ content: 'an answer', replyTo: replyId });
    const unknown = { message_id: '1312345678901234567' };
    expect((await post({ content: 'lost', message_reference: unknown })).status).toBe(400);
    const plain = await post({
      content: 'plain',
      message_reference: { ...unknown, fail_if_not_exists: false },
    });
    expect(plain.status).toBe(200);
    expect(emulator.dmsTo(user).at(-1)).toMatchObject({ content: 'plain', replyTo: undefined });
  });

  it('checks commands’ options, and runs a command with the options a user could give', async () => {
    const user = emulator.createUser();
    const bot = await identify();
    const headers = { authorization: `Bot ${emulator.botToken}`, 'content-type': 'application/json' };
    const commandsUrl = `${emulator.apiUrl}/v10/applications/${emulator.applicationId}/commands`;
    const put = (options: unknown[]) =>
      fetch(commandsUrl, {
        method: 'PUT',
        headers,
        body: JSON.stringify([{ name: 'login', description: 'Log in', options }]),
      });
    const option = { type: ApplicationCommandOptionType.String, name: 'account', description: 'Which' };
    const choices = (count: number) =>
      Array.from({ length: count }, (_, i) => ({ name: `a${i}`, value: `a${i}` }));
    expect((await put([{ ...option, choices: choices(26) }])).status).toBe(400);
    expect((await put([{ ...option, choices: choices(2), max_length: 32 }])).status).toBe(400);
    expect((await put([{ ...option, name: 'Account' }])).status).toBe(400);
    expect((await put([{ ...option, choices: choices(2) }])).status).toBe(200);

    await expect(emulator.runCommand(user, 'login', { options: { account: 'a9' } })).rejects.toThrow(
      /choices/,
    );
    await expect(emulator.runCommand(user, 'login', { options: { other: 'x' } })).rejects.toThrow(
      /no option/,
    );
    const ran = emulator.runCommand(user, 'login', { options: { account: 'a1' } });
    const created = (await bot.next(GatewayDispatchEvents.InteractionCreate)).d;
    expect(created).toMatchObject({
      data: {
        name: 'login',
        options: [{ name: 'account', type: ApplicationCommandOptionType.String, value: 'a1' }],
      },
    });
    await fetch(
      `${emulator.apiUrl}/v10/interactions/${String(created?.id)}/${String(created?.token)}/callback`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: InteractionResponseType.DeferredChannelMessageWithSource }),
      },
    );
    await ran;

    expect((await put([{ ...option, required: true, min_length: 2, max_length: 4 }])).status).toBe(200);
    await expect(emulator.runCommand(user, 'login')).rejects.toThrow(/needs its option/);
    await expect(emulator.runCommand(user, 'login', { options: { account: 'x' } })).rejects.toThrow(/length/);
  });

  it('fails the requests a test asks it to, then serves them again', async () => {
    const headers = { authorization: `Bot ${emulator.botToken}` };
    emulator.failRequests('GET', '/users/@me', { status: 503, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await fetch(`${emulator.apiUrl}/v10/users/@me`, { headers })).status);
    }
    expect(statuses).toEqual([503, 503, 200]);
    const restore = emulator.failRequests('GET', '/users/@me');
    expect((await fetch(`${emulator.apiUrl}/v10/users/@me`, { headers })).status).toBe(500);
    expect((await fetch(`${emulator.apiUrl}/v10/users/@me`, { headers })).status).toBe(500);
    restore();
    expect((await fetch(`${emulator.apiUrl}/v10/users/@me`, { headers })).status).toBe(200);
  });

  it('rejects waitFor after its timeout', async () => {
    await expect(emulator.waitFor(() => false, { timeoutMs: 30, what: 'nothing' })).rejects.toThrow(
      /nothing/,
    );
  });
});
