import { idParam } from '../../lib/http-schemas.ts';

/** Room ids in paths: positive integers; anything else is a 400, never a 500. */
export const roomIdParam = idParam;
