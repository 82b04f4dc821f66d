/**
 * Test fixture for crash-cycle.test.ts: the real server started on a data directory whose ingest
 * log holds acknowledged spans the store has not committed. Its startup replay commits two
 * batches (of at most 2,000 spans), then the third write never finishes, and it prints
 * `replay held after 2 batches`: the test kills it there, in the middle of the replay, on a quiet
 * machine as on a busy one.
 */
import { startServer } from '../../main.ts';
import { DuckDbSpanStore } from '../../store/duckdb-store.ts';

const write = DuckDbSpanStore.prototype.writeSpans;
let batches = 0;
DuckDbSpanStore.prototype.writeSpans = function (this: DuckDbSpanStore, ...args: Parameters<typeof write>) {
  if (batches === 2) {
    process.stdout.write('replay held after 2 batches\n');
    return new Promise<void>(() => undefined);
  }
  batches++;
  return write.apply(this, args);
};

await startServer({
  dataDir: process.argv[2],
  host: '127.0.0.1',
  apiPort: 0,
  otlpHttpPort: 0,
  otlpGrpcPort: 0,
  maxBatchSpans: 2000,
});
process.stdout.write('the replay finished: the fixture did not hold it\n');
