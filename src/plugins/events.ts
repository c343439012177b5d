import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { DomainEvent } from '../lib/domain-events.ts';

export const DOMAIN_EVENTS_CHANNEL = 'domain:events';

export type DomainEventHandler = (event: DomainEvent) => void;

/**
 * Publishes domain events on one Redis channel and delivers them to this process's handlers.
 * One subscriber connection per process, opened on the first subscribe, whatever the number
 * of handlers. Events published here come back through Redis too, so every instance,
 * this one included, sees the same order.
 */
export class EventBus {
  private readonly handlers = new Set<DomainEventHandler>();
  private subscriber: Redis | undefined;

  constructor(
    private readonly publisher: Redis,
    private readonly openSubscriber: () => Redis,
    private readonly log: FastifyBaseLogger,
  ) {}

  async publish(event: DomainEvent): Promise<void> {
    await this.publisher.publish(DOMAIN_EVENTS_CHANNEL, JSON.stringify(event));
  }

  /** Registers a handler; returns the function that removes it. */
  async subscribe(handler: DomainEventHandler): Promise<() => void> {
    this.handlers.add(handler);
    if (!this.subscriber) {
      this.subscriber = this.openSubscriber();
      this.subscriber.on('message', (_channel: string, raw: string) => this.dispatch(raw));
      await this.subscriber.subscribe(DOMAIN_EVENTS_CHANNEL);
    }
    return () => this.handlers.delete(handler);
  }

  private dispatch(raw: string): void {
    let event: DomainEvent;
    try {
      event = JSON.parse(raw) as DomainEvent;
    } catch {
      this.log.warn({ raw }, 'ignored a malformed domain event');
      return;
    }
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (error) {
        this.log.error({ err: error, eventType: event.type }, 'domain event handler failed');
      }
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    events: EventBus;
  }
}

async function eventsPlugin(app: FastifyInstance): Promise<void> {
  app.decorate('events', new EventBus(app.redis, () => app.createRedisConnection('bigtech-chat-events'), app.log));
}

export default fp(eventsPlugin, { name: 'events', dependencies: ['redis'] });
