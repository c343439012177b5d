import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AttachmentCleanup } from './attachment.cleanup.ts';
import { AttachmentService } from './attachment.service.ts';
import { AttachmentStore } from './attachment.store.ts';
import { AttachmentSweeper } from './attachment.sweeper.ts';
import { AttachmentUrls } from './attachment-urls.ts';
import { readRoutes, uploadRoutes } from './attachments.routes.ts';
import { openFileStorage } from './storage/index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    attachments: { service: AttachmentService; urls: AttachmentUrls; sweeper: AttachmentSweeper };
  }
}

/**
 * Attachments: upload at POST /api/messages/:room_id/attachments, reads at /api/attachments,
 * files in the local directory or an S3-compatible bucket, and the sweep of unsent uploads.
 * The messages module sends, shows and deletes them through AttachmentService.
 */
async function attachmentsModule(app: FastifyInstance): Promise<void> {
  const storage = openFileStorage(app.config);
  const store = new AttachmentStore(app.db);
  const cleanup = new AttachmentCleanup(store, storage);
  const urls = new AttachmentUrls(app.config.JWT_SECRET, app.config.ATTACHMENT_URL_TTL_S);
  const log = app.log.child({ module: 'attachments' });
  const service = new AttachmentService({ store, storage, urls, cleanup, rooms: app.rooms.service, maxBytes: app.config.ATTACHMENT_MAX_BYTES, log });
  const sweeper = new AttachmentSweeper(app.redis, cleanup, log);
  app.decorate('attachments', { service, urls, sweeper });
  app.addHook('onReady', async () => sweeper.start());
  app.addHook('onClose', async () => {
    sweeper.stop();
    await storage.close();
  });
  await app.register(uploadRoutes, { prefix: '/api/messages' });
  await app.register(readRoutes, { prefix: '/api/attachments' });
}

export default fp(attachmentsModule, { name: 'attachments', dependencies: ['auth', 'rooms', 'redis', 'prisma'] });
