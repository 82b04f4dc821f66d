/**
 * Test fixture for crash-after-trim.test.ts: the real server in a process of its own, which
 * settles (checkpoints the database, trims the ingest log, as after a pause in ingest) when a line
 * `settle` arrives on stdin, and answers `settled`. Prints its addresses as one JSON line. The test
 * then kills it with SIGKILL.
 */
import { createInterface } from 'node:readline';
import { startServer } from '../../main.ts';

const server = await startServer({
  dataDir: process.argv[2],
  host: '127.0.0.1',
  apiPort: 0,
  otlpHttpPort: 0,
  otlpGrpcPort: 0,
});
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'settle') return;
  server.settle().then(
    () => process.stdout.write('settled\n'),
    (error: Error) => process.stdout.write(`settle failed: ${error.message}\n`),
  );
});
process.stdout.write(`${JSON.stringify({ otlpHttp: server.otlpHttpUrl, api: server.apiUrl })}\n`);
