import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DuckDBInstance, DuckDBResult } from '@duckdb/node-api';
import { decodeOtlpProtobuf } from '../../ingest/decode-otlp.ts';
import { requestTraceId, traceRequest } from '../../ingest/testdata/ariadne-process.ts';
import { DuckDbSpanStore } from '../duckdb-store.ts';
import { ReadConnection } from './read-connection.ts';

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

describe('ReadConnection results', () => {
  it('reads a result of several chunks whole and in order, taking the chunks at once', async (t) => {
    const instance = await DuckDBInstance.create(':memory:');
    const reads = new ReadConnection(await instance.connect(), () => {});
    // Fetching a chunk is a call on libuv's threadpool, and a turn of the event loop each.
    const fetched = t.mock.method(DuckDBResult.prototype, 'fetchChunk');
    try {
      const [n, text] = await reads.columns('SELECT range AS n, range::VARCHAR AS t FROM range(10000) ORDER BY n');
      assert.equal(n.length, 10_000);
      assert.deepEqual(
        n,
        Array.from({ length: 10_000 }, (_, i) => BigInt(i)),
      );
      assert.equal(text[9_999], '9999');
      assert.deepEqual(await reads.rows('SELECT 1 AS one WHERE false'), []);
      assert.deepEqual(await reads.rows('SELECT 42 AS answer'), [{ answer: 42 }]);
      assert.equal(fetched.mock.callCount(), 0);
    } finally {
      instance.closeSync();
    }
  });
});

describe('ReadConnection.quiet (where writes give way to reads)', () => {
  it('resolves at once without reads, when the reads in flight finish, or after its longest wait', async (t) => {
    const instance = await DuckDBInstance.create(':memory:');
    const reads = new ReadConnection(await instance.connect(), () => {});
    t.mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const settled = (p: Promise<void>) => {
        let done = false;
        void p.then(() => {
          done = true;
        });
        return () => done;
      };
      const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
      // No read: at once.
      const idle = settled(reads.quiet(50));
      await turn();
      assert.equal(idle(), true);

      // A read held open: quiet waits for it...
      let release = () => {};
      const held = reads.read((run) =>
        new Promise<void>((resolve) => {
          release = resolve;
        }).then(() => run('SELECT 1', [], [])),
      );
      const untilRead = settled(reads.quiet(50));
      t.mock.timers.tick(49);
      await turn();
      assert.equal(untilRead(), false, 'waits while the read is in flight');
      release();
      await held;
      await turn();
      assert.equal(untilRead(), true, 'resolves once the read finished');

      // ...but not longer than its longest wait.
      const forever = reads.read(() => new Promise<void>(() => {}));
      const untilTimeout = settled(reads.quiet(50));
      await turn();
      assert.equal(untilTimeout(), false);
      t.mock.timers.tick(50);
      await turn();
      assert.equal(untilTimeout(), true, 'gives up waiting after 50 ms');
      void forever;
    } finally {
      instance.closeSync();
    }
  });
});
