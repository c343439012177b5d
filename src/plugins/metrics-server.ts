import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, type ErrorBody, notFound } from '../lib/errors.ts';

export const METRICS_PATH = '/metrics';

/** What a scrape returns: the exposition text and its content type. */
export interface Exposition {
  contentType: string;
  body: string;
}

/** A scraper keeps one or two connections; anything more is not Prometheus. */
const MAX_CONNECTIONS = 16;

/**
 * The `/metrics` listener: its own small HTTP server on METRICS_PORT, apart from the public
 * app, so the public port never serves metrics and nothing of the app's (auth, limits, CORS)
 * stands between Prometheus and a scrape. Everything but `GET /metrics` is a JSON 404.
 */
export class MetricsServer {
  private readonly server: Server;

  constructor(
    private readonly render: () => Promise<Exposition>,
    private readonly log: FastifyBaseLogger,
  ) {
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    if (path !== METRICS_PATH || (request.method !== 'GET' && request.method !== 'HEAD')) {
      sendError(response, notFound(`Route ${request.method ?? ''} ${path ?? ''} not found`));
      return;
    }
    try {
      const { contentType, body } = await this.render();
      response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    } catch (error) {
      this.log.error({ err: error }, 'metrics: rendering a scrape failed');
      sendError(response, new AppError('internal_error', 'Internal server error'));
    }
  }
}

function sendError(response: ServerResponse, error: AppError): void {
  const body: ErrorBody = error.toBody();
  response.writeHead(error.statusCode, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}
