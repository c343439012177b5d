import sharp from 'sharp';
import { ConcurrencyLimit } from '../../lib/concurrency-limit.ts';

/** Thumbnails fit in this square. */
export const THUMBNAIL_MAX_SIDE = 320;
export const THUMBNAIL_CONTENT_TYPE = 'image/webp';
/** Larger images are refused as undecodable: a small file can claim a huge canvas (a decompression bomb). */
const MAX_INPUT_PIXELS = 100_000_000;

// Each image is decoded once, at upload: libvips' operation cache would only hold memory.
sharp.cache(false);

/** Decodes at once per process: each holds a decoded image, so this bounds memory under parallel uploads. */
const decodes = new ConcurrencyLimit(2);

export interface ImageFacts {
  /** As displayed (EXIF orientation applied). */
  width: number;
  height: number;
  thumbnail: Buffer;
}

export class UndecodableImageError extends Error {
  constructor(cause: unknown) {
    super('The image does not decode', { cause });
    this.name = 'UndecodableImageError';
  }
}

/**
 * Measures the image in the file and makes its thumbnail (WebP, at most 320 px a side, first
 * frame of an animation). Making the thumbnail decodes the whole image, so a file that only
 * starts like an image (or is cut short) is refused with UndecodableImageError.
 */
export function inspectImage(filePath: string): Promise<ImageFacts> {
  return decodes.run(async () => {
    const open = () => sharp(filePath, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true });
    try {
      const metadata = await open().metadata();
      const thumbnail = await open()
        .autoOrient()
        .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 })
        .toBuffer();
      return { width: metadata.autoOrient.width, height: metadata.autoOrient.height, thumbnail };
    } catch (error) {
      throw new UndecodableImageError(error);
    }
  });
}
