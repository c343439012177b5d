import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import sharp from 'sharp';
import type { App } from './app.ts';
import type { TestUser } from './users.ts';

export interface FilePart {
  data: Buffer;
  filename?: string;
  contentType?: string;
  field?: string;
}

export const BOUNDARY = 'attachmentboundary7MA4YWxkTrZu0gW';

/** A multipart/form-data body with the given file parts. */
export function multipartBody(parts: readonly FilePart[], boundary = BOUNDARY): Buffer {
  const chunks = parts.flatMap((part) => [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${part.field ?? 'file'}"; filename="${part.filename ?? 'file.bin'}"\r\n` +
        `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
    ),
    part.data,
    Buffer.from('\r\n'),
  ]);
  return Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]);
}

/** POST /api/messages/:room_id/attachments through inject. */
export function upload(app: App, user: TestUser, roomId: number, part: FilePart) {
  return app.inject({
    method: 'POST',
    url: `/api/messages/${roomId}/attachments`,
    headers: { ...user.auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    payload: multipartBody([part]),
  });
}

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif';

/** A real image of that format made by sharp: a gradient, so it compresses like a picture. */
export async function makeImage(format: ImageFormat, width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const offset = (y * width + x) * 3;
      pixels[offset] = (x * 255) / width;
      pixels[offset + 1] = (y * 255) / height;
      pixels[offset + 2] = ((x + y) * 7) % 256;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer();
}

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** The app config that points the attachments module at it. */
  config: Record<string, string>;
  close(): Promise<void>;
}

/**
 * s3rver: a real S3-API server (HTTP on a real port, objects in a temporary directory), started
 * in the test process with one bucket.
 */
export async function startS3rver(bucket = 'bigtech-test'): Promise<S3Server> {
  const directory = mkdtempSync(path.join(tmpdir(), 'bigtech-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    bucket,
    config: { S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_REGION: 'us-east-1', S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' },
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
