import { MongoNetworkError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isDefinitionConflict } from '../../src/modules/messages/store/mongo-indexes.ts';

/**
 * The MongoDB store migrates an index whose definition changed instead of stopping start-up.
 * Which errors mean "definition changed" is checked here with the driver's own error classes;
 * the migration itself runs in the store contract suite when MONGODB_URL is set.
 */
describe('MongoDB index definition conflicts', () => {
  it('are codes 85 (IndexOptionsConflict) and 86 (IndexKeySpecsConflict) from the server', () => {
    expect(isDefinitionConflict(new MongoServerError({ code: 85, codeName: 'IndexOptionsConflict', errmsg: 'Index already exists with a different name' }))).toBe(true);
    expect(isDefinitionConflict(new MongoServerError({ code: 86, codeName: 'IndexKeySpecsConflict', errmsg: 'An existing index has the same name' }))).toBe(true);
  });

  it('are nothing else: duplicates, other server errors, network errors', () => {
    expect(isDefinitionConflict(new MongoServerError({ code: 11000, errmsg: 'E11000 duplicate key error' }))).toBe(false);
    expect(isDefinitionConflict(new MongoServerError({ code: 2, errmsg: 'BadValue' }))).toBe(false);
    expect(isDefinitionConflict(new MongoNetworkError('connection reset'))).toBe(false);
    expect(isDefinitionConflict(Object.assign(new Error('look-alike'), { code: 85 }))).toBe(false);
  });
});
