import { mkdtempSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalFileStorage } from '../../src/modules/attachments/storage/local-file.storage.ts';
import { S3FileStorage } from '../../src/modules/attachments/storage/s3-file.storage.ts';
import { startS3rver } from '../helpers/attachments.ts';
import { fileStorageContract } from './storage.contract.ts';

fileStorageContract('local directory', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'bigtech-storage-'));
  return {
    storage: new LocalFileStorage(root),
    close: async () => {
      // Nothing half-written is left behind by failed puts.
      const leftovers = readdirSync(root, { recursive: true }).filter((entry) => String(entry).endsWith('.partial'));
      if (leftovers.length > 0) throw new Error(`partial files left: ${leftovers.join(', ')}`);
      await rm(root, { recursive: true, force: true });
    },
  };
});

fileStorageContract('S3 (s3rver, a real S3-API server on a real port)', async () => {
  const s3 = await startS3rver();
  const storage = new S3FileStorage({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
  return {
    storage,
    close: async () => {
      await storage.close();
      await s3.close();
    },
  };
});
