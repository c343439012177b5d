import { Parser } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverFrames } from '../../src/modules/chat/chat.protocol.ts';
import { clientFrame } from '../../src/modules/chat/chat.frames.ts';
import { type App, createTestApp } from '../helpers/app.ts';

/** The AsyncAPI document of the WebSocket and SSE protocols, generated from the frame schemas. */
let app: App;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => app.close());

describe('GET /docs/asyncapi.json', () => {
  it('is a valid AsyncAPI 3.0 document (the official parser finds no error)', async () => {
    const res = await app.inject({ url: '/docs/asyncapi.json' });
    expect(res.statusCode).toBe(200);
    const { document, diagnostics } = await new Parser().parse(res.body);
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
  });

  it('describes every frame the server sends and every frame it accepts, with its schema', async () => {
    const doc = (await app.inject({ url: '/docs/asyncapi.json' })).json() as {
      channels: Record<string, { address: string; messages: Record<string, unknown> }>;
      components: { messages: Record<string, { name: string; payload: { $ref: string } }>; schemas: Record<string, unknown> };
    };
    const names = Object.values(doc.components.messages).map((m) => m.name);
    for (const type of Object.keys(serverFrames)) expect(names).toContain(type);
    for (const option of clientFrame.options) expect(names).toContain(option.shape.type.value);
    for (const message of Object.values(doc.components.messages)) {
      expect(doc.components.schemas[message.payload.$ref.replace('#/components/schemas/', '')]).toBeDefined();
    }
    expect(doc.components.schemas.Message).toBeDefined();
    expect(JSON.stringify(doc)).not.toContain('__shared');
    expect(Object.values(doc.channels).map((c) => c.address)).toEqual(['/ws/chat', '/api/messages/stream/{room_id}', '/api/events/stream']);
  });
});
