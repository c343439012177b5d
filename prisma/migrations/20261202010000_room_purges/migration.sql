-- CreateTable: clean-ups still owed for deleted rooms (their messages in the message store and
-- their caches). A row is written in the transaction that deletes the room and removed once the
-- clean-up succeeded, so a failed one is retried until done. No foreign key: the room is gone.
CREATE TABLE `room_purges` (
    `room_id` INTEGER NOT NULL,
    `requested_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `attempts` INTEGER NOT NULL DEFAULT 0,

    INDEX `room_purges_requested_at_idx`(`requested_at`),
    PRIMARY KEY (`room_id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
