import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startServer } from '../main.ts';
import { capturingLogger } from '../testdata/capture-log.ts';
import {
  assertEveryAcknowledgedTrace,
  killServe,
  listening,
  requestTraceId,
  type ServeChild,
  type ServeUrls,
  sendLoad,
  spawnServe,
  startServe,
  startStalledServe,
  stopServe,
  storedSpans,
  waitForDrained,
  waitForOk,
} from './testdata/ariadne-process.ts';

/**
 * Crash cycles of real `ariadne serve` processes: SIGKILL under load, then clean stops, failed
 * starts and restarts in the orders that once hid acknowledged traces; after each, every
 * acknowledged trace is read back by id and found by search.
 */

const SPANS = 200;
const REPLAY_INTERRUPTED = new URL('./testdata/serve-replay-interrupted.ts', import.meta.url).pathname;

function withDataDir(prefix: string, fn: (dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Starts serve-replay-interrupted.ts on `dataDir`: the real server, held in its startup replay. */
function spawnReplayInterrupted(dataDir: string): ServeChild {
  const child = spawn(process.execPath, ['--import', 'tsx', REPLAY_INTERRUPTED, dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const keep = (chunk: Buffer) => {
    text += chunk.toString('utf8');
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { child, output: () => text, exited };
}

/** Sends `requests` one-trace requests from 2 senders; every one must be acknowledged. */
async function acknowledgeAll(otlpHttp: string, tag: number, requests: number): Promise<void> {
  const acked = await sendLoad({ otlpHttp, tag, spans: SPANS, senders: 2, maxRequests: requests, until: () => false });
  assert.equal(acked.size, requests);
}

/** Loads a fresh server with `requests` one-trace requests, waits until the store has them all, kills it. */
async function loadCommitAndKill(dataDir: string, tag: number, requests: number) {
  const { serve, urls } = await startServe(dataDir);
  try {
    await acknowledgeAll(urls.otlpHttp, tag, requests);
    // Committed to the database (its WAL), not yet checkpointed into the file: the state in which
    // DuckDB's WAL replay once left the trace id index without these rows.
    await waitForDrained(urls.api);
  } finally {
    await killServe(serve);
  }
  return new Set(Array.from({ length: requests }, (_, n) => n));
}

/** Starts, waits for /readyz, stops cleanly with no read in between. */
async function startAndStopCleanly(dataDir: string) {
  const { serve, urls } = await startServe(dataDir);
  await waitForOk(`${urls.api}/readyz`);
  assert.equal(await stopServe(serve), 0, serve.output());
}

async function assertAllReadable(dataDir: string, tag: number, acked: ReadonlySet<number>, sent = acked.size) {
  const { serve, urls } = await startServe(dataDir);
  try {
    await assertEveryAcknowledgedTrace(urls.api, { tag, spans: SPANS, acked, sent });
  } finally {
    assert.equal(await stopServe(serve), 0, serve.output());
  }
}

function occupiedPort(): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ port, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

describe('crash cycles of ariadne serve', () => {
  it(
    'kill after commit → start → clean stop with no read → start: every acknowledged trace readable',
    withDataDir('ariadne-cycle-', async (dataDir) => {
      const acked = await loadCommitAndKill(dataDir, 1, 24);
      await startAndStopCleanly(dataDir);
      await assertAllReadable(dataDir, 1, acked);
      // And again, after another clean cycle.
      await startAndStopCleanly(dataDir);
      await assertAllReadable(dataDir, 1, acked);
    }),
  );

  it(
    'kill after commit → a start that fails (API port taken) → start: every acknowledged trace readable',
    withDataDir('ariadne-cycle-port-', async (dataDir) => {
      const acked = await loadCommitAndKill(dataDir, 2, 16);
      const taken = await occupiedPort();
      try {
        const serve = spawnServe(dataDir, ['--api-port', String(taken.port)]);
        const code = await serve.exited;
        assert.notEqual(code, 0, 'the start fails');
        assert.match(serve.output(), /EADDRINUSE|address already in use/i);
      } finally {
        await taken.close();
      }
      await startAndStopCleanly(dataDir);
      await assertAllReadable(dataDir, 2, acked);
    }),
  );

  it(
    'kill under load → start → clean stop → start: every acknowledged trace readable, none twice',
    withDataDir('ariadne-cycle-load-', async (dataDir) => {
      const { serve, urls } = await startServe(dataDir);
      let killed = false;
      const acked = new Set<number>();
      let enough: () => void = () => undefined;
      const fortyAcknowledged = new Promise<void>((resolve) => {
        enough = resolve;
      });
      const load = sendLoad({
        otlpHttp: urls.otlpHttp,
        tag: 3,
        spans: SPANS,
        senders: 2,
        maxRequests: 400,
        until: () => killed,
        acked,
        onAck: (count) => {
          if (count >= 40) enough();
        },
      });
      // Kill once a good share is acknowledged, while requests are in flight.
      await Promise.race([
        fortyAcknowledged,
        load.then(() => {
          if (acked.size < 40) assert.fail(`the load ended with ${acked.size} requests acknowledged, before 40`);
        }),
      ]);
      await killServe(serve);
      killed = true;
      await load;
      assert.ok(acked.size > 0);
      const sent = Math.max(...acked) + 8;
      await startAndStopCleanly(dataDir);
      await assertAllReadable(dataDir, 3, acked, sent);
    }),
  );

  it(
    'kill during the startup replay → start: every acknowledged trace readable',
    withDataDir('ariadne-cycle-replay-', async (dataDir) => {
      // Acknowledged spans only in the ingest log: the store commits nothing before the kill.
      const { serve, urls } = await startStalledServe(dataDir);
      const acked = new Set(Array.from({ length: 150 }, (_, n) => n));
      try {
        await acknowledgeAll(urls.otlpHttp, 4, 150);
      } finally {
        await killServe(serve);
      }
      // The next start commits two of its fifteen replay batches and is held in the third: the
      // kill lands in the middle of the replay whatever the machine's speed.
      const replaying = spawnReplayInterrupted(dataDir);
      try {
        const deadline = Date.now() + 60_000;
        while (!/replay held after 2 batches/.test(replaying.output())) {
          assert.ok(Date.now() < deadline && replaying.child.exitCode === null, replaying.output());
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        await killServe(replaying);
      }
      const { serve: again, urls: againUrls } = await startServe(dataDir);
      try {
        await assertEveryAcknowledgedTrace(againUrls.api, { tag: 4, spans: SPANS, acked, sent: 150 });
      } finally {
        assert.equal(await stopServe(again), 0);
      }
      await assertAllReadable(dataDir, 4, acked, 150);
    }),
  );
});

/** Kills a server that acknowledged `requests` requests without committing any, then damages its log. */
async function acknowledgeOnlyInLog(dataDir: string, tag: number, requests: number): Promise<string> {
  const { serve, urls } = await startStalledServe(dataDir);
  try {
    await acknowledgeAll(urls.otlpHttp, tag, requests);
  } finally {
    await killServe(serve);
  }
  const logDir = join(dataDir, 'ingest-log');
  const segments = readdirSync(logDir).filter((n) => n.endsWith('.log'));
  assert.equal(segments.length, 1);
  return join(logDir, segments[0]);
}

const restart = (dataDir: string, logger = capturingLogger().logger) =>
  startServer({
    dataDir,
    host: '127.0.0.1',
    apiPort: 0,
    otlpHttpPort: 0,
    otlpGrpcPort: 0,
    logger,
    readConsistency: 'read-your-writes',
  });

async function readableRequests(api: string, tag: number, requests: number): Promise<number> {
  let whole = 0;
  for (let n = 0; n < requests; n++) {
    const count = await storedSpans(api, requestTraceId(tag, n));
    assert.ok(count === 0 || count === SPANS, `request ${n}: whole or not at all (${count})`);
    if (count === SPANS) whole++;
  }
  return whole;
}

describe('a stop signal during the start', () => {
  it(
    'SIGTERM while the start replays the log: it finishes starting, stops cleanly, loses nothing',
    withDataDir('ariadne-term-replay-', async (dataDir) => {
      await acknowledgeOnlyInLog(dataDir, 10, 60);
      const serve = spawnServe(dataDir);
      const deadline = Date.now() + 30_000;
      while (!/replaying what the store has not committed/.test(serve.output())) {
        assert.ok(Date.now() < deadline && serve.child.exitCode === null, serve.output());
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(await stopServe(serve), 0, serve.output());
      await assertAllReadable(dataDir, 10, new Set(Array.from({ length: 60 }, (_, n) => n)));
    }),
  );
});

describe('a damaged ingest log', () => {
  const REQUESTS = 30;

  it(
    'cut to half its length: replays every intact record and reports exactly how many acknowledged spans were lost',
    withDataDir('ariadne-log-cut-', async (dataDir) => {
      const segment = await acknowledgeOnlyInLog(dataDir, 5, REQUESTS);
      truncateSync(segment, Math.floor(statSync(segment).size / 2));

      const { logger, lines } = capturingLogger();
      const server = await restart(dataDir, logger);
      try {
        const { replayed } = server;
        assert.ok(replayed.damage.length > 0);
        assert.equal(replayed.lostSpans, BigInt(REQUESTS * SPANS - replayed.spans), 'the loss, exactly');
        assert.ok(replayed.records > 0 && replayed.records < REQUESTS);
        assert.equal(await readableRequests(server.apiUrl, 5, REQUESTS), replayed.records);
        const report = lines.find((l) => l.level >= 50 && /acknowledged spans were lost/.test(l.msg));
        assert.ok(report, JSON.stringify(lines));
        assert.equal(report.lostSpans, String(REQUESTS * SPANS - replayed.spans));
        assert.ok(lines.some((l) => l.level >= 50 && /positions \d+-\d+/.test(l.msg)));
      } finally {
        await server.close();
      }
      // Reported once: the next start finds nothing to report and everything still readable.
      const again = await restart(dataDir);
      try {
        assert.deepEqual(again.replayed.damage, []);
        assert.equal(await readableRequests(again.apiUrl, 5, REQUESTS), server.replayed.records);
      } finally {
        await again.close();
      }
    }),
  );

  it(
    'one flipped byte at a quarter of a segment: loses that one request, replays all the others',
    withDataDir('ariadne-log-flip-', async (dataDir) => {
      const segment = await acknowledgeOnlyInLog(dataDir, 6, REQUESTS);
      const bytes = readFileSync(segment);
      bytes[Math.floor(bytes.length / 4)] ^= 0x40;
      writeFileSync(segment, bytes);

      const server = await restart(dataDir);
      try {
        const { replayed } = server;
        assert.deepEqual(
          replayed.damage.map((d) => d.kind),
          ['corrupt'],
        );
        assert.equal(replayed.lostSpans, BigInt(SPANS));
        assert.equal(replayed.records, REQUESTS - 1);
        assert.equal(await readableRequests(server.apiUrl, 6, REQUESTS), REQUESTS - 1);
        assert.deepEqual(
          readFileSync(replayed.damage[0].savedTo!).length,
          Number(replayed.damage[0].to - replayed.damage[0].from),
        );
      } finally {
        await server.close();
      }
    }),
  );
});

describe('a damaged database WAL', () => {
  it(
    'refuses to start with a message naming the WAL and the way out; following it loses nothing',
    withDataDir('ariadne-wal-', async (dataDir) => {
      const acked = await loadCommitAndKill(dataDir, 8, 24);
      const wal = join(dataDir, 'ariadne.duckdb.wal');
      const bytes = readFileSync(wal);
      assert.ok(bytes.length > 4096, 'the commits are in the WAL, not yet checkpointed');
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      writeFileSync(wal, bytes);

      const serve = spawnServe(dataDir);
      let urls: ServeUrls | undefined;
      try {
        urls = await listening(serve);
      } catch (error) {
        // It exited (as it should, mostly); a start that hangs fails here after a minute.
        if (serve.child.exitCode === null && serve.child.signalCode === null) throw error;
      }
      if (urls !== undefined) {
        // DuckDB reads damage in the WAL's last entry as a write torn by a crash and drops that
        // entry (this happened in one CI run of session 20, and the test then waited forever for
        // an exit): the ingest log replays what the entry held, so nothing acknowledged is lost.
        try {
          await assertEveryAcknowledgedTrace(urls.api, { tag: 8, spans: SPANS, acked, sent: acked.size });
        } finally {
          assert.equal(await stopServe(serve), 0, serve.output());
        }
        return;
      }
      assert.notEqual(await serve.exited, 0);
      const message = /the database's write-ahead log (\S+) is damaged[^\n]*mv (\S+) (\S+)\)/.exec(serve.output());
      assert.ok(message, serve.output());
      assert.equal(message[1], wal);
      // The way out, as the message gives it.
      renameSync(message[2], message[3]);
      await assertAllReadable(dataDir, 8, acked);
    }),
  );
});
