import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dirBytes } from '../../bench/serve-process.ts';
import { startServer } from '../main.ts';
import { postTraces, requestTraceId, traceRequest } from './testdata/ariadne-process.ts';

/**
 * A crash after the idle trim loses nothing acknowledged: a real server process settles (the
 * database checkpointed, the ingest log cut down to an empty segment), takes more spans, and is
 * killed with SIGKILL; the next start holds every acknowledged span exactly once.
 */

const FIXTURE = new URL('./testdata/serve-settle.ts', import.meta.url).pathname;

/** Waits (bounded) until `pattern` appears in what the child printed. */
async function printed(output: () => string, pattern: RegExp, exited: () => boolean): Promise<RegExpExecArray> {
  const deadline = Date.now() + 60_000;
  while (true) {
    const match = pattern.exec(output());
    if (match) return match;
    if (exited() || Date.now() > deadline) throw new Error(`expected ${pattern}, got:\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('crash after the idle trim', () => {
  it('keeps every span acknowledged before and after the trim through a SIGKILL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-trim-crash-'));
    const TAG = 9;
    const SPANS = 50;
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dataDir], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (c: Buffer) => {
        text += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        text += c.toString();
      });
      const exited = new Promise((r) => child.on('exit', r));
      const gone = () => child.exitCode !== null || child.signalCode !== null;
      try {
        const urls = JSON.parse((await printed(() => text, /^(\{.*\})$/m, gone))[1]) as { otlpHttp: string };
        for (let n = 0; n < 40; n++) assert.equal(await postTraces(urls.otlpHttp, traceRequest(TAG, n, SPANS)), 200);
        child.stdin.write('settle\n');
        await printed(() => text, /^settled$/m, gone);
        const database = statSync(join(dataDir, 'ariadne.duckdb')).size;
        const atRest = dirBytes(dataDir);
        assert.ok(atRest <= 1.2 * database, `settled: ${atRest} bytes for a ${database}-byte database`);
        // Acknowledged after the trim: in the fresh log segment, perhaps in the WAL, not checkpointed.
        for (let n = 40; n < 60; n++) assert.equal(await postTraces(urls.otlpHttp, traceRequest(TAG, n, SPANS)), 200);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }

      const server = await startServer({ dataDir, host: '127.0.0.1', apiPort: 0, otlpHttpPort: 0, otlpGrpcPort: 0 });
      try {
        for (let n = 0; n < 60; n++) {
          const spans = await server.store.getTrace(requestTraceId(TAG, n));
          assert.equal(spans.length, SPANS, `acknowledged request ${n} stored whole`);
          assert.equal(new Set(spans.map((s) => s.spanId)).size, SPANS, `request ${n}: no span twice`);
        }
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
