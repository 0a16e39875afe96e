import type { IncomingMessage, ServerResponse } from 'node:http';

/** A Discord error answer: HTTP status, Discord's JSON error code and message. */
export class RestError extends Error {
  public override readonly name = 'RestError';

  public constructor(
    public readonly status: number,
    public readonly code: number,
    message: string,
    public readonly problems: readonly string[] = [],
  ) {
    super(message);
  }

  /** The body Discord sends with such an error. */
  public body(): Record<string, unknown> {
    return {
      message: this.message,
      code: this.code,
      ...(this.problems.length === 0
        ? {}
        : { errors: { _errors: this.problems.map((message) => ({ code: 'BASE_TYPE_INVALID', message })) } }),
    };
  }
}

/** Discord's usual errors. */
export const Errors = {
  unauthorized: () => new RestError(401, 0, '401: Unauthorized'),
  notFound: () => new RestError(404, 0, '404: Not Found'),
  unknownChannel: () => new RestError(404, 10003, 'Unknown Channel'),
  unknownMessage: () => new RestError(404, 10008, 'Unknown Message'),
  unknownUser: () => new RestError(404, 10013, 'Unknown User'),
  unknownWebhook: () => new RestError(404, 10015, 'Unknown Webhook'),
  unknownInteraction: () => new RestError(404, 10062, 'Unknown interaction'),
  alreadyAcknowledged: () => new RestError(400, 40060, 'Interaction has already been acknowledged.'),
  cannotEditOthers: () => new RestError(403, 50005, 'Cannot edit a message authored by another user'),
  cannotSendEmpty: () => new RestError(400, 50006, 'Cannot send an empty message'),
  cannotDm: () => new RestError(403, 50007, 'Cannot send messages to this user'),
  invalidForm: (problems: readonly string[]) => new RestError(400, 50035, 'Invalid Form Body', problems),
} as const;

/** One request, as a route handler sees it. */
export interface RestRequest {
  readonly method: string;
  /** The path under `/api/v10`, e.g. `/channels/123/messages`. */
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** Whether `Authorization: Bot <the emulator's token>` came with it. */
  readonly authorized: boolean;
}

/** What a handler answers: a JSON body (200), or `undefined` for 204 No Content. */
export type RestHandler = (request: RestRequest) => unknown;

interface Route {
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly keys: readonly string[];
  /** False for routes Discord serves without the bot token (interaction callbacks, webhooks). */
  readonly auth: boolean;
  readonly handler: RestHandler;
}

/** A matched route: its template (`/channels/:channelId/messages`) and parameters. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

/** A tiny router over Discord's route templates. */
export class Router {
  readonly #routes: Route[] = [];

  public add(method: string, template: string, handler: RestHandler, options: { auth?: boolean } = {}): void {
    const keys: string[] = [];
    const pattern = new RegExp(
      `^${template
        .split('/')
        .map((part) => {
          if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          keys.push(part.slice(1));
          return '([^/]+)';
        })
        .join('/')}$`,
    );
    this.#routes.push({ method, template, pattern, keys, auth: options.auth ?? true, handler });
  }

  public match(method: string, path: string): RouteMatch | undefined {
    // Clients may percent-encode any segment (discord.js sends `@original` as `%40original`), so
    // templates are matched against the decoded segments. A decoded `/` stays encoded: it is data.
    const decoded = path
      .split('/')
      .map((segment) => {
        try {
          return decodeURIComponent(segment).replaceAll('/', '%2F');
        } catch {
          return segment;
        }
      })
      .join('/');
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(decoded);
      if (found === null) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, index) => {
        params[key] = found[index + 1] ?? '';
      });
      return { route, params };
    }
    return undefined;
  }
}

/** Reads a JSON body (or none). A multipart body (file uploads) is refused: the relay sends none. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  const type = request.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) {
    throw Errors.invalidForm([`unsupported content type ${type.split(';')[0] ?? ''}`]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw Errors.invalidForm(['the body is not JSON']);
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    response.writeHead(204).end();
    return;
  }
  const text = JSON.stringify(body);
  response
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}
