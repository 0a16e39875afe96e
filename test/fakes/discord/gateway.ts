import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  GatewayCloseCodes,
  GatewayDispatchEvents,
  GatewayIntentBits,
  GatewayOpcodes,
  type GatewayReadyDispatchData,
} from 'discord-api-types/v10';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

/** Intents Discord grants only when they are switched on in the developer portal. */
export const PRIVILEGED_INTENTS =
  GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;

/** What the emulator saw the bot send when it identified. */
export interface IdentifySummary {
  readonly intents: number;
  readonly shard: readonly [number, number] | undefined;
  readonly compress: boolean;
}

/** Counters of the gateway, for tests of (re)connection. */
export interface GatewayStats {
  /** WebSocket connections accepted so far. */
  readonly connections: number;
  readonly identifies: number;
  readonly resumes: number;
  readonly heartbeats: number;
  /** True while a session is identified (or resumed) on an open socket. */
  readonly connected: boolean;
  readonly lastIdentify: IdentifySummary | undefined;
  /** Request paths (with query) of every connection, in order: shows which used `resume_gateway_url`. */
  readonly connectionUrls: readonly string[];
}

/** Options of {@link GatewayServer}. */
export interface GatewayServerOptions {
  token: string;
  heartbeatIntervalMs: number;
  /** Privileged intents the emulated application has switched on. */
  privilegedIntents: number;
  /** The READY payload, but for the session fields the gateway adds. */
  ready: () => Omit<GatewayReadyDispatchData, 'session_id' | 'resume_gateway_url' | 'shard'>;
  /** `ws://host:port`: the gateway's own address, to build `resume_gateway_url`. */
  baseUrl: () => string;
  /** Called on every change a test might wait for. */
  onChange: () => void;
  /** Called with a short description of everything the gateway refused. */
  onProblem: (problem: string) => void;
}

interface BufferedDispatch {
  readonly s: number;
  readonly t: string;
  readonly d: unknown;
}

interface Session {
  readonly id: string;
  readonly intents: number;
  seq: number;
  /** Every dispatch of the session, for RESUME; bounded like Discord's own buffer. */
  readonly buffer: BufferedDispatch[];
  socket: WebSocket | undefined;
}

/** What a dispatch carries: one payload, or one per session (content depends on a session's intents). */
export type DispatchData = unknown;

const MAX_BUFFERED_DISPATCHES = 1000;

/**
 * The emulated gateway: HELLO, IDENTIFY (token and intents checked), READY, heartbeats, sequence
 * numbers, dispatches filtered by intents, and RESUME with replay of missed events. JSON only, no
 * compression: discord.js asks for `zlib-stream` only when `zlib-sync` is installed, and the
 * emulator refuses it so a test would notice.
 */
export class GatewayServer {
  readonly #options: GatewayServerOptions;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sessions = new Map<string, Session>();
  readonly #connectionUrls: string[] = [];
  #connections = 0;
  #identifies = 0;
  #resumes = 0;
  #heartbeats = 0;
  #lastIdentify: IdentifySummary | undefined;
  /** A close code every IDENTIFY gets while set (see {@link GatewayServer.refuseIdentify}). */
  #identifyRefusal: GatewayCloseCodes | undefined;

  public constructor(options: GatewayServerOptions) {
    this.#options = options;
  }

  public get stats(): GatewayStats {
    return {
      connections: this.#connections,
      identifies: this.#identifies,
      resumes: this.#resumes,
      heartbeats: this.#heartbeats,
      connected: [...this.#sessions.values()].some(
        (session) => session.socket?.readyState === WebSocket.OPEN,
      ),
      lastIdentify: this.#lastIdentify,
      connectionUrls: [...this.#connectionUrls],
    };
  }

  /** Takes over an HTTP upgrade request. */
  public handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'ws://localhost');
    if (url.searchParams.has('compress') || (url.searchParams.get('encoding') ?? 'json') !== 'json') {
      this.#options.onProblem(`gateway: unsupported transport ${url.search}`);
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) =>
      this.#onConnection(ws, `${url.pathname}${url.search}`),
    );
  }

  /**
   * Sends an event to every session whose intents cover `requiredIntent` (none: always sent, like
   * INTERACTION_CREATE). Sessions without an open socket buffer it for RESUME.
   */
  public dispatch(
    t: GatewayDispatchEvents,
    data: (intents: number) => DispatchData,
    requiredIntent?: number,
  ): void {
    for (const session of this.#sessions.values()) {
      if (requiredIntent !== undefined && (session.intents & requiredIntent) === 0) continue;
      this.#sendDispatch(session, t, data(session.intents));
    }
    this.#options.onChange();
  }

  /**
   * Drops every open connection with `code`. Sessions stay resumable unless `invalidateSession`:
   * then a RESUME gets INVALID_SESSION and the bot must identify again.
   */
  public async closeAll(code: number, invalidateSession: boolean): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const session of this.#sessions.values()) {
      const socket = session.socket;
      if (socket === undefined) continue;
      session.socket = undefined;
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        closing.push(new Promise((resolve) => socket.once('close', () => resolve())));
        socket.close(code, 'closed by the emulator');
      }
    }
    // A socket not yet identified has no session; close it too.
    for (const socket of this.#wss.clients) {
      if (socket.readyState === WebSocket.OPEN) {
        closing.push(new Promise((resolve) => socket.once('close', () => resolve())));
        socket.close(code, 'closed by the emulator');
      }
    }
    if (invalidateSession) this.#sessions.clear();
    await Promise.all(closing);
    this.#options.onChange();
  }

  /**
   * Closes every IDENTIFY with `code` until the returned function is called: the token or intents
   * refused at the gateway while REST still takes the token (revoked in between, or intents changed
   * in the developer portal).
   */
  public refuseIdentify(code: GatewayCloseCodes): () => void {
    this.#identifyRefusal = code;
    return () => {
      if (this.#identifyRefusal === code) this.#identifyRefusal = undefined;
    };
  }

  /** Terminates every socket and the server: nothing stays open. */
  public async close(): Promise<void> {
    for (const socket of this.#wss.clients) socket.terminate();
    this.#sessions.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #onConnection(ws: WebSocket, path: string): void {
    this.#connections += 1;
    this.#connectionUrls.push(path);
    let session: Session | undefined;
    this.#send(ws, {
      op: GatewayOpcodes.Hello,
      d: { heartbeat_interval: this.#options.heartbeatIntervalMs },
    });
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      const payload = isBinary ? undefined : parse(raw);
      if (payload === undefined) {
        this.#refuse(ws, GatewayCloseCodes.DecodeError, 'a payload that is not JSON text');
        return;
      }
      switch (payload.op) {
        case GatewayOpcodes.Heartbeat:
          this.#heartbeats += 1;
          this.#send(ws, { op: GatewayOpcodes.HeartbeatAck });
          break;
        case GatewayOpcodes.Identify:
          if (session !== undefined) {
            this.#refuse(ws, GatewayCloseCodes.AlreadyAuthenticated, 'IDENTIFY twice');
            return;
          }
          session = this.#identify(ws, payload.d);
          break;
        case GatewayOpcodes.Resume:
          if (session !== undefined) {
            this.#refuse(ws, GatewayCloseCodes.AlreadyAuthenticated, 'RESUME after IDENTIFY');
            return;
          }
          session = this.#resume(ws, payload.d);
          break;
        default:
          if (session === undefined) {
            this.#refuse(ws, GatewayCloseCodes.NotAuthenticated, `op ${String(payload.op)} before IDENTIFY`);
          }
        // Presence updates and the like: accepted and ignored.
      }
      this.#options.onChange();
    });
    ws.on('close', (code: number) => {
      if (session !== undefined && session.socket === ws) {
        session.socket = undefined;
        // A client that closes with 1000/1001 ends its session, as on Discord.
        if (code === 1000 || code === 1001) this.#sessions.delete(session.id);
      }
      this.#options.onChange();
    });
    ws.on('error', () => undefined);
  }

  #identify(ws: WebSocket, data: unknown): Session | undefined {
    const d = isRecord(data) ? data : {};
    if (d.token !== this.#options.token) {
      this.#refuse(ws, GatewayCloseCodes.AuthenticationFailed, 'IDENTIFY with a wrong token');
      return undefined;
    }
    if (this.#identifyRefusal !== undefined) {
      this.#refuse(ws, this.#identifyRefusal, 'IDENTIFY refused by the test');
      return undefined;
    }
    const intents = d.intents;
    if (typeof intents !== 'number' || !Number.isInteger(intents) || intents < 0) {
      this.#refuse(ws, GatewayCloseCodes.InvalidIntents, 'IDENTIFY without valid intents');
      return undefined;
    }
    const disallowed = intents & PRIVILEGED_INTENTS & ~this.#options.privilegedIntents;
    if (disallowed !== 0) {
      this.#refuse(ws, GatewayCloseCodes.DisallowedIntents, `IDENTIFY with privileged intents ${disallowed}`);
      return undefined;
    }
    if (d.compress === true) {
      this.#refuse(ws, GatewayCloseCodes.DecodeError, 'IDENTIFY asking for compression');
      return undefined;
    }
    const shard = Array.isArray(d.shard) ? ([Number(d.shard[0]), Number(d.shard[1])] as const) : undefined;
    this.#identifies += 1;
    this.#lastIdentify = { intents, shard, compress: false };
    const session: Session = { id: randomBytes(16).toString('hex'), intents, seq: 0, buffer: [], socket: ws };
    this.#sessions.set(session.id, session);
    const ready: GatewayReadyDispatchData = {
      ...this.#options.ready(),
      session_id: session.id,
      resume_gateway_url: `${this.#options.baseUrl()}/resume`,
      ...(shard === undefined ? {} : { shard: [shard[0], shard[1]] }),
    };
    this.#sendDispatch(session, GatewayDispatchEvents.Ready, ready);
    return session;
  }

  #resume(ws: WebSocket, data: unknown): Session | undefined {
    const d = isRecord(data) ? data : {};
    if (d.token !== this.#options.token) {
      this.#refuse(ws, GatewayCloseCodes.AuthenticationFailed, 'RESUME with a wrong token');
      return undefined;
    }
    const session = typeof d.session_id === 'string' ? this.#sessions.get(d.session_id) : undefined;
    const seq = typeof d.seq === 'number' ? d.seq : -1;
    if (session === undefined || seq > session.seq) {
      // Not resumable: the client must identify again.
      this.#send(ws, { op: GatewayOpcodes.InvalidSession, d: false });
      return undefined;
    }
    // A client may resume before this side noticed its old socket die (a zombie connection).
    if (session.socket !== undefined && session.socket !== ws) session.socket.terminate();
    this.#resumes += 1;
    session.socket = ws;
    for (const event of session.buffer) {
      if (event.s > seq) this.#send(ws, { op: GatewayOpcodes.Dispatch, t: event.t, s: event.s, d: event.d });
    }
    this.#sendDispatch(session, GatewayDispatchEvents.Resumed, {});
    return session;
  }

  #sendDispatch(session: Session, t: string, d: unknown): void {
    session.seq += 1;
    const event = { s: session.seq, t, d };
    session.buffer.push(event);
    if (session.buffer.length > MAX_BUFFERED_DISPATCHES) session.buffer.shift();
    if (session.socket !== undefined) {
      this.#send(session.socket, { op: GatewayOpcodes.Dispatch, t, s: event.s, d });
    }
  }

  #send(ws: WebSocket, payload: { op: GatewayOpcodes; d?: unknown; t?: string; s?: number }): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ t: null, s: null, d: null, ...payload }));
  }

  #refuse(ws: WebSocket, code: GatewayCloseCodes, why: string): void {
    this.#options.onProblem(`gateway: closed ${code}: ${why}`);
    ws.close(code, why);
  }
}

function parse(raw: RawData): { op: unknown; d: unknown } | undefined {
  try {
    const bytes = Array.isArray(raw)
      ? Buffer.concat(raw)
      : raw instanceof ArrayBuffer
        ? Buffer.from(raw)
        : raw;
    const text = bytes.toString('utf8');
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? { op: value.op, d: value.d } : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
