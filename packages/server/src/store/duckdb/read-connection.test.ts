import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeOtlpProtobuf } from '../../ingest/decode-otlp.ts';
import { requestTraceId, traceRequest } from '../../ingest/testdata/ariadne-process.ts';
import { DuckDbSpanStore } from '../duckdb-store.ts';

/**
 * The read connection caches prepared statements while writes commit on the other connection: a
 * statement prepared before a write must answer with what the write committed (DuckDB keeps the
 * plan of a prepared statement, statistics and all: see READ_CONNECTION_DISABLED_OPTIMIZERS).
 */
describe('the read connection', () => {
  it('answers from what a write committed after its statements were prepared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ariadne-read-connection-'));
    const store = await DuckDbSpanStore.open({ dataDir: dir });
    try {
      const write = (n: number, service: string) =>
        store.writeSpans(decodeOtlpProtobuf(traceRequest(3, n, 4, service)).spans);
      // Prepared while the tables are empty, then with short names only.
      assert.deepEqual(await store.listServices(), []);
      assert.deepEqual(await store.getTrace(requestTraceId(3, 1)), []);
      await write(1, 'ryw');
      assert.deepEqual(await store.listServices(), ['ryw']);
      assert.equal((await store.getTrace(requestTraceId(3, 1))).length, 4);
      await write(2, 'a-service-with-a-name-longer-than-any-before');
      await write(3, 'ab');
      assert.deepEqual(await store.listServices(), ['a-service-with-a-name-longer-than-any-before', 'ab', 'ryw']);
      assert.deepEqual(await store.listOperations('ab'), ['child-1', 'child-2', 'child-3', 'root']);
      assert.equal((await store.getTrace(requestTraceId(3, 3))).length, 4);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
