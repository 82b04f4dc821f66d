import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  assertEveryAcknowledgedTrace,
  postTraces,
  startServe,
  stopServe,
  traceRequest,
  waitForDrained,
  waitForOk,
} from './testdata/ariadne-process.ts';

/**
 * A full disk, for real: `ariadne serve` on a 64 MiB tmpfs (tests and CI run as root), filled
 * up under load, then freed. Needs `mount`; with CI=true a machine without it fails the suite.
 */

const SPANS = 200;
const TAG = 7;

/** Fills the filesystem of `path` until a write fails with ENOSPC; returns the bytes written. */
function fillUp(path: string): number {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1024 * 1024, 0x5a);
  let written = 0;
  try {
    for (let i = 0; i < 1024; i++) {
      try {
        written += writeSync(fd, block);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        // The last megabyte may still take a partial write: fill it byte runs at a time.
        const small = Buffer.alloc(4096, 0x5a);
        while (true) {
          try {
            written += writeSync(fd, small);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return written;
            throw e;
          }
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  throw new Error('the filesystem never filled up');
}

async function readyz(api: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${api}/readyz`);
  return { status: response.status, body: await response.text() };
}

describe('a full disk', () => {
  it('answers 503 and reports it in /readyz while writes fail, recovers by itself once space is back, loses nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ariadne-full-'));
    const mount = join(root, 'mnt');
    mkdirSync(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mount]);
    try {
      const dataDir = join(mount, 'data');
      const { serve, urls } = await startServe(dataDir, ['--memory-limit', '512MiB']);
      const acked = new Set<number>();
      let sent = 0;
      const send = async () => {
        const n = sent++;
        const status = await postTraces(urls.otlpHttp, traceRequest(TAG, n, SPANS));
        if (status === 200) acked.add(n);
        return status;
      };
      try {
        for (let i = 0; i < 20; i++) assert.equal(await send(), 200);
        await waitForDrained(urls.api);

        const filler = join(mount, 'filler');
        fillUp(filler);
        const refused: number[] = [];
        for (let i = 0; i < 50 && refused.length < 5; i++) {
          const status = await send();
          if (status !== 200) refused.push(status);
        }
        assert.deepEqual(refused, [503, 503, 503, 503, 503], 'refused with 503 while the disk is full');
        const notReady = await readyz(urls.api);
        assert.equal(notReady.status, 503);
        assert.match(notReady.body, /no space left on device|ENOSPC/i);

        rmSync(filler);
        // Back by itself: the log is probed every second, without traffic.
        await waitForOk(`${urls.api}/readyz`, 30_000);
        for (let i = 0; i < 20; i++) assert.equal(await send(), 200, 'accepted again');
        await waitForDrained(urls.api);
      } finally {
        assert.equal(await stopServe(serve), 0, serve.output());
      }
      assert.ok(acked.size >= 40);
      const again = await startServe(dataDir);
      try {
        await assertEveryAcknowledgedTrace(again.urls.api, { tag: TAG, spans: SPANS, acked, sent });
      } finally {
        assert.equal(await stopServe(again.serve), 0);
      }
    } finally {
      execFileSync('umount', [mount]);
      rmSync(root, { recursive: true, force: true });
    }
  });
});
