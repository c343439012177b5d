import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { assertStorageKey, type FileStorage, type StoredObject } from './file-storage.ts';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** Any S3-compatible server (MinIO, s3rver, ...); unset means AWS itself. */
  endpoint?: string | undefined;
  /** Both or neither; neither uses the SDK's default credential chain (IAM role, env, ...). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

function isNoSuchKey(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404);
}

/** Objects in one bucket of an S3-compatible store, named by their keys. */
export class S3FileStorage implements FileStorage {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    const { accessKeyId, secretAccessKey } = options;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
      // Checksums only where S3 requires them: the SDK's newer default (a CRC trailer on every
      // upload, aws-chunked encoding) is not understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** One PutObject with the stream and its known length: nothing is buffered. */
  async put(key: string, body: Readable | Buffer, size: number, contentType: string): Promise<void> {
    assertStorageKey(key);
    // The SDK does not listen for the source's errors: one aborts the request, and is what put() reports.
    const abort = new AbortController();
    let sourceError: unknown;
    const onSourceError = (error: unknown) => {
      sourceError = error;
      abort.abort(error);
    };
    if (!Buffer.isBuffer(body)) body.once('error', onSourceError);
    try {
      const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: size, ContentType: contentType });
      await this.client.send(command, { abortSignal: abort.signal });
    } catch (error) {
      throw sourceError ?? error;
    } finally {
      if (!Buffer.isBuffer(body)) body.off('error', onSourceError);
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    assertStorageKey(key);
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!(object.Body instanceof Readable)) throw new Error('S3 GetObject gave no stream');
      return { body: object.Body, size: object.ContentLength ?? 0 };
    } catch (error) {
      if (isNoSuchKey(error)) return null;
      throw error;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    keys.forEach(assertStorageKey);
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const result = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed = (result.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new Error(`S3 could not delete ${failed.length} object(s): ${failed[0]?.Code ?? 'unknown'}`);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
