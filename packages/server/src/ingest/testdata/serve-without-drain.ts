/**
 * Test fixture for crash-recovery.test.ts: the real server (ingest log, receivers, store) whose
 * store never commits a write, so that acknowledged spans exist only in the ingest log until the
 * test kills this process with SIGKILL. Prints its addresses as one JSON line.
 */
import { startServer } from '../../main.ts';
import type { DuckDbSpanStore } from '../../store/duckdb-store.ts';
import { freePort } from '../../testdata/compat-server.ts';

const zipkinPort = await freePort();
const server = await startServer({
  dataDir: process.argv[2],
  host: '127.0.0.1',
  apiPort: 0,
  otlpHttpPort: 0,
  otlpGrpcPort: 0,
  zipkinPort,
});
// Writes arrive prepared by the prepare worker (writePrepared); writeSpans is the direct path.
const store = server.store as DuckDbSpanStore;
store.writePrepared = () => new Promise<void>(() => undefined);
store.writeSpans = () => new Promise<void>(() => undefined);
process.stdout.write(
  `${JSON.stringify({
    otlpHttp: server.otlpHttpUrl,
    otlpGrpc: server.otlpGrpcAddress,
    api: server.apiUrl,
    zipkin: `http://127.0.0.1:${zipkinPort}`,
  })}\n`,
);
