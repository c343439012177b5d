/**
 * LIKE patterns that take the user's text literally: `%`, `_` and the escape character itself
 * are escaped with `!`, so the statement must say `LIKE ? ESCAPE '!'`. (`!` rather than the
 * default backslash, whose meaning depends on the server's NO_BACKSLASH_ESCAPES mode.)
 */
const escapeLike = (text: string) => text.replace(/[!%_]/g, '!$&');

/** "starts with `text`": a range on an index of the column. */
export const prefixPattern = (text: string) => `${escapeLike(text)}%`;

/** "contains `text`": no index can serve it. */
export const containsPattern = (text: string) => `%${escapeLike(text)}%`;
