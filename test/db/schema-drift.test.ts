import { readFileSync } from 'node:fs';
import { getDMMF } from '@prisma/get-dmmf';
import * as mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseMysqlUrl } from '../../src/db/mysql-url.ts';

/**
 * The live schema (built by our SQL migrations) must be exactly what schema.prisma describes:
 * same tables, columns, types, nullability, defaults and indexes. This is what
 * `prisma migrate diff` would check if its engine could run here.
 */

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: string;
  type: string;
  isRequired: boolean;
  isUpdatedAt: boolean;
  hasDefaultValue: boolean;
  default?: unknown;
  nativeType?: [string, string[]] | null;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'normal' | 'unique' | 'fulltext';
  dbName?: string | null;
  fields: { name: string }[];
}
interface DmmfEnum {
  name: string;
  values: { name: string; dbName?: string | null }[];
}

interface ColumnRow {
  TABLE_NAME: string;
  COLUMN_NAME: string;
  IS_NULLABLE: 'YES' | 'NO';
  COLUMN_TYPE: string;
  COLUMN_DEFAULT: string | null;
  EXTRA: string;
}
interface IndexRow {
  TABLE_NAME: string;
  INDEX_NAME: string;
  NON_UNIQUE: number | bigint;
  SEQ_IN_INDEX: number | bigint;
  COLUMN_NAME: string;
}

const dmmf = getDMMF({ datamodel: readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8') });
if (!('datamodel' in dmmf)) throw new Error(`schema.prisma does not parse: ${JSON.stringify(dmmf)}`);
const models = dmmf.datamodel.models as unknown as DmmfModel[];
const enums = dmmf.datamodel.enums as unknown as DmmfEnum[];
const indexes = (dmmf.datamodel as unknown as { indexes: DmmfIndex[] }).indexes;

const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
const columnOf = (field: DmmfField) => field.dbName ?? field.name;
const scalarFields = (model: DmmfModel) => model.fields.filter((field) => field.kind === 'scalar' || field.kind === 'enum');

function expectedColumnType(field: DmmfField): string {
  const native = field.nativeType;
  if (field.kind === 'enum') {
    const values = enums.find((e) => e.name === field.type)?.values.map((v) => `'${v.dbName ?? v.name}'`) ?? [];
    return `enum(${values.join(',')})`;
  }
  if (native) {
    const [name, args] = native;
    const base = { VarChar: 'varchar', Text: 'text', DateTime: 'datetime', Char: 'char' }[name] ?? name.toLowerCase();
    return args.length ? `${base}(${args.join(',')})` : base;
  }
  const defaults: Record<string, string> = {
    Int: 'int(11)',
    BigInt: 'bigint(20)',
    Boolean: 'tinyint(1)',
    String: 'varchar(191)',
    DateTime: 'datetime(3)',
    Float: 'double',
  };
  return defaults[field.type] ?? field.type;
}

/** MySQL 8 prints int/bigint without display width; MariaDB with it. Compare without it. */
const normalizeType = (type: string) => type.toLowerCase().replace(/^(int|bigint)\(\d+\)/, '$1');

function expectedIndexName(model: DmmfModel, index: DmmfIndex): string {
  if (index.type === 'id') return 'PRIMARY';
  if (index.dbName) return index.dbName;
  const columns = index.fields.map((f) => columnOf(model.fields.find((field) => field.name === f.name)!));
  return `${tableOf(model)}_${columns.join('_')}_${index.type === 'unique' ? 'key' : 'idx'}`;
}

let conn: mariadb.Connection;
let columns: ColumnRow[];
let indexRows: IndexRow[];

beforeAll(async () => {
  const { connection, database } = parseMysqlUrl(inject('databaseUrl'));
  conn = await mariadb.createConnection({ ...connection, database });
  columns = await conn.query(
    'SELECT TABLE_NAME, COLUMN_NAME, IS_NULLABLE, COLUMN_TYPE, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?',
    [database],
  );
  indexRows = await conn.query(
    'SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX',
    [database],
  );
});
afterAll(async () => conn?.end());

describe('live schema matches schema.prisma', () => {
  it('has exactly the tables of the models (plus _prisma_migrations)', () => {
    const live = new Set(columns.map((c) => c.TABLE_NAME));
    live.delete('_prisma_migrations');
    expect([...live].sort()).toEqual(models.map(tableOf).sort());
  });

  describe.each(models.map((model) => [model.name, model] as const))('%s', (_name, model) => {
    it('has exactly the columns, types, nullability and defaults of the model', () => {
      const live = columns.filter((c) => c.TABLE_NAME === tableOf(model));
      const describeLive = live
        .map((c) => ({
          column: c.COLUMN_NAME,
          type: normalizeType(c.COLUMN_TYPE),
          nullable: c.IS_NULLABLE === 'YES',
          hasDefault: (c.COLUMN_DEFAULT !== null && c.COLUMN_DEFAULT !== 'NULL') || c.EXTRA.includes('auto_increment'),
        }))
        .sort((a, b) => a.column.localeCompare(b.column));
      const describeModel = scalarFields(model)
        .map((field) => ({
          column: columnOf(field),
          type: normalizeType(expectedColumnType(field)),
          nullable: !field.isRequired,
          hasDefault: field.hasDefaultValue && !field.isUpdatedAt,
        }))
        .sort((a, b) => a.column.localeCompare(b.column));
      expect(describeLive).toEqual(describeModel);
    });

    it('has exactly the indexes of the model', () => {
      const liveIndexes = new Map<string, { unique: boolean; columns: string[] }>();
      for (const row of indexRows.filter((r) => r.TABLE_NAME === tableOf(model))) {
        const entry = liveIndexes.get(row.INDEX_NAME) ?? { unique: Number(row.NON_UNIQUE) === 0, columns: [] };
        entry.columns.push(row.COLUMN_NAME);
        liveIndexes.set(row.INDEX_NAME, entry);
      }
      const modelIndexes = new Map(
        indexes
          .filter((index) => index.model === model.name)
          .map((index) => [
            expectedIndexName(model, index),
            {
              unique: index.type !== 'normal' && index.type !== 'fulltext',
              columns: index.fields.map((f) => columnOf(model.fields.find((field) => field.name === f.name)!)),
            },
          ]),
      );
      const sortByName = (m: Map<string, unknown>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
      expect(sortByName(liveIndexes)).toEqual(sortByName(modelIndexes));
    });
  });
});
