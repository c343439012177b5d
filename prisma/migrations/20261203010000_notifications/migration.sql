-- CreateTable: notifications (contract: Notifications), one row per notification of a recipient.
--
-- At most one UNREAD `message` notification per (user, room), enforced by the database rather
-- than by a read-then-insert (two instances handling two messages of one room at once would
-- both insert): MariaDB and MySQL have no partial indexes, so `unread_message` is a generated
-- column that is TRUE exactly for an unread `message` notification and NULL otherwise, and
-- UNIQUE (user_id, room_id, unread_message) lets NULLs repeat. A new message is then one
-- INSERT ... ON DUPLICATE KEY UPDATE on that key (insert, or count + 1), and marking the row
-- read frees the key for the next one. The generated column is computed from `type` and
-- `read_at` only: InnoDB refuses ON DELETE CASCADE / SET NULL foreign keys on the base
-- columns of a stored generated column, and `room_id`, `user_id` and `actor_id` have them.
CREATE TABLE `notifications` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `user_id` INTEGER NOT NULL,
    `type` ENUM('friend_request', 'friend_accepted', 'message', 'mention') NOT NULL,
    `actor_id` INTEGER NULL,
    `room_id` INTEGER NULL,
    `message_id` VARCHAR(64) NULL,
    `preview` VARCHAR(100) NULL,
    `count` INTEGER NOT NULL DEFAULT 1,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `read_at` DATETIME(3) NULL,
    `unread_message` BOOLEAN AS (IF(`type` = 'message' AND `read_at` IS NULL, TRUE, NULL)) STORED,

    INDEX `notifications_user_id_created_at_idx`(`user_id`, `created_at`),
    INDEX `notifications_user_id_read_at_created_at_idx`(`user_id`, `read_at`, `created_at`),
    UNIQUE INDEX `notifications_user_id_room_id_unread_message_key`(`user_id`, `room_id`, `unread_message`),
    INDEX `notifications_room_id_message_id_idx`(`room_id`, `message_id`),
    INDEX `notifications_actor_id_idx`(`actor_id`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey: a recipient's notifications go with their account, and a room's with the
-- room; a deleted actor leaves the notification in place without them (a room's `message`
-- notification counts every sender's messages, not only the last one's).
ALTER TABLE `notifications` ADD CONSTRAINT `notifications_user_id_fkey` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE `notifications` ADD CONSTRAINT `notifications_actor_id_fkey` FOREIGN KEY (`actor_id`) REFERENCES `users`(`id`) ON DELETE SET NULL ON UPDATE CASCADE;

ALTER TABLE `notifications` ADD CONSTRAINT `notifications_room_id_fkey` FOREIGN KEY (`room_id`) REFERENCES `rooms`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
