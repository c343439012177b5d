import type { Readable } from 'node:stream';

export interface StoredObject {
  body: Readable;
  size: number;
}

/**
 * Where attachment bytes live: a local directory (the default) or an S3-compatible bucket.
 * Keys are made by the attachments module from ids (never from user input) and checked by
 * `assertStorageKey` in every adapter. test/attachments/storage.contract.ts runs one suite
 * against each adapter.
 */
export interface FileStorage {
  readonly kind: 'local' | 's3';
  /** Stores `size` bytes under `key`, streamed (replacing an object already there). */
  put(key: string, body: Readable | Buffer, size: number, contentType: string): Promise<void>;
  /** The object as a stream, or null when there is none. */
  get(key: string): Promise<StoredObject | null>;
  /** Removes the objects; keys with no object are fine. */
  delete(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Lower-case letters and digits in segments joined by `/`, `.`, `_` or `-`: never `..`, never absolute. */
const STORAGE_KEY = /^[a-z0-9]+(?:[/._-][a-z0-9]+)*$/;

export class InvalidStorageKeyError extends Error {
  constructor(key: string) {
    super(`Not a storage key: ${JSON.stringify(key.slice(0, 80))}`);
    this.name = 'InvalidStorageKeyError';
  }
}

export function assertStorageKey(key: string): void {
  if (key.length > 200 || !STORAGE_KEY.test(key)) throw new InvalidStorageKeyError(key);
}
