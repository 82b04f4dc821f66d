import { type DuckDBConnection, UHUGEINT } from '@duckdb/node-api';
import type { Logger } from '../logger.ts';
import { MAX_SLOTS } from './attribute-slots.ts';

/**
 * The DuckDB store's tables, and the migrations that bring an older database file to them. Each
 * migration runs in one transaction and is recorded in `schema_migrations` (version, when,
 * what), so a file is migrated once, or not at all if the process dies half way.
 *
 * No table has an index or a key constraint: DuckDB keeps those as ART indexes, and a checkpoint
 * without a client context (the one at shutdown) serializes an ART index that is still unbound
 * after WAL replay without the replayed rows (DuckDB issue #23788, open in 1.5.x). Lookups then
 * miss rows that scans find: acknowledged traces read as "not found" for ever. Trace by id scans
 * `trace_parts` (fixed-width columns) instead; uniqueness is the writer's job (one writer
 * connection, which inserts only what its preparer has not seen, and anti-joins the small tables).
 */

/** The attribute slot columns of `spans` (attribute-slots.ts). */
export const SLOT_COLUMNS = Array.from({ length: MAX_SLOTS }, (_, i) => `a${i}`);

/** The schema version this code writes. */
export const SCHEMA_VERSION = 2;

const TABLES = `
CREATE TABLE IF NOT EXISTS spans (
  trace_id UHUGEINT NOT NULL,
  span_id UBIGINT NOT NULL,
  parent_span_id UBIGINT NOT NULL,
  start_ns UBIGINT NOT NULL,
  duration_ns UBIGINT NOT NULL,
  service VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  parent_service VARCHAR,
  kind UTINYINT NOT NULL,
  status_code UTINYINT NOT NULL,
  status_message VARCHAR,
  trace_state VARCHAR,
  flags UINTEGER NOT NULL,
  attr_layout VARCHAR,
  attrs_rest VARCHAR[] NOT NULL,
  dropped_attributes UINTEGER NOT NULL,
  events VARCHAR,
  dropped_events UINTEGER NOT NULL,
  links VARCHAR,
  dropped_links UINTEGER NOT NULL,
  resource_no UINTEGER NOT NULL,
  scope_id UBIGINT NOT NULL,
  ${SLOT_COLUMNS.map((c) => `${c} VARCHAR`).join(',\n  ')}
);
CREATE TABLE IF NOT EXISTS trace_parts (
  trace_id UHUGEINT NOT NULL,
  start_ns UBIGINT NOT NULL,
  last_start_ns UBIGINT NOT NULL,
  span_count UINTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS attr_index (
  h UINTEGER NOT NULL,
  minute UINTEGER NOT NULL
);
`;

/** The small tables, which schema 1 declared with primary keys: their columns without them. */
const KEYED_TABLES: readonly { readonly name: string; readonly columns: string; readonly dedupe: string }[] = [
  { name: 'attr_slots', columns: 'key VARCHAR NOT NULL, slot UTINYINT NOT NULL', dedupe: 'DISTINCT ON (key) *' },
  { name: 'operations', columns: 'service VARCHAR NOT NULL, name VARCHAR NOT NULL', dedupe: 'DISTINCT *' },
  { name: 'attr_frequent', columns: 'h UINTEGER NOT NULL', dedupe: 'DISTINCT *' },
  {
    name: 'resources',
    columns:
      'id UBIGINT NOT NULL, no UINTEGER NOT NULL, service VARCHAR NOT NULL, attrs VARCHAR[] NOT NULL, body VARCHAR NOT NULL',
    dedupe: 'DISTINCT ON (id) *',
  },
  {
    name: 'write_progress',
    columns: 'source VARCHAR NOT NULL, position UBIGINT NOT NULL',
    dedupe: 'source, max(position) AS position',
  },
  { name: 'scopes', columns: 'id UBIGINT NOT NULL, body VARCHAR NOT NULL', dedupe: 'DISTINCT ON (id) *' },
];

const MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL,
  description VARCHAR NOT NULL
);
`;

async function scalar(db: DuckDBConnection, sql: string): Promise<unknown> {
  const rows = (await db.runAndReadAll(sql)).getRows();
  return rows[0]?.[0];
}

async function tableExists(db: DuckDBConnection, name: string): Promise<boolean> {
  const n = await scalar(
    db,
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = '${name}'`,
  );
  return Number(n) > 0;
}

/** What opening found and did. */
export interface SchemaReport {
  /** Version before opening (0: a new file). */
  readonly from: number;
  readonly to: number;
}

/**
 * Creates the tables of a new file, or migrates an older one to `SCHEMA_VERSION`, logging what it
 * did. Throws for a file from a layout no migration covers, or from a newer Ariadne.
 */
export async function migrateSchema(db: DuckDBConnection, file: string, logger: Logger): Promise<SchemaReport> {
  const hadSpans = await tableExists(db, 'spans');
  if (hadSpans) {
    const slotted = await scalar(
      db,
      `SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() AND table_name = 'spans' AND column_name = 'attr_layout'`,
    );
    if (Number(slotted) === 0)
      throw new Error(
        `${file} holds a database in an older Ariadne layout (attributes not in slot columns); move it away and start again`,
      );
  }
  await db.run(MIGRATIONS_TABLE);
  const recorded = await scalar(db, 'SELECT max(version) FROM schema_migrations');
  // Files written before migrations were recorded are schema 1.
  const from = recorded === null || recorded === undefined ? (hadSpans ? 1 : 0) : Number(recorded);
  if (from > SCHEMA_VERSION)
    throw new Error(
      `${file} was written by a newer Ariadne (schema ${from}; this one knows up to ${SCHEMA_VERSION}): upgrade Ariadne`,
    );
  if (from === SCHEMA_VERSION) {
    await dropStrayIndexes(db, file, logger);
    return { from, to: from };
  }

  await db.run('BEGIN TRANSACTION');
  try {
    await db.run(TABLES);
    let lostRows = 0;
    if (from === 1) lostRows = await traceIndexLosses(db);
    await db.run('DROP INDEX IF EXISTS trace_parts_trace_id');
    for (const t of KEYED_TABLES) {
      if (from === 0 || !(await tableExists(db, t.name))) {
        await db.run(`CREATE TABLE ${t.name} (${t.columns})`);
        continue;
      }
      // DuckDB cannot drop a primary key: copy the rows (read by a scan, so a damaged key
      // index loses none) into a table without one.
      const groupBy = t.name === 'write_progress' ? ' GROUP BY source' : '';
      await db.run(`CREATE TABLE ${t.name}__v2 (${t.columns})`);
      await db.run(`INSERT INTO ${t.name}__v2 SELECT ${t.dedupe} FROM ${t.name}${groupBy}`);
      await db.run(`DROP TABLE ${t.name}`);
      await db.run(`ALTER TABLE ${t.name}__v2 RENAME TO ${t.name}`);
    }
    const description =
      from === 0
        ? 'created'
        : 'removed the ART index on trace_parts(trace_id) and the primary keys (DuckDB issue #23788)';
    await db.run(
      `INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION}, now(), '${description.replaceAll("'", "''")}')`,
    );
    await db.run('COMMIT');
    if (from === 1)
      logger.warn(
        { file, fromSchema: from, toSchema: SCHEMA_VERSION, sampledTracesUnreadableByIndex: lostRows },
        lostRows > 0
          ? `store repaired: the trace id index of ${file} had lost rows replayed from the WAL (${lostRows} of the sampled traces were unreadable through it); removed it and the primary keys, every stored trace is readable again`
          : `store migrated: removed the trace id index and the primary keys of ${file} (DuckDB issue #23788 can leave them without rows replayed from the WAL)`,
      );
    return { from, to: SCHEMA_VERSION };
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Drops any index found in a current-schema file: an older Ariadne that opened it re-created its
 * trace id index (its schema says `CREATE INDEX IF NOT EXISTS`), which DuckDB issue #23788 can
 * leave without rows after a crash. Index names come from DuckDB's catalog, not from a client.
 */
async function dropStrayIndexes(db: DuckDBConnection, file: string, logger: Logger): Promise<void> {
  const names = (
    await db.runAndReadAll('SELECT index_name FROM duckdb_indexes() WHERE database_name = current_database()')
  ).getRows();
  for (const [name] of names) {
    const lost = name === 'trace_parts_trace_id' ? await traceIndexLosses(db) : 0;
    await db.run(`DROP INDEX IF EXISTS "${String(name).replaceAll('"', '""')}"`);
    logger.warn(
      { file, index: name, sampledTracesUnreadableByIndex: lost },
      `store: dropped index ${name} of ${file}, which an older Ariadne had re-created (this one keeps no index: DuckDB issue #23788)`,
    );
  }
}

/**
 * How many of up to 256 traces found by scanning `trace_parts` a point lookup (through the ART
 * index of schema 1) does not find: the damage of DuckDB issue #23788, for the log line.
 */
async function traceIndexLosses(db: DuckDBConnection): Promise<number> {
  const indexed = await scalar(
    db,
    `SELECT count(*) FROM duckdb_indexes() WHERE database_name = current_database() AND index_name = 'trace_parts_trace_id'`,
  );
  if (Number(indexed) === 0) return 0;
  // The last rows appended are the ones a WAL replay wrote.
  const ids = (
    await db.runAndReadAll(
      'SELECT DISTINCT trace_id FROM (SELECT trace_id FROM trace_parts ORDER BY rowid DESC LIMIT 256)',
    )
  ).getRows();
  const lookup = await db.prepare('SELECT count(*) FROM trace_parts WHERE trace_id = $1');
  let lost = 0;
  try {
    for (const [id] of ids) {
      lookup.bind([id as bigint], [UHUGEINT]);
      if (Number((await lookup.runAndReadAll()).getRows()[0][0]) === 0) lost++;
    }
  } finally {
    lookup.destroySync();
  }
  return lost;
}
