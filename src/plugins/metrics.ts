import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DomainEvent, DomainEventType } from '../lib/domain-events.ts';
import type { EventBusObserver } from './events.ts';
import { MetricsServer } from './metrics-server.ts';

/** The `limit` label of chat_rate_limited_total: which limit refused the action. */
export const RATE_LIMITS = [
  'api', // API calls per user / per address (@fastify/rate-limit)
  'message', // the per-user message bucket (REST and WebSocket)
  'room_create', // rooms created per hour
  'socket', // open WebSockets per user
  'stream', // open presence streams per user
  'login', // failed logins per account (and IP)
  'auth_ip', // register/login calls per IP
  'ws_frame', // frames per WebSocket connection
] as const;
export type RateLimitName = (typeof RATE_LIMITS)[number];

/** Gauges are read at scrape time from the readers modules register (see AppMetrics.gauge). */
const GAUGES = {
  chat_websocket_connections: 'Open chat WebSockets on this instance',
  chat_sse_streams: 'Open Server-Sent Event streams on this instance (presence streams)',
  chat_online_users:
    'Users online by presence (the online_users set in Redis, all instances): every instance reports the same value, so aggregate with max()',
} as const;
export type GaugeName = keyof typeof GAUGES;
/** One source of a gauge's value; a gauge with several sources reports their sum. */
export type GaugeReader = () => number | Promise<number>;

/** The route label of requests no route matched: raw URLs would let a scanner mint endless series. */
export const UNMATCHED_ROUTE = 'not_found';

/** Counted as a sent message: published once per stored message, by the instance that stored it. */
const MESSAGE_SENT_EVENT: DomainEventType = 'message_created';

const HTTP_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type RequestLabel = 'method' | 'route' | 'status_code';
type RequestTimer = Histogram.Internal<RequestLabel>;

/**
 * http_request_duration_seconds children, created once per (route, method, status) and kept:
 * a request costs three map lookups and prom-client's observe, nothing is built per request.
 */
class RequestDurations {
  private readonly byRoute = new Map<string, Map<string, Map<number, RequestTimer>>>();

  constructor(private readonly histogram: Histogram<RequestLabel>) {}

  observe(route: string, method: string, statusCode: number, seconds: number): void {
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let timer = byStatus.get(statusCode);
    if (timer === undefined) byStatus.set(statusCode, (timer = this.histogram.labels(method, route, String(statusCode))));
    timer.observe(seconds);
  }
}

/**
 * This app's Prometheus metrics, in a registry of its own (two apps in one process never share
 * a series). Counters are plain handles; gauges are read when scraped, from readers the modules
 * register; `/metrics` is served by `listen` on a port apart from the public one.
 */
export class AppMetrics {
  readonly registry = new Registry();
  private readonly requests: RequestDurations;
  readonly messagesSent: Counter;
  readonly eventsPublished: Counter;
  readonly eventDeliveryLag: Histogram;
  /** What the event bus reports: events this process published, events it dispatched. */
  readonly eventBus: EventBusObserver;
  private readonly rateLimitedBy: Record<RateLimitName, Counter.Internal>;
  private readonly readers = new Map<GaugeName, Set<GaugeReader>>();
  private readonly server: MetricsServer;
  private processMetrics = false;

  constructor(private readonly log: FastifyBaseLogger) {
    const registers = [this.registry];
    this.requests = new RequestDurations(
      new Histogram({
        name: 'http_request_duration_seconds',
        help: 'HTTP requests by method, route pattern (not_found when no route matched) and status code',
        labelNames: ['method', 'route', 'status_code'],
        buckets: HTTP_BUCKETS_S,
        registers,
      }),
    );
    this.messagesSent = new Counter({ name: 'chat_messages_sent_total', help: 'Messages stored and announced by this instance (REST and WebSocket)', registers });
    this.eventsPublished = new Counter({ name: 'chat_events_published_total', help: 'Domain events (room, message, presence-related) this instance published', registers });
    this.eventDeliveryLag = new Histogram({
      name: 'chat_event_delivery_lag_seconds',
      help: "From an event's publication (publisher's clock) until this instance has handed it to its handlers, which write it to the local sockets",
      buckets: LAG_BUCKETS_S,
      registers,
    });
    this.rateLimitedBy = rateLimitCounters(new Counter({
      name: 'chat_rate_limited_total',
      help: 'Actions refused by a rate or abuse limit on this instance, by limit',
      labelNames: ['limit'],
      registers,
    }));
    for (const name of Object.keys(GAUGES) as GaugeName[]) this.defineGauge(name);
    this.eventBus = {
      published: (event) => this.countPublished(event),
      dispatched: (lagMs) => this.eventDeliveryLag.observe(Math.max(0, lagMs) / 1000),
    };
    this.server = new MetricsServer(() => this.exposition(), log);
  }

  /**
   * Adds a source of gauge `name`, read at each scrape (a failing one keeps the gauge's last
   * value). Returns the function that removes it.
   */
  gauge(name: GaugeName, read: GaugeReader): () => void {
    const readers = this.readers.get(name);
    readers?.add(read);
    return () => readers?.delete(read);
  }

  /** One answered request; `route` is its pattern (UNMATCHED_ROUTE when none matched). */
  observeRequest(route: string, method: string, statusCode: number, seconds: number): void {
    this.requests.observe(route, method, statusCode, seconds);
  }

  rateLimited(limit: RateLimitName): void {
    this.rateLimitedBy[limit].inc();
  }

  /** Serves `/metrics` on its own listener; the default Node.js process metrics start with it. */
  async listen(port: number, host: string): Promise<AddressInfo> {
    if (!this.processMetrics) {
      this.processMetrics = true;
      collectDefaultMetrics({ register: this.registry });
    }
    const address = await this.server.listen(port, host);
    this.log.info({ port: address.port, host: address.address }, `metrics listening at http://${host}:${address.port}/metrics`);
    return address;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private countPublished(event: DomainEvent): void {
    this.eventsPublished.inc();
    if (event.type === MESSAGE_SENT_EVENT) this.messagesSent.inc();
  }

  private defineGauge(name: GaugeName): void {
    const readers = new Set<GaugeReader>();
    this.readers.set(name, readers);
    const gauge: Gauge = new Gauge({
      name,
      help: GAUGES[name],
      registers: [this.registry],
      collect: async () => {
        try {
          const values = await Promise.all([...readers].map((read) => read()));
          gauge.set(values.reduce((sum, value) => sum + value, 0));
        } catch (error) {
          this.log.warn({ err: error, metric: name }, 'metrics: a gauge could not be read; it keeps its last value');
        }
      },
    });
  }
}

/** One child per limit, each created at 0 so every series exists before its first refusal. */
function rateLimitCounters(counter: Counter<'limit'>): Record<RateLimitName, Counter.Internal> {
  const children = {} as Record<RateLimitName, Counter.Internal>;
  for (const limit of RATE_LIMITS) {
    children[limit] = counter.labels(limit);
    children[limit].inc(0);
  }
  return children;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AppMetrics;
  }
}

/**
 * Prometheus metrics (the contract's Operations section). With METRICS_ENABLED=false the
 * handles still exist (they cost a few additions) but no request is timed and nothing is served.
 */
async function metricsPlugin(app: FastifyInstance): Promise<void> {
  const metrics = new AppMetrics(app.log.child({ component: 'metrics' }));
  app.decorate('metrics', metrics);
  app.addHook('onClose', async () => metrics.close());
  if (!app.config.METRICS_ENABLED) return;

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    metrics.observeRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['config'] });
