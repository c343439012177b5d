import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageKind } from '../../lib/image-sniff.ts';

export const UPLOADS_URL_PREFIX = '/uploads/';
/** The folder of UPLOAD_DIR that /uploads/avatars/ serves (the only public one). */
export const AVATAR_FOLDER = 'avatars';

/** Avatar files on disk under UPLOAD_DIR/avatars, served from /uploads/avatars/. */
export class AvatarStorage {
  constructor(private readonly uploadDir: string) {}

  async save(userId: number, bytes: Buffer, kind: ImageKind): Promise<string> {
    const fileName = `${userId}-${randomUUID()}.${kind.extension}`;
    const folder = path.join(this.uploadDir, AVATAR_FOLDER);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, fileName), bytes, { flag: 'wx' });
    return `${UPLOADS_URL_PREFIX}${AVATAR_FOLDER}/${fileName}`;
  }

  /** Removes a file this storage wrote; URLs pointing anywhere else are ignored. */
  async remove(url: string | null): Promise<void> {
    const filePath = url ? this.pathOf(url) : undefined;
    if (filePath) await rm(filePath, { force: true });
  }

  pathOf(url: string): string | undefined {
    const prefix = `${UPLOADS_URL_PREFIX}${AVATAR_FOLDER}/`;
    if (!url.startsWith(prefix)) return undefined;
    const fileName = url.slice(prefix.length);
    if (!/^[\w-]+\.(png|jpg|gif|webp)$/.test(fileName)) return undefined;
    return path.join(this.uploadDir, AVATAR_FOLDER, fileName);
  }
}
