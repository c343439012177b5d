import { type Collection, type CreateIndexesOptions, type Document, type IndexSpecification, MongoServerError } from 'mongodb';

export interface IndexSpec {
  key: Record<string, 1 | -1>;
  name: string;
  unique?: boolean;
  partialFilterExpression?: Document;
}

/** createIndex refused: an index with this key exists under other options or another name. */
const INDEX_OPTIONS_CONFLICT = 85;
/** createIndex refused: an index with this name exists with another key. */
const INDEX_KEY_SPECS_CONFLICT = 86;

/**
 * Brings the collection's indexes to `specs`. createIndexes alone stops start-up (codes 85, 86)
 * as soon as a definition in code differs from the one in the database; here the index that is
 * in the way (same name or same key) is dropped and built again with the new definition. While
 * it is rebuilt its constraint is absent, so change unique indexes with care.
 */
export async function ensureIndexes<T extends Document>(collection: Collection<T>, specs: readonly IndexSpec[]): Promise<void> {
  for (const spec of specs) {
    try {
      await createIndex(collection, spec);
    } catch (error) {
      if (!isDefinitionConflict(error)) throw error;
      await dropIndexesInTheWay(collection, spec);
      await createIndex(collection, spec);
    }
  }
}

export function isDefinitionConflict(error: unknown): boolean {
  return error instanceof MongoServerError && (error.code === INDEX_OPTIONS_CONFLICT || error.code === INDEX_KEY_SPECS_CONFLICT);
}

function createIndex<T extends Document>(collection: Collection<T>, spec: IndexSpec): Promise<string> {
  const options: CreateIndexesOptions = { name: spec.name };
  if (spec.unique) options.unique = true;
  if (spec.partialFilterExpression) options.partialFilterExpression = spec.partialFilterExpression;
  return collection.createIndex(spec.key as IndexSpecification, options);
}

async function dropIndexesInTheWay<T extends Document>(collection: Collection<T>, spec: IndexSpec): Promise<void> {
  const existing = await collection.listIndexes().toArray();
  const wantedKey = JSON.stringify(spec.key);
  for (const index of existing) {
    const name = String(index.name);
    if (name === '_id_') continue;
    if (name === spec.name || JSON.stringify(index.key) === wantedKey) await collection.dropIndex(name);
  }
}
