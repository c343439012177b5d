-- Per-room message order (contract: Messages, `seq`). Every message gets its position in its
-- room, 1, 2, 3, ..., taken from `message_sequences` in the transaction that stores it, so the
-- order of `seq` is the order in which sends commit, whichever instance sends.

-- CreateTable: the last `seq` given out per room (a row appears with the room's first message).
CREATE TABLE `message_sequences` (
    `room_id` INTEGER NOT NULL,
    `last_seq` BIGINT NOT NULL,

    PRIMARY KEY (`room_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

ALTER TABLE `message_sequences` ADD CONSTRAINT `message_sequences_room_id_fkey` FOREIGN KEY (`room_id`) REFERENCES `rooms`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- Existing messages: numbered in their old order (the auto-increment id) within each room.
ALTER TABLE `messages` ADD COLUMN `seq` BIGINT NULL;
UPDATE `messages` m
  JOIN (SELECT `id`, ROW_NUMBER() OVER (PARTITION BY `room_id` ORDER BY `id`) AS `position` FROM `messages`) numbered
    ON numbered.`id` = m.`id`
  SET m.`seq` = numbered.`position`;
ALTER TABLE `messages` MODIFY `seq` BIGINT NOT NULL;
CREATE UNIQUE INDEX `messages_room_id_seq_key` ON `messages`(`room_id`, `seq`);
-- (room_id, seq) now serves history, cursors, unread counts and the room foreign key.
DROP INDEX `messages_room_id_id_idx` ON `messages`;

INSERT INTO `message_sequences` (`room_id`, `last_seq`)
  SELECT `room_id`, MAX(`seq`) FROM `messages` GROUP BY `room_id`;

-- Read pointers by position: 0 means nothing read. Existing pointers of the MySQL store get the
-- seq of the message they name (pointers to MongoDB ids are resolved by the MongoDB store).
ALTER TABLE `room_members` ADD COLUMN `last_read_seq` BIGINT NOT NULL DEFAULT 0;
UPDATE `room_members` rm
  JOIN `messages` m ON m.`room_id` = rm.`room_id` AND CAST(m.`id` AS CHAR) = rm.`last_read_message_id`
  SET rm.`last_read_seq` = m.`seq`;
