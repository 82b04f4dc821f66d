/**
 * The schema's DDL on the engine embedded in chdb (ClickHouse 26.x): with the server's features
 * the tables get their column codecs; with 18.16's features the same DDL names no codec and no
 * LowCardinality (18.16 would refuse both).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../logger.ts';
import { chdbExecutor, loadChdb } from '../testdata/chdb-executor.ts';
import type { ClickHouseExecutor } from './executor.ts';
import { engineFeatures, migrateClickHouseSchema, tableNames } from './schema.ts';
import { sqlString } from './sql.ts';

const chdb = loadChdb();
const inCi = process.env.CI === 'true';

describe('ClickHouse schema DDL on chdb', { skip: typeof chdb === 'string' && !inCi ? chdb : false }, () => {
  if (typeof chdb === 'string') {
    it('needs chdb', () => assert.fail(chdb));
    return;
  }
  const executor = chdbExecutor(chdb);
  after(() => executor.close());

  /** Runs the migrations with `version`'s features; returns every statement and the columns' codecs. */
  async function migrate(database: string, version: string) {
    const statements: string[] = [];
    const recording: ClickHouseExecutor = {
      ...executor,
      command: (sql, settings) => {
        statements.push(sql);
        return executor.command(sql, settings);
      },
    };
    await migrateClickHouseSchema(recording, tableNames(database), engineFeatures(version), silentLogger);
    const rows = await executor.query<{ column: string; codec: string }>(
      `SELECT concat(table, '.', name) AS column, compression_codec AS codec FROM system.columns WHERE database = ${sqlString(database)}`,
    );
    return { statements, codecs: new Map(rows.map((r) => [r.column, r.codec])) };
  }

  it('gives the big columns their codecs on a server that has codecs', async () => {
    const [{ v }] = await executor.query<{ v: string }>('SELECT version() AS v');
    assert.ok(engineFeatures(v).codecs, `chdb ${v} has codecs`);
    const { codecs } = await migrate(`schema_codecs_${process.pid}`, v);
    const expected: Record<string, RegExp> = {
      'spans.attr_keys': /ZSTD\(6\)/,
      'spans.attr_values': /ZSTD\(6\)/,
      'span_index.attrs': /ZSTD\(6\)/,
      'spans.start_ns': /T64.*ZSTD\(1\)/,
      'spans.duration_ns': /T64.*ZSTD\(1\)/,
      'span_index.start_ns': /T64.*ZSTD\(1\)/,
      'span_index.duration_ns': /T64.*ZSTD\(1\)/,
      'spans.kind': /T64/,
      'spans.resource_id': /ZSTD\(1\)/,
      'span_index.trace_id': /ZSTD\(1\)/,
      'traces.first_ns': /T64/,
      'attr_index.minute': /Delta.*ZSTD\(1\)/,
    };
    for (const [column, codec] of Object.entries(expected)) assert.match(codecs.get(column) ?? '', codec, column);
    assert.equal(codecs.get('spans.span_id'), '', 'random ids keep the default');
  });

  it('names no codec and no LowCardinality with the features of 18.16', async () => {
    const database = `schema_plain_${process.pid}`;
    const { statements, codecs } = await migrate(database, '18.16.1');
    const ddl = statements.filter((s) => s.startsWith('CREATE TABLE'));
    assert.ok(ddl.length >= 8, `${ddl.length} tables`);
    for (const s of ddl) assert.doesNotMatch(s, /CODEC|LowCardinality/, s);
    assert.ok([...codecs.values()].every((c) => c === ''));
  });
});
