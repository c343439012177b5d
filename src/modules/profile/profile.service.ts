import type { MultipartFile } from '@fastify/multipart';
import { badRequest, payloadTooLarge, unsupportedMediaType } from '../../lib/errors.ts';
import { parsingMultipart } from '../../lib/multipart.ts';
import type { UserService } from '../users/user.service.ts';
import { toUserView } from '../users/user.view.ts';
import type { UserView } from '../users/user.schemas.ts';
import type { AvatarStorage } from './avatar.storage.ts';
import { sniffImage } from '../../lib/image-sniff.ts';
import { MAX_AVATAR_BYTES, type UpdateProfileBody } from './profile.schemas.ts';

export class ProfileService {
  constructor(
    private readonly users: UserService,
    private readonly avatars: AvatarStorage,
  ) {}

  me(userId: number): Promise<UserView> {
    return this.users.view(userId, userId);
  }

  /** Another user's profile, by the rules `GET /api/users/:user_id` shares (UserService.view). */
  view(viewerId: number, userId: number): Promise<UserView> {
    return this.users.view(viewerId, userId);
  }

  async update(userId: number, changes: UpdateProfileBody): Promise<UserView> {
    const user = await this.users.update(userId, {
      ...(changes.display_name !== undefined ? { displayName: changes.display_name } : {}),
      ...(changes.status_message !== undefined ? { statusMessage: changes.status_message || null } : {}),
    });
    return toUserView(user, { showEmail: true });
  }

  async replaceAvatar(userId: number, file: MultipartFile | undefined): Promise<UserView> {
    if (!file || file.fieldname !== 'image') throw badRequest('Send the picture as multipart field "image"');
    const bytes = await parsingMultipart(() => file.toBuffer());
    if (file.file.truncated || bytes.length > MAX_AVATAR_BYTES) throw payloadTooLarge('Images may be at most 5 MB');
    if (bytes.length === 0) throw badRequest('The image is empty');
    const kind = sniffImage(bytes);
    if (!kind) throw unsupportedMediaType('Only PNG, JPEG, WebP or GIF images are accepted');

    const previous = await this.users.findActiveById(userId);
    const url = await this.avatars.save(userId, bytes, kind);
    const user = await this.users.update(userId, { profileImageUrl: url });
    await this.avatars.remove(previous?.profileImageUrl ?? null);
    return toUserView(user, { showEmail: true });
  }

  async removeAvatar(userId: number): Promise<void> {
    const user = await this.users.findActiveById(userId);
    if (!user?.profileImageUrl) return;
    await this.users.update(userId, { profileImageUrl: null });
    await this.avatars.remove(user.profileImageUrl);
  }
}
