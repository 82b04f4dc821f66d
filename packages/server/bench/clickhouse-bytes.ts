/**
 * `npm run bench:bytes`: bytes per span in ClickHouse, by table and column, and what column codecs
 * do to them. Runs on the engine embedded in chdb (ClickHouse 26.x, in-process; installed by
 * scripts/ensure-chdb.mjs), which has the codecs 18.16 lacks (ZSTD, Delta, DoubleDelta, T64).
 *
 *   npm run bench:bytes -- [--spans N] [--days D] [--batch B] [--skip-candidates] [--json]
 *
 * 1. Loads N spans (default 1,000,000) of the benchmark workload (workload.ts, as `bench:query`
 *    generates it: whole traces spread over D days in time order, B spans a write) through the
 *    store's own rows (`ClickHouseSpanStore.writeSpans`) into a database with the schema an 18.16
 *    server gets (String names, no codecs: LZ4), then `OPTIMIZE … FINAL`.
 * 2. Copies it into the schema a current server gets (`engineFeatures('26.1')`: LowCardinality and
 *    the codecs of schema.ts) and, per table, into copies with one candidate codec for each column
 *    (round k gives each column its k-th candidate), each followed by `OPTIMIZE … FINAL`
 *    (`--skip-candidates`: not these copies, which take most of the time).
 * 3. Prints bytes per span by table (`system.parts`, active parts' bytes on disk: data, marks,
 *    primary index) and by column (`system.columns`, compressed data), and the smallest candidate
 *    of each column.
 *
 * chdb writes adaptive granules and `.mrk2` marks where 18.16 writes fixed ones: the 18.16 layout
 * measured here differs from a real 18.16 server's by the marks (a few tenths of a byte a span).
 */
import { parseArgs } from 'node:util';
import { spansFromOtlpProtobuf } from '../src/ingest/decode-otlp.ts';
import { ExportTraceServiceRequest } from '../src/ingest/otlp-proto-schema.ts';
import { silentLogger } from '../src/logger.ts';
import { ClickHouseSpanStore } from '../src/store/clickhouse/clickhouse-store.ts';
import type { ClickHouseExecutor } from '../src/store/clickhouse/executor.ts';
import { engineFeatures, migrateClickHouseSchema, tableNames } from '../src/store/clickhouse/schema.ts';
import { sqlIdentifier, sqlString } from '../src/store/clickhouse/sql.ts';
import { chdbExecutor, loadChdb } from '../src/store/testdata/chdb-executor.ts';
import { type GeneratedSpan, generateTrace, makeWorkload, prng, toExportRequest } from './workload.ts';

const DAY_MS = 86_400_000;
const USAGE = 'usage: npm run bench:bytes -- [--spans N] [--days D] [--batch B] [--skip-candidates] [--json]\n';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '7' },
    batch: { type: 'string', default: '10000' },
    json: { type: 'boolean', default: false },
    'skip-candidates': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const total = positiveInteger('--spans', values.spans);
const days = positiveInteger('--days', values.days);
const batch = positiveInteger('--batch', values.batch);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Candidate codecs by column type, first the default (LZ4); round k gives each column its k-th. */
function candidates(type: string): string[] {
  if (/^(LowCardinality\()?String\)?$/.test(type) || type.startsWith('Array(') || type.startsWith('FixedString('))
    return ['LZ4', 'ZSTD(1)', 'ZSTD(3)', 'ZSTD(6)', 'ZSTD(9)', 'LZ4HC(9)'];
  if (/^U?Int(64|32)$/.test(type))
    return ['LZ4', 'ZSTD(1)', 'Delta, ZSTD(1)', 'DoubleDelta, ZSTD(1)', 'T64, ZSTD(1)', 'Delta, ZSTD(3)'];
  if (/^U?Int(8|16)$/.test(type)) return ['LZ4', 'ZSTD(1)', 'T64, ZSTD(1)', 'T64, LZ4', 'Delta, ZSTD(1)'];
  return ['LZ4'];
}

const chdb = loadChdb();
if (typeof chdb === 'string') {
  process.stderr.write(`${chdb}\n`);
  process.exit(1);
}
const chdbModule = chdb;
const executor = chdbExecutor(chdbModule);
try {
  await main(executor);
} finally {
  await executor.close();
}

async function main(ex: ClickHouseExecutor): Promise<void> {
  const plain = 'bytes_lz4';
  const current = 'bytes_codecs';
  for (const db of [plain, current]) await ex.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(db)}`);

  // The 18.16 layout: String names, no codecs.
  const old = engineFeatures('18.16.1');
  await migrateClickHouseSchema(ex, tableNames(plain), old, silentLogger);
  // Its own executor on the shared session: closing the store closes it.
  const store = await ClickHouseSpanStore.open({
    executor: chdbExecutor(chdbModule),
    database: plain,
    logger: silentLogger,
  });
  const loaded = await load(store);
  await store.close();
  const tablesOf = async (db: string) =>
    (
      await ex.query<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = ${sqlString(db)} AND engine LIKE '%MergeTree' ORDER BY name`,
      )
    ).map((r) => r.name);
  const dataTables = (await tablesOf(plain)).filter((t) => t !== 'schema_migrations' && t !== 'write_progress');
  for (const t of dataTables) await optimize(ex, `${plain}.${t}`);

  // The layout of a current server: the codecs schema.ts gives where `features.codecs`.
  await migrateClickHouseSchema(ex, tableNames(current), engineFeatures('26.1'), silentLogger);
  for (const t of dataTables) {
    await ex.command(`INSERT INTO ${current}.${t} SELECT * FROM ${plain}.${t}`);
    await optimize(ex, `${current}.${t}`);
  }

  const report: Report = {
    spans: loaded.spans,
    traces: loaded.traces,
    loadSeconds: loaded.seconds,
    engine: (await ex.query<{ v: string }>('SELECT version() AS v'))[0].v,
    layouts: {
      '18.16 (String, LZ4)': await measure(ex, plain, dataTables, loaded.spans),
      'current server (schema.ts with codecs)': await measure(ex, current, dataTables, loaded.spans),
    },
    candidates: {},
  };

  // Candidate codecs, column by column, on copies of the 18.16 layout's tables.
  for (const t of values['skip-candidates'] ? [] : dataTables) {
    const columns = await ex.query<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = ${sqlString(plain)} AND table = ${sqlString(t)} ORDER BY position`,
    );
    const [{ engine_full: engine }] = await ex.query<{ engine_full: string }>(
      `SELECT engine_full FROM system.tables WHERE database = ${sqlString(plain)} AND name = ${sqlString(t)}`,
    );
    const rounds = Math.max(...columns.map((c) => candidates(c.type).length));
    const perColumn: Record<string, Record<string, number>> = {};
    for (let k = 0; k < rounds; k++) {
      const copy = `${plain}.${t}_codec_${k}`;
      const codecOf = (type: string) => {
        const list = candidates(type);
        return list[Math.min(k, list.length - 1)];
      };
      await ex.command(`DROP TABLE IF EXISTS ${copy}`);
      await ex.command(
        `CREATE TABLE ${copy} (${columns.map((c) => `${c.name} ${c.type} CODEC(${codecOf(c.type)})`).join(', ')}) ENGINE = ${engine}`,
      );
      await ex.command(`INSERT INTO ${copy} SELECT * FROM ${plain}.${t}`);
      await optimize(ex, copy);
      const sizes = await columnBytes(ex, plain, `${t}_codec_${k}`);
      for (const c of columns) {
        perColumn[c.name] ??= {};
        perColumn[c.name][codecOf(c.type)] = round2(sizes[c.name] / loaded.spans);
      }
      await ex.command(`DROP TABLE ${copy}`);
      log(`${t}: codec round ${k + 1}/${rounds} done`);
    }
    report.candidates[t] = perColumn;
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  print(report);
}

interface LayoutFigures {
  /** Bytes per span of everything on disk (active parts), all tables. */
  readonly total: number;
  readonly byTable: Record<string, number>;
  /** Compressed data per span, `table.column`, largest first. */
  readonly byColumn: Record<string, number>;
}

interface Report {
  readonly spans: number;
  readonly traces: number;
  readonly loadSeconds: number;
  readonly engine: string;
  readonly layouts: Record<string, LayoutFigures>;
  /** Per table, per column: bytes per span with each candidate codec. */
  candidates: Record<string, Record<string, Record<string, number>>>;
}

/** Loads the workload through the store's writes: whole traces, `batch` spans a write, in time order. */
async function load(store: ClickHouseSpanStore): Promise<{ spans: number; traces: number; seconds: number }> {
  const w = makeWorkload(42);
  const probe = makeWorkload(7);
  let probeSpans = 0;
  for (let i = 0; i < 3000; i++) probeSpans += generateTrace(probe, 0).length;
  const avg = probeSpans / 3000;
  const endMs = Date.UTC(2026, 11, 7);
  const startMs = endMs - days * DAY_MS;
  const stepMs = (days * DAY_MS) / (total / avg);
  const pick = prng(99);
  let t = startMs;
  let spans = 0;
  let traces = 0;
  const started = performance.now();
  let pending: GeneratedSpan[] = [];
  let lastLog = started;
  while (spans < total) {
    while (pending.length < batch && spans + pending.length < total) {
      const trace = generateTrace(w, Math.min(t, endMs - 1));
      t += stepMs * (0.5 + pick());
      traces++;
      for (const s of trace) pending.push(s);
    }
    const bytes = ExportTraceServiceRequest.encode(
      ExportTraceServiceRequest.fromObject(toExportRequest(pending)),
    ).finish();
    await store.writeSpans(spansFromOtlpProtobuf(bytes));
    spans += pending.length;
    pending = [];
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`loaded ${spans} spans`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  log(`loaded ${spans} spans, ${traces} traces in ${seconds.toFixed(0)} s`);
  return { spans, traces, seconds: Math.round(seconds) };
}

/**
 * Merges the table's parts (one per partition), written wide: a column a file, as at scale (and on
 * 18.16), where small parts would be compact (columns in one file, with no size per column).
 */
async function optimize(ex: ClickHouseExecutor, table: string): Promise<void> {
  await ex.command(`ALTER TABLE ${table} MODIFY SETTING min_bytes_for_wide_part = 0, min_rows_for_wide_part = 0`);
  await ex.command(`OPTIMIZE TABLE ${table} FINAL`);
}

async function columnBytes(ex: ClickHouseExecutor, db: string, table: string): Promise<Record<string, number>> {
  const rows = await ex.query<{ name: string; b: string }>(
    `SELECT name, data_compressed_bytes AS b FROM system.columns WHERE database = ${sqlString(db)} AND table = ${sqlString(table)}`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.b)]));
}

async function measure(ex: ClickHouseExecutor, db: string, tables: readonly string[], spans: number) {
  const byTable: Record<string, number> = {};
  const byColumn: Record<string, number> = {};
  let total = 0;
  for (const t of tables) {
    const [row] = await ex.query<{ b: string }>(
      `SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE active AND database = ${sqlString(db)} AND table = ${sqlString(t)}`,
    );
    const bytes = Number(row.b);
    total += bytes;
    byTable[t] = round2(bytes / spans);
    for (const [name, b] of Object.entries(await columnBytes(ex, db, t))) byColumn[`${t}.${name}`] = round2(b / spans);
  }
  const sorted = Object.fromEntries(Object.entries(byColumn).sort((a, b) => b[1] - a[1]));
  return { total: round2(total / spans), byTable, byColumn: sorted } satisfies LayoutFigures;
}

function print(r: Report): void {
  const out: string[] = [];
  out.push(`${r.spans} spans, ${r.traces} traces over ${days} days, ClickHouse ${r.engine} (chdb); bytes per span`);
  const names = Object.keys(r.layouts);
  const layouts = Object.values(r.layouts);
  out.push('', `| | ${names.join(' | ')} |`, `|---|${names.map(() => '---:').join('|')}|`);
  out.push(`| **all tables** | ${layouts.map((l) => l.total.toFixed(1)).join(' | ')} |`);
  for (const t of Object.keys(layouts[0].byTable)) {
    out.push(`| ${t} | ${layouts.map((l) => (l.byTable[t] ?? 0).toFixed(2)).join(' | ')} |`);
  }
  out.push('', `| column (compressed data) | ${names.join(' | ')} |`, `|---|${names.map(() => '---:').join('|')}|`);
  for (const [c, v] of Object.entries(layouts[0].byColumn)) {
    if (v < 0.05 && (layouts[1].byColumn[c] ?? 0) < 0.05) continue;
    out.push(`| ${c} | ${layouts.map((l) => (l.byColumn[c] ?? 0).toFixed(2)).join(' | ')} |`);
  }
  out.push('', '| column | LZ4 | smallest | codec |', '|---|---:|---:|---|');
  for (const [t, columns] of Object.entries(r.candidates)) {
    for (const [c, byCodec] of Object.entries(columns)) {
      const [best, bytes] = Object.entries(byCodec).sort((a, b) => a[1] - b[1])[0];
      if ((byCodec.LZ4 ?? 0) < 0.05) continue;
      out.push(`| ${t}.${c} | ${(byCodec.LZ4 ?? 0).toFixed(2)} | ${bytes.toFixed(2)} | ${best} |`);
    }
  }
  out.push('', 'every candidate:');
  for (const [t, columns] of Object.entries(r.candidates)) {
    for (const [c, byCodec] of Object.entries(columns)) {
      if ((byCodec.LZ4 ?? 0) < 0.05) continue;
      out.push(
        `  ${t}.${c}: ${Object.entries(byCodec)
          .map(([codec, b]) => `${codec} ${b.toFixed(2)}`)
          .join(', ')}`,
      );
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function positiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`${name} must be a positive integer, not ${text}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}
