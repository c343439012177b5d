import type { MultipartFile } from '@fastify/multipart';
import { badRequest, notFound, payloadTooLarge, unsupportedMediaType } from '../../lib/errors.ts';
import { parsingMultipart } from '../../lib/multipart.ts';
import type { RelationshipService } from '../users/relationship.service.ts';
import type { UserService } from '../users/user.service.ts';
import { toUserView } from '../users/user.view.ts';
import type { UserView } from '../users/user.schemas.ts';
import type { AvatarStorage } from './avatar.storage.ts';
import { sniffImage } from './image-sniff.ts';
import { MAX_AVATAR_BYTES, type UpdateProfileBody } from './profile.schemas.ts';

export class ProfileService {
  constructor(
    private readonly users: UserService,
    private readonly relationships: RelationshipService,
    private readonly avatars: AvatarStorage,
  ) {}

  async me(userId: number): Promise<UserView> {
    const user = await this.users.findActiveById(userId);
    if (!user) throw notFound(`User ${userId} not found`);
    return toUserView(user, { showEmail: true });
  }

  /** Another user's profile: hidden (404) when unknown, inactive, or blocked either way. */
  async view(viewerId: number, userId: number): Promise<UserView> {
    if (viewerId === userId) return this.me(userId);
    const [user, relationship] = await Promise.all([
      this.users.findActiveById(userId),
      this.relationships.between(viewerId, userId),
    ]);
    if (!user || relationship.blockedEitherWay) throw notFound(`User ${userId} not found`);
    return toUserView(user, { showEmail: relationship.areFriends });
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
