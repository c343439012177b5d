import { z } from 'zod';

/** Room ids in paths: positive integers; anything else is a 400, never a 500. */
export const roomIdParam = z.coerce.number().int().positive().max(2_147_483_647);
