-- CreateTable: files uploaded into rooms. No foreign keys: a row outlives its room (and message)
-- until its files are removed from storage, by the room's clean-up or by the sweep.
CREATE TABLE `attachments` (
    `id` CHAR(32) NOT NULL,
    `room_id` INTEGER NOT NULL,
    `uploader_id` INTEGER NOT NULL,
    `name` VARCHAR(255) NOT NULL,
    `size` INTEGER NOT NULL,
    `content_type` VARCHAR(100) NOT NULL,
    `kind` ENUM('image', 'file') NOT NULL,
    `width` INTEGER NULL,
    `height` INTEGER NULL,
    `storage_key` VARCHAR(100) NOT NULL,
    `thumbnail_key` VARCHAR(100) NULL,
    `sent_at` DATETIME(3) NULL,
    `client_message_id` VARCHAR(100) NULL,
    `message_id` VARCHAR(64) NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `deleted_at` DATETIME(3) NULL,

    -- A room's attachments (its clean-up).
    INDEX `attachments_room_id_idx`(`room_id`),
    -- The sweep: uploads never sent (sent_at NULL) older than 24 h.
    INDEX `attachments_sent_at_created_at_idx`(`sent_at`, `created_at`),
    -- The sweep: deletions whose files could not be removed at once.
    INDEX `attachments_deleted_at_idx`(`deleted_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AlterTable: the attachment a message sends (an instant ADD COLUMN on MariaDB 10.3+ / MySQL 8).
ALTER TABLE `messages` ADD COLUMN `attachment_id` CHAR(32) NULL;
