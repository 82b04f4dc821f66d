import type { Logger } from '../../logger.ts';
import type { ClickHouseExecutor } from './executor.ts';
import { sqlIdentifier, sqlString, sqlUInt64 } from './sql.ts';

/**
 * The ClickHouse schema and its migrations.
 *
 * Tables (with a cluster, each is a `…_local` MergeTree table on every shard, created
 * `ON CLUSTER`, under a Distributed table of the plain name; spans and their index are sharded by
 * a hash of the trace id, so a trace lives on one shard and joins within a trace stay local):
 *
 * - `spans`: every field of every span, ordered by trace id, so trace by id is one key lookup
 *   per day partition; the sorting key goes on to kind, start and parent, because the replacing
 *   engine merges rows with one key: only an insert's exact repeat may merge, never the client
 *   and server halves of a Zipkin span that share one id; ids as bytes; attribute keys and values in two arrays (a service's key
 *   lists repeat and compress to nearly nothing); the resource and scope by the id of their
 *   stored text;
 * - `span_index`: what searches and statistics read (service, name, start, duration, status,
 *   trace and span id, span and resource attributes, the parent's service when it arrived in the
 *   same write), ordered by service, name and start;
 * - `traces`: each trace's first start and last end (a row per write holding it), so that a trace
 *   read or a search's summaries read only the partitions and granules of that time;
 * - `attr_index`: which minutes hold a span with a given attribute (a 32-bit hash of its stored
 *   string, span or resource), one row per distinct pair, `covered` when every trace holding it in
 *   that write is in `attr_traces`;
 * - `attr_traces`: for values found in one trace only of a write (ids, order numbers), that
 *   trace's id prefix: a search for a nearly unique value reads those traces, not minutes of every
 *   service's spans;
 * - `bodies`: each distinct resource and scope text once, by a 64-bit hash of it;
 * - `operations`: the (service, span name) pairs of each day, for the service and operation lists;
 * - `write_progress`: positions and counters of writers' inputs (`ariadne copy`);
 * - `schema_migrations`: the versions applied.
 *
 * With a cluster whose shards have several replicas (`system.clusters`), every `…_local` table is
 * its Replicated variant (`ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/<db>/<table>',
 * '{replica}')`): the replicas of a shard copy each other's parts through ZooKeeper, and the
 * cluster must have `internal_replication` on, so that a Distributed insert writes one replica of
 * each shard rather than every replica itself. The server's `{shard}` and `{replica}` macros name
 * it. With one replica a shard (or one server), the plain engines, as before.
 *
 * Every data table is partitioned by UTC day of span start (`intDiv(start_ns, 86400e9)`), so
 * retention drops whole partitions. Replacing engines remove the duplicates an insert retried
 * after a lost acknowledgement leaves behind; reads never count on that and deduplicate.
 *
 * Migrations are idempotent (`IF NOT EXISTS`), so nodes starting together may run the same one:
 * each records its version after its statements succeeded.
 */

/** What the server's version allows (it is read once, at open). */
export interface EngineFeatures {
  readonly version: string;
  /** `LowCardinality(String)` for service and span names (GA since 19.x). */
  readonly lowCardinality: boolean;
  /** Column compression codecs (`CODEC(ZSTD(1))`, since 19.x). */
  readonly codecs: boolean;
}

export function engineFeatures(version: string): EngineFeatures {
  const [major, minor] = version.split('.').map((p) => Number.parseInt(p, 10));
  const atLeast = (m: number, n: number) => major > m || (major === m && minor >= n);
  return { version, lowCardinality: atLeast(19, 9), codecs: atLeast(20, 1) };
}

/** Names of the store's tables in one database, for a single server or a cluster. */
export interface TableNames {
  readonly database: string;
  readonly cluster?: string;
  /** The table queries read and inserts write (the Distributed one with a cluster). */
  readonly spans: string;
  readonly spanIndex: string;
  readonly operations: string;
  readonly bodies: string;
  readonly attrIndex: string;
  readonly attrTraces: string;
  readonly traces: string;
  readonly progress: string;
  readonly migrations: string;
  /** The shard-local tables, for subqueries inside a query over a Distributed table. */
  readonly spansLocal: string;
  readonly spanIndexLocal: string;
}

export function tableNames(database: string, cluster?: string): TableNames {
  const db = sqlIdentifier(database);
  const local = cluster ? '_local' : '';
  return {
    database: db,
    cluster,
    spans: `${db}.spans`,
    spanIndex: `${db}.span_index`,
    operations: `${db}.operations`,
    bodies: `${db}.bodies`,
    attrIndex: `${db}.attr_index`,
    attrTraces: `${db}.attr_traces`,
    traces: `${db}.traces`,
    progress: `${db}.write_progress`,
    migrations: `${db}.schema_migrations`,
    spansLocal: `${db}.spans${local}`,
    spanIndexLocal: `${db}.span_index${local}`,
  };
}

const DAY_PARTITION = 'intDiv(start_ns, 86400000000000)';
/**
 * Granules of 1,024 rows instead of 8,192 for the tables read by key lookups of a few rows (a
 * trace's spans, a trace's time range, a minute of one operation): a lookup reads an eighth of the
 * rows, for a primary index eight times larger (still a few MB in memory at a billion spans).
 */
const SMALL_GRANULES = 'SETTINGS index_granularity = 1024';

interface TableSpec {
  readonly name: string;
  readonly columns: string;
  readonly engine: string;
  /** Sharding key of the Distributed table (a cluster only). */
  readonly shardBy: string;
}

/**
 * Column codecs, where the server has them (`features.codecs`; 18.16 compresses everything with
 * LZ4). Chosen column by column from `npm run bench:bytes` (bench/clickhouse-bytes.ts), which
 * loads the benchmark workload and measures every candidate:
 *
 * - `ARRAYS` for the attribute arrays, most of the bytes: from level 6 on, ZSTD finds the repeats
 *   of a service's key lists and values across rows, which levels 1–3 and LZ4 mostly miss (at the
 *   price of more CPU on inserts and merges than level 1);
 * - `TIMES` for nanosecond starts, durations and first/last times: T64 drops the high bytes the
 *   values of a granule share; ZSTD packs the rest;
 * - `SMALL` for enums and counters (kind, status): T64 packs them to the bits they use;
 * - `PACKED` for the rest worth compressing (ids that repeat within a trace, resource ids,
 *   hashes): plain ZSTD; `attr_index` minutes, sorted within a hash, as deltas.
 *
 * Random ids (span ids) compress with nothing, and are left to the default.
 */
function codecs(features: EngineFeatures) {
  const c = (codec: string) => (features.codecs ? ` CODEC(${codec})` : '');
  return {
    ARRAYS: c('ZSTD(6)'),
    TIMES: c('T64, ZSTD(1)'),
    SMALL: c('T64, LZ4'),
    PACKED: c('ZSTD(1)'),
    SORTED: c('Delta, ZSTD(1)'),
  };
}

function tables(features: EngineFeatures): TableSpec[] {
  const lc = features.lowCardinality ? 'LowCardinality(String)' : 'String';
  const { ARRAYS, TIMES, SMALL, PACKED, SORTED } = codecs(features);
  return [
    {
      name: 'spans',
      columns: `trace_id FixedString(16)${PACKED}, span_id FixedString(8), parent_span_id FixedString(8)${PACKED},
        start_ns UInt64${TIMES}, duration_ns UInt64${TIMES}, service ${lc}, name ${lc}, kind UInt8${SMALL},
        status_code UInt8${SMALL}, status_message String${PACKED}, trace_state String, flags UInt32,
        attr_keys Array(String)${ARRAYS}, attr_values Array(String)${ARRAYS}, dropped_attributes UInt32,
        events String${PACKED}, dropped_events UInt32, links String${PACKED}, dropped_links UInt32,
        resource_id UInt64${PACKED}, scope_id UInt64${PACKED}`,
      engine: `ReplacingMergeTree() PARTITION BY ${DAY_PARTITION} ORDER BY (trace_id, span_id, kind, start_ns, parent_span_id) ${SMALL_GRANULES}`,
      shardBy: 'cityHash64(trace_id)',
    },
    {
      name: 'span_index',
      columns: `service ${lc}, name ${lc}, start_ns UInt64${TIMES}, duration_ns UInt64${TIMES},
        status_code UInt8${SMALL}, trace_id FixedString(16)${PACKED}, span_id FixedString(8),
        attrs Array(String)${ARRAYS}, parent_service ${lc}, parent_unresolved UInt8`,
      engine: `ReplacingMergeTree() PARTITION BY ${DAY_PARTITION} ORDER BY (service, name, start_ns, trace_id, span_id) ${SMALL_GRANULES}`,
      shardBy: 'cityHash64(trace_id)',
    },
    {
      name: 'traces',
      columns: `trace_id FixedString(16), first_ns UInt64${TIMES}, last_ns UInt64${TIMES}`,
      engine: `ReplacingMergeTree() PARTITION BY intDiv(first_ns, 86400000000000) ORDER BY (trace_id, first_ns, last_ns) ${SMALL_GRANULES}`,
      shardBy: 'cityHash64(trace_id)',
    },
    {
      name: 'attr_index',
      columns: `h UInt32${PACKED}, minute UInt32${SORTED}, covered UInt8`,
      engine: 'ReplacingMergeTree() PARTITION BY intDiv(minute, 1440) ORDER BY (h, minute, covered)',
      shardBy: 'h',
    },
    {
      name: 'attr_traces',
      columns: `h UInt32, trace_prefix UInt32, minute UInt32${TIMES}`,
      engine: 'ReplacingMergeTree() PARTITION BY intDiv(minute, 1440) ORDER BY (h, trace_prefix, minute)',
      shardBy: 'h',
    },
    {
      name: 'bodies',
      columns: 'id UInt64, body String',
      engine: 'ReplacingMergeTree() ORDER BY id',
      shardBy: 'id',
    },
    {
      name: 'operations',
      columns: 'day UInt32, service String, name String',
      engine: 'ReplacingMergeTree() PARTITION BY day ORDER BY (service, name)',
      shardBy: 'cityHash64(service, name)',
    },
    {
      name: 'write_progress',
      columns: 'source String, value UInt64, written_ns UInt64',
      engine: 'ReplacingMergeTree(written_ns) ORDER BY source',
      shardBy: 'cityHash64(source)',
    },
  ];
}

/** How the tables are laid out over the servers. */
export interface Layout {
  /**
   * Replicated engines for the shard-local tables: the cluster's shards have several replicas.
   * Only with a cluster.
   */
  readonly replicated: boolean;
}

/** The statements creating one table (and, with a cluster, its Distributed table). */
function createTable(names: TableNames, spec: TableSpec, layout: Layout = { replicated: false }): string[] {
  const db = names.database;
  if (!names.cluster) {
    return [`CREATE TABLE IF NOT EXISTS ${db}.${spec.name} (${spec.columns}) ENGINE = ${spec.engine}`];
  }
  const on = `ON CLUSTER ${quoteCluster(names.cluster)}`;
  const engine = layout.replicated ? replicatedEngine(spec.engine, db, `${spec.name}_local`) : spec.engine;
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${spec.name}_local ${on} (${spec.columns}) ENGINE = ${engine}`,
    `CREATE TABLE IF NOT EXISTS ${db}.${spec.name} ${on} AS ${db}.${spec.name}_local
       ENGINE = Distributed(${quoteCluster(names.cluster)}, ${db}, ${spec.name}_local, ${spec.shardBy})`,
  ];
}

/**
 * `ReplacingMergeTree(v) …` as `ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/table',
 * '{replica}', v) …` (and `MergeTree()` as `ReplicatedMergeTree(…)`): the ZooKeeper path the
 * replicas of one shard share, with the server's macros for the shard and the replica.
 */
export function replicatedEngine(engine: string, database: string, table: string): string {
  const match = /^(\w*MergeTree)\(([^)]*)\)/.exec(engine);
  if (!match) throw new Error(`not a MergeTree engine: ${engine}`);
  const path = sqlString(`/clickhouse/tables/{shard}/${sqlIdentifier(database)}/${sqlIdentifier(table)}`);
  const args = [path, sqlString('{replica}'), ...(match[2].trim() ? [match[2].trim()] : [])];
  return `Replicated${match[1]}(${args.join(', ')})${engine.slice(match[0].length)}`;
}

/**
 * The layout a cluster asks for: replicated tables when a shard of it has several replicas. The
 * cluster's config decides, not an option, because the two must agree: with `internal_replication`
 * on and plain tables, every span would live on one replica only; with it off and replicated
 * tables, every replica would receive each insert twice (once from the Distributed table, once
 * from its peer).
 */
export async function clusterLayout(executor: ClickHouseExecutor, cluster: string | undefined): Promise<Layout> {
  if (!cluster) return { replicated: false };
  const [row] = await executor.query<{ r: number | string }>(
    `SELECT max(replica_num) AS r FROM system.clusters WHERE cluster = ${sqlString(cluster)}`,
  );
  return { replicated: Number(row?.r ?? 0) > 1 };
}

function quoteCluster(cluster: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(cluster) ? cluster : `\`${cluster.replace(/[`\\]/g, '\\$&')}\``;
}

interface Migration {
  readonly version: number;
  readonly description: string;
  statements(names: TableNames, features: EngineFeatures, layout: Layout): string[];
}

/**
 * Version 1 was a development layout that no release wrote (main only, for one day); version 2
 * replaced it. A version-1 database is refused with what to do, not migrated.
 */
const FIRST_RELEASED_VERSION = 2;

const MIGRATIONS: readonly Migration[] = [
  {
    version: 2,
    description: 'spans, span_index, traces, attr_index, attr_traces, bodies, operations, write_progress',
    statements: (names, features, layout) => tables(features).flatMap((spec) => createTable(names, spec, layout)),
  },
];

/** The latest schema version this Ariadne knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Creates the database and every table, or brings an older schema up to date. Safe to run from
 * several nodes at once. Refuses a database written by a newer Ariadne.
 */
export async function migrateClickHouseSchema(
  executor: ClickHouseExecutor,
  names: TableNames,
  features: EngineFeatures,
  logger: Logger,
): Promise<void> {
  const layout = await clusterLayout(executor, names.cluster);
  // A schema already current needs no DDL: with a cluster, `ON CLUSTER` DDL waits for every server
  // (up to distributed_ddl_task_timeout), so a node could not start while one replica is down.
  if ((await currentVersion(executor, names)) === SCHEMA_VERSION) {
    if (layout.replicated) await refuseUnreplicated(executor, names);
    return;
  }
  const on = names.cluster ? ` ON CLUSTER ${quoteCluster(names.cluster)}` : '';
  await executor.command(`CREATE DATABASE IF NOT EXISTS ${names.database}${on}`);
  for (const statement of createTable(
    names,
    {
      name: 'schema_migrations',
      columns: 'version UInt32, description String, applied_ns UInt64',
      engine: 'MergeTree() ORDER BY version',
      shardBy: 'version',
    },
    layout,
  )) {
    await executor.command(statement);
  }
  if (layout.replicated) await refuseUnreplicated(executor, names);
  const [row] = await executor.query<{ v: number | string }>(`SELECT max(version) AS v FROM ${names.migrations}`);
  const current = Number(row?.v ?? 0);
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `the ClickHouse database ${names.database} has schema version ${current}, newer than this Ariadne knows (${SCHEMA_VERSION}): upgrade Ariadne`,
    );
  }
  if (current > 0 && current < FIRST_RELEASED_VERSION) {
    throw new Error(
      `the ClickHouse database ${names.database} has schema version ${current}, a development layout no release of Ariadne reads: drop the database (or name another one) and load it again`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    for (const statement of migration.statements(names, features, layout)) await executor.command(statement);
    await executor.command(
      `INSERT INTO ${names.migrations} (version, description, applied_ns) VALUES (${migration.version}, ${sqlString(migration.description)}, ${sqlUInt64(BigInt(Date.now()) * 1_000_000n)})`,
      names.cluster ? { insert_distributed_sync: 1 } : undefined,
    );
    logger.info(
      { version: migration.version, database: names.database, replicated: layout.replicated },
      `ClickHouse schema: applied migration ${migration.version} (${migration.description})`,
    );
  }
}

/**
 * Throws when the cluster has replicas but the database's tables on this server are not
 * replicated (created before the replicas were added): Distributed inserts would reach one replica
 * of each shard and nothing would copy them to the others. Converting is an operator's job (see
 * docs/scale-out.md), not something to do behind a starting node's back.
 */
async function refuseUnreplicated(executor: ClickHouseExecutor, names: TableNames): Promise<void> {
  const rows = await executor.query<{ name: string; engine: string }>(
    `SELECT name, engine FROM system.tables WHERE database = ${sqlString(names.database)} AND name LIKE '%_local' AND engine NOT LIKE 'Replicated%'`,
  );
  if (rows.length === 0) return;
  throw new Error(
    `the cluster ${names.cluster} has several replicas a shard, but the tables ${rows.map((r) => `${names.database}.${r.name}`).join(', ')} are not replicated (${rows[0].engine}): they were created before the replicas; convert them to Replicated engines (docs/scale-out.md) or name another database`,
  );
}

/** The schema version recorded in the database, or undefined when this server has no such table yet. */
async function currentVersion(executor: ClickHouseExecutor, names: TableNames): Promise<number | undefined> {
  const table = names.cluster ? 'schema_migrations_local' : 'schema_migrations';
  const [exists] = await executor.query<{ n: number | string }>(
    `SELECT count() AS n FROM system.tables WHERE database = ${sqlString(names.database)} AND name = ${sqlString(table)}`,
  );
  if (Number(exists?.n ?? 0) === 0) return undefined;
  try {
    const [row] = await executor.query<{ v: number | string }>(`SELECT max(version) AS v FROM ${names.migrations}`);
    return Number(row?.v ?? 0);
  } catch {
    // A half-made schema (the Distributed table missing): the migrations make the rest.
    return undefined;
  }
}
