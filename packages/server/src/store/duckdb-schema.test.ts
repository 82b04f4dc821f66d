import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { requestTraceId } from '../ingest/testdata/ariadne-process.ts';
import { searchFormSummaries } from '../query/form-search.ts';
import { capturingLogger } from '../testdata/capture-log.ts';
import { DuckDbSpanStore } from './duckdb-store.ts';

const FIXTURE = new URL('./testdata/damage-trace-index.ts', import.meta.url).pathname;

function runFixture(mode: string, dir: string): string | null {
  const result = spawnSync(process.execPath, ['--import', 'tsx', FIXTURE, mode, dir], { encoding: 'utf8' });
  if (result.status !== 0 && result.signal !== 'SIGKILL') assert.fail(`${mode}: ${result.stderr}`);
  return result.signal;
}

describe('DuckDB schema migrations', () => {
  it('repairs a schema-1 directory whose trace id index lost the rows DuckDB replayed from its WAL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-damaged-'));
    try {
      assert.equal(runFixture('write', dataDir), 'SIGKILL');
      runFixture('close', dataDir);

      // The damage, as schema 1 read it: a point lookup through the index misses rows a scan finds.
      const instance = await DuckDBInstance.create(join(dataDir, 'ariadne.duckdb'));
      const db = await instance.connect();
      const replayed = `${BigInt(`0x${requestTraceId(9, 1)}`)}::UHUGEINT`;
      const byIndex = (
        await db.runAndReadAll(`SELECT count(*) FROM trace_parts WHERE trace_id = ${replayed}`)
      ).getRows();
      const byScan = (
        await db.runAndReadAll(`SELECT count(*) FROM trace_parts WHERE trace_id::VARCHAR = (${replayed})::VARCHAR`)
      ).getRows();
      db.closeSync();
      instance.closeSync();
      assert.deepEqual([Number(byIndex[0][0]), Number(byScan[0][0])], [0, 1], 'the fixture reproduces the damage');

      const { logger, lines } = capturingLogger();
      const store = await DuckDbSpanStore.open({ dataDir, logger });
      try {
        for (let n = 0; n < 40; n++)
          assert.equal((await store.getTrace(requestTraceId(9, n))).length, 30, `trace ${n} is readable`);
        const found = await searchFormSummaries(store, { limit: 100 });
        assert.equal(found.length, 40);
        const repair = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('store repaired'));
        assert.ok(repair, JSON.stringify(lines));
        assert.ok(Number(repair.sampledTracesUnreadableByIndex) >= 20, JSON.stringify(repair));
      } finally {
        await store.close();
      }

      // Migrated once: the next open neither migrates nor logs.
      const again = capturingLogger();
      const reopened = await DuckDbSpanStore.open({ dataDir, logger: again.logger });
      try {
        assert.equal((await reopened.getTrace(requestTraceId(9, 39))).length, 30);
        assert.deepEqual(again.lines, []);
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('drops the trace id index an older Ariadne re-created in a current file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-downgraded-'));
    try {
      await (await DuckDbSpanStore.open({ dataDir })).close();
      const instance = await DuckDBInstance.create(join(dataDir, 'ariadne.duckdb'));
      const db = await instance.connect();
      await db.run('CREATE INDEX IF NOT EXISTS trace_parts_trace_id ON trace_parts (trace_id)');
      db.closeSync();
      instance.closeSync();

      const { logger, lines } = capturingLogger();
      await (await DuckDbSpanStore.open({ dataDir, logger })).close();
      assert.ok(
        lines.some((l) => l.level === 40 && /dropped index trace_parts_trace_id/.test(l.msg)),
        JSON.stringify(lines),
      );
      const again = await DuckDBInstance.create(join(dataDir, 'ariadne.duckdb'));
      const check = await again.connect();
      const left = (await check.runAndReadAll('SELECT count(*) FROM duckdb_indexes()')).getRows();
      check.closeSync();
      again.closeSync();
      assert.equal(Number(left[0][0]), 0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
