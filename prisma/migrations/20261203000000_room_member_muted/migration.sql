-- AlterTable: a member's room settings (contract: PATCH /api/chat-rooms/:room_id/settings).
-- A muted room raises no `message` notifications for that member. Instant on MariaDB 10.3+ and
-- MySQL 8.0.12+.
ALTER TABLE `room_members` ADD COLUMN `muted` BOOLEAN NOT NULL DEFAULT false;
