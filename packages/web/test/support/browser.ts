/**
 * Shared setup for the browser tests and the UI benchmark: build the UI, start the real server in
 * process on free ports with a temporary data directory, launch Debian's Chromium headless.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian installs Chromium (`apt-get install chromium`). */
export const CHROMIUM_PATH = process.env.ARIADNE_CHROMIUM ?? '/usr/bin/chromium';

/** Arguments for a quiet, reproducible headless Chromium in a container. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

/** packages/web, absolute. */
export const WEB_DIR = fileURLToPath(new URL('../../', import.meta.url));
/** The production build the server serves. */
export const WEB_DIST = join(WEB_DIR, 'dist');
/** Screenshots go here (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissingReason(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium)`;
}

/** Builds packages/web/dist with Vite; throws with Vite's output on failure. */
export function buildWeb(): void {
  const vite = join(WEB_DIR, '..', '..', 'node_modules', '.bin', 'vite');
  const result = spawnSync(vite, ['build', '--logLevel', 'warn'], { cwd: WEB_DIR, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
}

/** A running server plus what is needed to tear it down. */
export interface TestServer {
  readonly apiUrl: string;
  readonly otlpHttpUrl: string;
  close(): Promise<void>;
}

/**
 * Starts the real Ariadne server on free ports with a fresh data directory; with `clickhouse`, on
 * a ClickHouse server of its own (the test harness's, stopped with the server).
 */
export async function startTestServer(store: 'embedded' | 'clickhouse' = 'embedded'): Promise<TestServer> {
  const { startServer } = await import('../../../server/src/main.ts');
  const { startClickHouse } = await import('../../../server/src/store/testdata/clickhouse-server.ts');
  const clickHouse = store === 'clickhouse' ? await startClickHouse() : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-web-'));
  const s = await startServer({
    store: clickHouse ? `clickhouse://${new URL(clickHouse.url).host}/web` : undefined,
    dataDir,
    host: '127.0.0.1',
    apiPort: 0,
    otlpHttpPort: 0,
    otlpGrpcPort: 0,
    webRoot: WEB_DIST,
    // The tests send spans and show them at once.
    readConsistency: 'read-your-writes',
  });
  return {
    apiUrl: s.apiUrl,
    otlpHttpUrl: s.otlpHttpUrl,
    async close() {
      await s.close();
      await clickHouse?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Launches headless Chromium (Playwright gives it a fresh temporary profile). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}
