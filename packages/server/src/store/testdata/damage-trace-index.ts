/**
 * Test fixture for duckdb-schema.test.ts: makes a data directory as Ariadne's schema 1 left it
 * after DuckDB issue #23788, with real DuckDB, one step per process:
 * - `write DIR`: a store with 20 traces, turned into schema 1 (the ART index on
 *   `trace_parts(trace_id)`, no migrations table), checkpointed; then 20 more traces (copies with
 *   trace id + 1) committed to the WAL only, and the process SIGKILLs itself;
 * - `close DIR`: opens the file (DuckDB replays the WAL) and closes it with no query: the
 *   shutdown checkpoint writes the index without the replayed rows.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { decodeOtlpProtobuf } from '../../ingest/decode-otlp.ts';
import { traceRequest } from '../../ingest/testdata/ariadne-process.ts';
import { DuckDbSpanStore } from '../duckdb-store.ts';

const [mode, dataDir] = process.argv.slice(2);
const file = join(dataDir, 'ariadne.duckdb');

if (mode === 'write') {
  const store = await DuckDbSpanStore.open({ dataDir });
  for (let n = 0; n < 20; n++) await store.writeSpans(decodeOtlpProtobuf(traceRequest(9, n * 2, 30)).spans);
  await store.close();
  const instance = await DuckDBInstance.create(file);
  const db = await instance.connect();
  await db.run('CREATE INDEX trace_parts_trace_id ON trace_parts (trace_id)');
  await db.run('DROP TABLE schema_migrations');
  await db.run('CHECKPOINT');
  await db.run(
    'INSERT INTO trace_parts SELECT (trace_id + 1)::UHUGEINT, start_ns, last_start_ns, span_count FROM trace_parts',
  );
  await db.run('INSERT INTO spans SELECT * REPLACE ((trace_id + 1)::UHUGEINT AS trace_id) FROM spans');
  process.kill(process.pid, 'SIGKILL');
} else if (mode === 'close') {
  const instance = await DuckDBInstance.create(file);
  instance.closeSync();
} else throw new Error(`usage: damage-trace-index.ts write|close DIR`);
