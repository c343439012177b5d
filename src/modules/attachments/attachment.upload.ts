import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import { badRequest, payloadTooLarge } from '../../lib/errors.ts';
import { parsingMultipart } from '../../lib/multipart.ts';

/** Enough of the start of a file to judge its type (file-type reads at most 4100 bytes). */
const HEAD_BYTES = 4100;
/** Longest display name kept (the column's size). */
const MAX_NAME_LENGTH = 255;
// Control characters, lone surrogates, bidi overrides and isolates: the name is shown to others as text.
const UNSAFE_NAME_CHARS = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/gu;

/** A file received into a private temporary file, with the bytes needed to judge its type. */
export interface ReceivedFile {
  path: string;
  size: number;
  head: Buffer;
  /** The uploaded name, cleaned for display (never used as a path). */
  name: string;
  dispose(): Promise<void>;
}

export const tooLarge = (maxBytes: number) => payloadTooLarge(`Attachments may be at most ${maxBytes} bytes`);

export function displayName(raw: string | undefined): string {
  const cleaned = (raw ?? '').replace(UNSAFE_NAME_CHARS, '').trim();
  return [...cleaned].slice(0, MAX_NAME_LENGTH).join('') || 'file';
}

/**
 * Streams the part into a temporary file: memory stays flat whatever the size. The limit is
 * enforced while the body arrives: busboy stops at `maxBytes` and says so ('limit'), and the
 * upload is cut off there with 413 instead of reading the rest.
 */
export async function receiveFile(file: MultipartFile, maxBytes: number): Promise<ReceivedFile> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bigtech-attachment-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  const target = path.join(dir, 'upload');
  const head: Buffer[] = [];
  let headLength = 0;
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (headLength < HEAD_BYTES) {
        head.push(chunk.subarray(0, HEAD_BYTES - headLength));
        headLength += Math.min(chunk.length, HEAD_BYTES - headLength);
      }
      done(null, chunk);
    },
  });
  file.file.once('limit', () => file.file.destroy(tooLarge(maxBytes)));
  try {
    await parsingMultipart(() => pipeline(file.file, measure, createWriteStream(target, { flags: 'wx' })));
    if (file.file.truncated) throw tooLarge(maxBytes);
    if (size === 0) throw badRequest('The file is empty');
  } catch (error) {
    await dispose();
    throw error;
  }
  return { path: target, size, head: Buffer.concat(head), name: displayName(file.filename), dispose };
}
