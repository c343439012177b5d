-- AlterTable: a message's version, 1 when sent, +1 with every edit, deletion and reaction toggle.
-- Existing messages start at 1. An instant ADD COLUMN on MariaDB 10.3+ and MySQL 8.0.12+.
ALTER TABLE `messages` ADD COLUMN `version` INTEGER NOT NULL DEFAULT 1;
