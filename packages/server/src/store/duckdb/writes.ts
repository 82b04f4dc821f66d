/**
 * Writing to the DuckDB store: what a `BatchPreparer` starts from, and one prepared batch
 * committed in one transaction on the write connection (its rows inserted chunk by chunk through
 * the chunk feeds, the small tables and the write progress inserted). What the store remembers of
 * a commit (its counters, slots, time range) stays with the store.
 */
import { type DuckDBConnection, LIST, listValue, UBIGINT, UINTEGER, UTINYINT, VARCHAR } from '@duckdb/node-api';
import type { WriteProgress } from '../../query/span-store.ts';
import {
  ATTR_INDEX_KINDS,
  type PreparedBatch,
  type PreparerState,
  SPAN_COLUMN_KINDS,
  TRACE_PART_KINDS,
} from '../batch-preparer.ts';
import { ChunkFeed, checkColumnKinds, duckdbTypeOf } from '../chunk-writer.ts';
import { columnsOf } from './sql.ts';

/** Column types of the tables writes append to, from the kinds the preparer builds (checked at open). */
const SPAN_COLUMN_TYPES = SPAN_COLUMN_KINDS.map(duckdbTypeOf);
const TRACE_PART_TYPES = TRACE_PART_KINDS.map(duckdbTypeOf);
const ATTR_INDEX_TYPES = ATTR_INDEX_KINDS.map(duckdbTypeOf);
const DEFAULT_ATTRIBUTE_INDEX_THRESHOLD = 64;

/**
 * The table functions that feed prepared chunks into the tables a write appends to, registered
 * once on the write connection (see `ChunkFeed`).
 */
export interface ChunkFeeds {
  readonly spans: ChunkFeed;
  readonly traceParts: ChunkFeed;
  readonly attrIndex: ChunkFeed;
}

/** Registers the write connection's chunk feeds. */
export function registerChunkFeeds(db: DuckDBConnection): ChunkFeeds {
  return {
    spans: ChunkFeed.register(db, 'ariadne_feed_spans', SPAN_COLUMN_TYPES),
    traceParts: ChunkFeed.register(db, 'ariadne_feed_trace_parts', TRACE_PART_TYPES),
    attrIndex: ChunkFeed.register(db, 'ariadne_feed_attr_index', ATTR_INDEX_TYPES),
  };
}

/**
 * Checks that the tables writes append to have the columns the preparer builds rows for; throws
 * on the first that differs (a store written by another version).
 */
export async function checkAppendTargets(db: DuckDBConnection): Promise<void> {
  for (const [table, kinds] of [
    ['spans', SPAN_COLUMN_KINDS],
    ['trace_parts', TRACE_PART_KINDS],
    ['attr_index', ATTR_INDEX_KINDS],
  ] as const) {
    const appender = await db.createAppender(table);
    try {
      checkColumnKinds(appender, kinds, table);
    } finally {
      appender.closeSync();
    }
  }
}

/**
 * What a `BatchPreparer` starts from: the assignments committed on `db`, with the store's
 * `writes` committed since open and its `attributeIndexThreshold` (default 64).
 */
export async function readPreparerState(
  db: DuckDBConnection,
  writes: number,
  attributeIndexThreshold: number | undefined,
): Promise<PreparerState> {
  const slots = columnsOf(await db.runAndReadAll('SELECT key, slot FROM attr_slots ORDER BY slot'));
  const resources = columnsOf(await db.runAndReadAll('SELECT id, no FROM resources'));
  const scopes = columnsOf(await db.runAndReadAll('SELECT id FROM scopes'));
  const ops = columnsOf(await db.runAndReadAll('SELECT service, name FROM operations'));
  const frequent = columnsOf(await db.runAndReadAll('SELECT h FROM attr_frequent'));
  return {
    slots: slots[0].map((key, i) => [key as string, Number(slots[1][i])] as const),
    resources: resources[0].map((id, i) => [id as bigint, resources[1][i] as number] as const),
    scopeIds: scopes[0] as bigint[],
    operations: ops[0].map((service, i) => [service as string, ops[1][i] as string] as const),
    frequent: frequent[0] as number[],
    attributeIndexThreshold: attributeIndexThreshold ?? DEFAULT_ATTRIBUTE_INDEX_THRESHOLD,
    writes,
  };
}

/**
 * Commits `batch` (and `progress`, if given) in one transaction on `db`; rolls back and throws if
 * any part fails. Does not check that the batch is the store's next one. With
 * `insertAllOperations` (after retention deleted pairs), every (service, name) pair of the batch
 * that `operations` lacks is inserted, not only those its preparer took for new.
 */
export async function commitBatch(
  db: DuckDBConnection,
  feeds: ChunkFeeds,
  batch: PreparedBatch,
  progress: WriteProgress | undefined,
  insertAllOperations = false,
  giveWay: () => Promise<void> = async () => {},
): Promise<void> {
  await giveWay();
  await db.run('BEGIN TRANSACTION');
  try {
    await feeds.spans.insert(db, 'spans', batch.spans);
    await giveWay();
    await feeds.traceParts.insert(db, 'trace_parts', batch.traceParts);
    await feeds.attrIndex.insert(db, 'attr_index', batch.attrIndex);
    await giveWay();
    if (batch.frequentMarks.length > 0) {
      await db.run(
        'INSERT INTO attr_frequent SELECT unnest($1)',
        [listValue([...batch.frequentMarks])],
        [LIST(UINTEGER)],
      );
    }
    for (const r of batch.resources) {
      await db.run(
        `INSERT INTO resources VALUES ($1, $2, $3, CASE WHEN $4 = '' THEN []::VARCHAR[] ELSE string_split($4, chr(31)) END, $5)`,
        [r.id, r.no, r.service, r.attributes, r.body],
        [UBIGINT, UINTEGER, VARCHAR, VARCHAR, VARCHAR],
      );
    }
    for (const scope of batch.scopes) {
      await db.run(
        'INSERT INTO scopes SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM scopes WHERE id = $1)',
        [scope.id, scope.body],
        [UBIGINT, VARCHAR],
      );
    }
    if (batch.slotKeys.length > 0) {
      await db.run(
        'INSERT INTO attr_slots SELECT unnest($1), unnest($2)',
        [listValue([...batch.slotKeys]), listValue(batch.slotKeys.map((_, i) => batch.firstSlot + i))],
        [LIST(VARCHAR), LIST(UTINYINT)],
      );
    }
    const operations = insertAllOperations ? batch.allOperations : batch.operations;
    if (operations.length > 0) {
      await db.run(
        `INSERT INTO operations SELECT DISTINCT n.service, n.name FROM (SELECT unnest($1) AS service, unnest($2) AS name) n
             WHERE NOT EXISTS (SELECT 1 FROM operations o WHERE o.service = n.service AND o.name = n.name)`,
        [listValue(operations.map((p) => p[0])), listValue(operations.map((p) => p[1]))],
        [LIST(VARCHAR), LIST(VARCHAR)],
      );
    }
    if (progress !== undefined) await writeProgress(db, progress);
    await db.run('COMMIT');
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Replaces the rows of `progress` (its position, and each counter as `source.name`) in write_progress. */
async function writeProgress(db: DuckDBConnection, progress: WriteProgress): Promise<void> {
  const sources = [progress.source];
  const positions = [progress.position];
  for (const [name, value] of Object.entries(progress.counters ?? {})) {
    sources.push(`${progress.source}.${name}`);
    positions.push(value);
  }
  await db.run('DELETE FROM write_progress WHERE list_contains($1, source)', [listValue(sources)], [LIST(VARCHAR)]);
  await db.run(
    'INSERT INTO write_progress SELECT unnest($1), unnest($2)',
    [listValue(sources), listValue(positions)],
    [LIST(VARCHAR), LIST(UBIGINT)],
  );
}
