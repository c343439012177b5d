import { afterAll, beforeAll, expect, it } from 'vitest';
import { S3FileStorage } from '../../src/modules/attachments/storage/s3-file.storage.ts';
import type { MessageView } from '../../src/modules/messages/message.schemas.ts';
import { type App, createTestApp } from '../helpers/app.ts';
import { makeImage, type S3Server, startS3rver, upload } from '../helpers/attachments.ts';
import { createGroup, makeUsers } from '../helpers/rooms.ts';
import type { TestUser } from '../helpers/users.ts';

/** The whole attachment path with S3_BUCKET set: files go to the S3-API server, not to UPLOAD_DIR. */
let s3: S3Server;
let app: App;
let objects: S3FileStorage;

beforeAll(async () => {
  s3 = await startS3rver();
  app = await createTestApp(s3.config);
  objects = new S3FileStorage({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
});
afterAll(async () => {
  await app?.close();
  await objects?.close();
  await s3?.close();
});

it('uploads to the bucket, serves the file and thumbnail from it, and deletes them with the message', async () => {
  const [owner, member] = (await makeUsers(app, 2, 'atts3')) as [TestUser, TestUser];
  const roomId = (await createGroup(app, owner, { member_ids: [member.id] })).id;
  const image = await makeImage('webp', 900, 1200);
  const res = await upload(app, owner, roomId, { data: image, filename: 'tall.webp' });
  expect(res.statusCode, res.body).toBe(201);
  const { attachment } = res.json();
  const key = `attachments/${attachment.id.slice(0, 2)}/${attachment.id}`;
  expect((await objects.get(key))?.size).toBe(image.length);
  expect(await objects.get(`${key}.thumb.webp`)).not.toBeNull();

  const sent = await app.inject({ method: 'POST', url: `/api/messages/${roomId}`, headers: owner.auth, payload: { message_type: 'image', attachment_id: attachment.id } });
  const message = sent.json().message as MessageView;
  const seen = (await app.inject({ url: `/api/messages/${roomId}`, headers: member.auth })).json().messages[0] as MessageView;
  const file = await app.inject({ url: seen.attachment!.url });
  expect(file.statusCode).toBe(200);
  expect(file.rawPayload.equals(image)).toBe(true);
  expect((await app.inject({ url: seen.attachment!.thumbnail_url! })).headers['content-type']).toBe('image/webp');

  expect((await app.inject({ method: 'DELETE', url: `/api/messages/${roomId}/${message.id}`, headers: owner.auth })).statusCode).toBe(204);
  expect(await objects.get(key)).toBeNull();
  expect(await objects.get(`${key}.thumb.webp`)).toBeNull();
  expect((await app.inject({ url: seen.attachment!.url })).statusCode).toBe(404);
});
