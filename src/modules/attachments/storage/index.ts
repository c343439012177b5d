import { type Config, ConfigError } from '../../../config.ts';
import type { FileStorage } from './file-storage.ts';
import { LocalFileStorage } from './local-file.storage.ts';
import { S3FileStorage } from './s3-file.storage.ts';

export type { FileStorage, StoredObject } from './file-storage.ts';

/**
 * S3 when S3_BUCKET is set, else the local directory UPLOAD_DIR (keys start with `attachments/`,
 * a folder that /uploads/ never serves: see app.ts).
 */
export function openFileStorage(config: Config): FileStorage {
  if (!config.S3_BUCKET) return new LocalFileStorage(config.UPLOAD_DIR);
  if (Boolean(config.S3_ACCESS_KEY_ID) !== Boolean(config.S3_SECRET_ACCESS_KEY)) {
    throw new ConfigError('S3_ACCESS_KEY_ID', 'and S3_SECRET_ACCESS_KEY must be given together (or neither, for the default AWS credentials)');
  }
  return new S3FileStorage({
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
  });
}
