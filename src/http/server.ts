import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorFields, type Logger } from '../shared/log.js';
import type { ReadinessReport } from './readiness.js';

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** `HTTP_HOST`. */
  host: string;
  /** `HTTP_PORT`; 0 picks a free port. */
  port: number;
  logger: Logger;
  /** The current readiness, computed per request. */
  readiness: () => ReadinessReport;
  /** Prometheus text for `/metrics`, when metrics are collected. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

/** A running health server. */
export interface HttpServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `/healthz`, `/readyz` and `/metrics`. Nothing it serves holds a secret. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const log = options.logger.child({ component: 'http' });
  const server = createServer((request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      log.error({ err: errorFields(error), path: request.url }, 'request failed');
      if (!response.headersSent) send(response, 500, 'text/plain', 'internal error\n');
      else response.destroy();
    });
  });
  // Probes are short: do not let idle keep-alive sockets hold shutdown up.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url }, 'http listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  options: HttpServerOptions,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(response, 405, 'text/plain', 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/healthz':
      send(response, 200, 'text/plain', 'ok\n');
      return;
    case '/readyz': {
      const report = options.readiness();
      send(response, report.ready ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`);
      return;
    }
    case '/metrics': {
      if (options.metrics === undefined) break;
      const { contentType, body } = await options.metrics();
      send(response, 200, contentType, body);
      return;
    }
  }
  send(response, 404, 'text/plain', 'not found\n');
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}
