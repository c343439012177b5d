import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStorageKeyError } from '../../src/modules/attachments/storage/file-storage.ts';
import type { FileStorage } from '../../src/modules/attachments/storage/index.ts';

export interface StorageFixture {
  storage: FileStorage;
  close(): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `size` pseudo-random bytes made in small chunks (never the whole thing in memory). */
function generated(size: number, seed: number): { stream: Readable; digest: () => string } {
  const chunk = Buffer.alloc(64 * 1024, seed);
  let left = size;
  const stream = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const piece = chunk.subarray(0, Math.min(chunk.length, left));
      left -= piece.length;
      this.push(Buffer.from(piece));
    },
  });
  return { stream, digest: () => `${size}:${seed}` };
}

/**
 * The one behaviour every FileStorage adapter must have: the local directory and an S3-API
 * server (s3rver, started by the test on a real port) both run it.
 */
export function fileStorageContract(name: string, setup: () => Promise<StorageFixture>): void {
  describe(`FileStorage contract: ${name}`, () => {
    let fx: StorageFixture;
    let storage: FileStorage;
    beforeAll(async () => {
      fx = await setup();
      storage = fx.storage;
    });
    afterAll(async () => fx?.close());

    const key = (suffix = '') => `attachments/${randomBytes(1).toString('hex')}/${randomBytes(16).toString('hex')}${suffix}`;

    it('stores a buffer and a stream and gives them back byte for byte, with their size', async () => {
      const small = key('.thumb.webp');
      const bytes = randomBytes(5000);
      await storage.put(small, bytes, bytes.length, 'image/webp');
      const got = await storage.get(small);
      expect(got?.size).toBe(bytes.length);
      expect((await readAll(got!.body)).equals(bytes)).toBe(true);

      const large = key();
      const size = 3 * 1024 * 1024 + 17;
      await storage.put(large, generated(size, 9).stream, size, 'application/octet-stream');
      const back = await storage.get(large);
      expect(back?.size).toBe(size);
      const data = await readAll(back!.body);
      expect(data.length).toBe(size);
      expect(data.every((byte) => byte === 9)).toBe(true);
    });

    it('replaces an object stored again under the same key', async () => {
      const k = key();
      await storage.put(k, Buffer.from('first'), 5, 'text/plain');
      await storage.put(k, Buffer.from('second!'), 7, 'text/plain');
      expect((await readAll((await storage.get(k))!.body)).toString()).toBe('second!');
    });

    it('answers null for a key with no object, and deletes (missing keys included) idempotently', async () => {
      expect(await storage.get(key())).toBeNull();
      const [one, two] = [key(), key('.thumb.webp')];
      await storage.put(one, Buffer.from('1'), 1, 'text/plain');
      await storage.put(two, Buffer.from('2'), 1, 'text/plain');
      await storage.delete([one, two, key()]);
      expect(await storage.get(one)).toBeNull();
      expect(await storage.get(two)).toBeNull();
      await storage.delete([one]);
      await storage.delete([]);
    });

    it('refuses keys that are not plain ids (no traversal, no absolute paths, no user text)', async () => {
      for (const bad of ['../secret', 'attachments/../../etc/passwd', '/etc/passwd', 'a//b', 'A/B', 'a b', '', 'a/./b', 'x\u0000y', 'attachments/%2e%2e']) {
        await expect(storage.put(bad, Buffer.from('x'), 1, 'text/plain'), bad).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.get(bad), bad).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.delete([bad]), bad).rejects.toBeInstanceOf(InvalidStorageKeyError);
      }
    });

    it('fails a put whose stream fails, leaving no object behind', async () => {
      const k = key();
      const failing = new Readable({
        read() {
          this.destroy(new Error('client went away'));
        },
      });
      await expect(storage.put(k, failing, 1000, 'application/octet-stream')).rejects.toThrow();
      expect(await storage.get(k)).toBeNull();
    });
  });
}
