/**
 * The UI behind a query token, in real Chromium: a page opened without a session goes to the login
 * page, a wrong token is refused there, the right one sets the session cookie (HttpOnly,
 * SameSite=Strict) and brings the browser back to the trace it asked for, whose fetches then work
 * with the cookie alone. Everything runs under the server's Content Security Policy, which refuses
 * inline script. Called from web.test.ts, after the UI suites have built packages/web/dist.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, WEB_DIST } from './browser.ts';
import { lostOrderTrace, sendTraces } from './otlp-fixtures.ts';

const QUERY_TOKEN = 'ui-query-token-5c1e9b7a3d2f8e46';

/** True for a console message reporting a Content Security Policy violation. */
export function isCspViolation(text: string): boolean {
  return /Content Security Policy/i.test(text);
}

/** Registers the login suite (skipped with `skip`, e.g. when Chromium is missing). */
export function loginSuite(skip: string | false): void {
  describe('web UI behind a query token, in Chromium', { skip }, () => {
    let dir: string;
    let server: { apiUrl: string; otlpHttpUrl: string; close(): Promise<void> };
    let browser: Browser;
    const trace = lostOrderTrace(Date.now() - 60_000);
    const violations: string[] = [];
    const pageErrors: string[] = [];

    before(async () => {
      const { startServer } = await import('../../../server/src/main.ts');
      dir = mkdtempSync(join(tmpdir(), 'ariadne-web-login-'));
      writeFileSync(join(dir, 'query-tokens'), `# the UI test's token\n${QUERY_TOKEN}\n`);
      server = await startServer({
        dataDir: join(dir, 'data'),
        // Reads see every span acknowledged before them: the test reads right after sending.
        readConsistency: 'read-your-writes',
        host: '127.0.0.1',
        apiPort: 0,
        otlpHttpPort: 0,
        otlpGrpcPort: 0,
        webRoot: WEB_DIST,
        queryTokenFile: join(dir, 'query-tokens'),
        tokenWatchIntervalMs: 0,
      });
      await sendTraces(server.otlpHttpUrl, [trace]);
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    function watch(page: Page): Page {
      page.on('console', (m) => {
        if (isCspViolation(m.text())) violations.push(m.text());
      });
      page.on('pageerror', (e) => pageErrors.push(e.message));
      return page;
    }

    test('a trace link without a session goes to the login page; a wrong token is refused; the right one opens the trace', async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      try {
        const page = watch(await context.newPage());
        const first = await page.goto(`${server.apiUrl}/trace/${trace.traceId}`);
        assert.equal(new URL(page.url()).pathname, '/login');
        assert.equal(new URL(page.url()).searchParams.get('next'), `/trace/${trace.traceId}`);
        const headers = first?.headers() ?? {};
        assert.match(headers['content-security-policy'] ?? '', /script-src 'self'/);
        assert.equal(headers['x-frame-options'], 'DENY');
        assert.equal(headers['x-content-type-options'], 'nosniff');
        assert.equal(headers['referrer-policy'], 'no-referrer');
        assert.equal(await page.isVisible('#failed'), false);

        await page.fill('#token', 'not-the-query-token-000000');
        await page.click('button[type="submit"]');
        await page.waitForSelector('body.failed #failed', { state: 'visible' });
        assert.equal(new URL(page.url()).searchParams.get('next'), `/trace/${trace.traceId}`);
        assert.deepEqual(await context.cookies(), []);

        await page.fill('#token', QUERY_TOKEN);
        await page.click('button[type="submit"]');
        await page.waitForURL((url) => url.pathname === `/trace/${trace.traceId}` && url.hash === '');
        await page.waitForSelector('.wf-row');
        assert.equal(await page.locator('.wf-row').count(), trace.spans.length);

        const [cookie] = await context.cookies();
        assert.equal(cookie.name, 'ariadne_session');
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, 'Strict');
        assert.equal(cookie.path, '/');
        assert.ok(!cookie.value.includes(QUERY_TOKEN));
        assert.equal(await page.evaluate(() => document.cookie), '', 'the session is out of reach of scripts');

        // The search page's fetches work with the cookie alone.
        await page.goto(`${server.apiUrl}/search`);
        await page.waitForSelector(`.result[data-trace-id="${trace.traceId}"]`);
      } finally {
        await context.close();
      }
    });

    test('the policy refuses inline script (and the check sees it), and no page reported a violation', async () => {
      assert.deepEqual(violations, []);
      assert.deepEqual(pageErrors, []);
      const context = await browser.newContext();
      try {
        const page = watch(await context.newPage());
        await page.goto(`${server.apiUrl}/login`);
        const reported = page.waitForEvent('console', { predicate: (m) => isCspViolation(m.text()) });
        const ran = await page.evaluate(() => {
          const script = document.createElement('script');
          script.textContent = 'window.__inline = 1';
          document.body.append(script);
          return (window as unknown as { __inline?: number }).__inline;
        });
        assert.equal(ran, undefined);
        await reported;
      } finally {
        await context.close();
      }
    });
  });
}
