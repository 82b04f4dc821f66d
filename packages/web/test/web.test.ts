/**
 * End-to-end tests of the web UI in a real browser: the real server in process, traces sent
 * through OTLP/HTTP, Debian's Chromium driven by playwright-core. Screenshots of every page in
 * light and dark go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { clickHouseBinary } from '../../server/src/store/testdata/clickhouse-server.ts';
import {
  ARTIFACTS_DIR,
  browserMissingReason,
  buildWeb,
  launchBrowser,
  startTestServer,
  type TestServer,
} from './support/browser.ts';
import { catalogTrace, type FixtureTrace, lostOrderTrace, sendTraces, xssTrace } from './support/otlp-fixtures.ts';

const missing = browserMissingReason();
if (missing && process.env.CI === 'true') {
  test('Chromium is installed (required when CI=true)', () => {
    assert.fail(missing);
  });
}

/**
 * The whole UI suite, on a server with the embedded store and again on one keeping its spans in
 * ClickHouse: the UI reads only the API, and must not tell them apart. Screenshots are taken on
 * the embedded store only.
 */
function uiSuite(label: string, store: 'embedded' | 'clickhouse', skip: string | false) {
  describe(`web UI in Chromium (${label})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    const now = Date.now();
    const lostOrder = lostOrderTrace(now - 4 * 60_000);
    const xss = xssTrace(now - 3 * 60_000);
    const catalog: FixtureTrace[] = [];
    for (let n = 0; n < 12; n++) catalog.push(catalogTrace(now - 50 * 60_000 + n * 240_000, n));
    const contexts: BrowserContext[] = [];
    const pageErrors: string[] = [];

    before(async () => {
      buildWeb();
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      server = await startTestServer(store);
      await sendTraces(server.otlpHttpUrl, [lostOrder, xss, ...catalog]);
      browser = await launchBrowser();
    });

    after(async () => {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser?.close();
      await server?.close();
    });

    async function open(path: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(`${server.apiUrl}${path}`);
      return page;
    }

    async function shoot(page: Page, name: string): Promise<void> {
      if (store !== 'embedded') return;
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`) });
    }

    function query(page: Page): URLSearchParams {
      return new URL(page.url()).searchParams;
    }

    test('/ redirects to the search page, which lists recent traces with a scatter plot', async () => {
      const page = await open('/');
      await page.waitForSelector(`.result[data-trace-id="${lostOrder.traceId}"]`);
      assert.equal(new URL(page.url()).pathname, '/search');
      assert.ok((await page.locator('.result').count()) >= 14);
      assert.ok((await page.locator(`.scatter circle[data-trace-id="${lostOrder.traceId}"]`).count()) === 1);
      await shoot(page, 'search-light');
      const dark = await open('/search', 'dark');
      await dark.waitForSelector('.result');
      await shoot(dark, 'search-dark');
    });

    test('search by service keeps the filter in the URL and finds only that service', async () => {
      const page = await open('/search?service=order&lookback=1h');
      await page.waitForSelector(`.result[data-trace-id="${lostOrder.traceId}"]`);
      assert.equal(await page.locator('.result').count(), 1);
      assert.equal(await page.locator('#f-service').inputValue(), 'order');
    });

    test('search by attribute through the form, then open the trace from a row', async () => {
      const page = await open('/search');
      await page.waitForSelector('.result');
      await page.fill('input[name="attr"]', 'order.id=ord-7731');
      await page.click('button:has-text("Find traces")');
      await page.waitForFunction(() => new URL(location.href).searchParams.get('attr') === 'order.id=ord-7731');
      await page.waitForFunction(() => document.querySelectorAll('.result').length === 1);
      assert.equal(await page.locator('.result').getAttribute('data-trace-id'), lostOrder.traceId);
      await page.click('.result');
      await page.waitForURL(`**/trace/${lostOrder.traceId}`);
      await page.waitForSelector('[data-testid="waterfall"] .wf-row');
    });

    test('clicking a dot of the scatter plot opens its trace', async () => {
      const page = await open('/search?status=error');
      await page.waitForSelector(`.scatter circle[data-trace-id="${lostOrder.traceId}"]`);
      await page.click(`.scatter circle[data-trace-id="${lostOrder.traceId}"]`);
      await page.waitForURL(`**/trace/${lostOrder.traceId}`);
    });

    test('the trace-id box jumps to a trace', async () => {
      const page = await open('/services');
      await page.fill('input[name="traceId"]', lostOrder.traceId.toUpperCase());
      await page.press('input[name="traceId"]', 'Enter');
      await page.waitForURL(`**/trace/${lostOrder.traceId}`);
      await page.waitForSelector('.wf-row');
    });

    test('the lost order: critical path on the bars, swallowed error called out, span details', async () => {
      const page = await open(`/trace/${lostOrder.traceId}`);
      await page.waitForSelector('.wf-row');
      assert.equal(await page.locator('.wf-row').count(), lostOrder.spans.length);
      // Critical path drawn on the root and on the render span that ends the request.
      const root = lostOrder.spans[0].spanId;
      const render = lostOrder.spans[lostOrder.spans.length - 1].spanId;
      assert.equal(await page.locator(`.wf-row[data-span-id="${root}"]`).getAttribute('data-critical'), 'true');
      assert.equal(await page.locator(`.wf-row[data-span-id="${render}"]`).getAttribute('data-critical'), 'true');
      assert.ok((await page.locator('.wf-cp').count()) >= 5);
      assert.equal(await page.locator('.wf-row[data-error="true"]').count(), 6);
      // The swallowed error, with a link to the failing span.
      const banner = page.locator('[data-testid="swallowed-error"]');
      const text = (await banner.textContent()) ?? '';
      assert.match(text, /Swallowed error/);
      assert.match(text, /save_order failed 3 times/);
      assert.match(text, /inventory/);
      await shoot(page, 'trace-light');
      await banner.locator('a').click();
      const saveId = lostOrder.spans.find((s) => s.name === 'save_order')!.spanId;
      await page.waitForFunction((id) => new URL(location.href).searchParams.get('span') === id, saveId);
      const detail = page.locator('[data-testid="span-detail"]');
      await detail.waitFor();
      const detailText = (await detail.textContent()) ?? '';
      assert.match(detailText, /deadlock detected while inserting into orders/);
      assert.match(detailText, /error swallowed/);
      assert.match(detailText, /exception/);
      assert.match(detailText, /ord-7731/);
      assert.match(detailText, new RegExp(saveId));
      await shoot(page, 'trace-detail-light');
    });

    test('a shared link with ?span= opens the span, in dark mode too', async () => {
      const render = lostOrder.spans[lostOrder.spans.length - 1];
      const page = await open(`/trace/${lostOrder.traceId}?span=${render.spanId}`, 'dark');
      await page.waitForSelector('[data-testid="span-detail"]');
      assert.match((await page.locator('[data-testid="span-detail"] h2').textContent()) ?? '', /render confirmation/);
      assert.equal(
        await page.locator(`.wf-row[data-span-id="${render.spanId}"]`).getAttribute('aria-selected'),
        'true',
      );
      await shoot(page, 'trace-dark');
    });

    test('time by service and the graph view', async () => {
      for (const scheme of ['light', 'dark'] as const) {
        const page = await open(`/trace/${lostOrder.traceId}`, scheme);
        await page.waitForSelector('.wf-row');
        await page.click('button[role="tab"]:has-text("Time by service")');
        const chart = page.locator('[data-testid="time-by-service"]');
        await chart.waitFor();
        const chartText = (await chart.textContent()) ?? '';
        for (const s of ['frontend', 'payment', 'inventory', 'order']) assert.match(chartText, new RegExp(s));
        await shoot(page, `trace-services-${scheme}`);
        await page.click('button[role="tab"]:has-text("Graph")');
        await page.waitForSelector('[data-testid="trace-graph"] .node');
        assert.equal(await page.locator('[data-testid="trace-graph"] .node').count(), lostOrder.spans.length);
        assert.equal(await page.locator('[data-testid="trace-graph"] .cluster').count(), 4);
        await shoot(page, `trace-graph-${scheme}`);
      }
    });

    test('find in trace by name and by attribute', async () => {
      const page = await open(`/trace/${lostOrder.traceId}`);
      await page.waitForSelector('.wf-row');
      await page.fill('input[aria-label="Find in trace"]', 'save_order');
      await page.waitForFunction(() => document.querySelectorAll('.wf-row.match').length === 3);
      await page.fill('input[aria-label="Find in trace"]', 'retry.attempt=2');
      await page.waitForFunction(() => document.querySelectorAll('.wf-row.match').length === 1);
      await page.press('input[aria-label="Find in trace"]', 'Enter');
      assert.equal((await page.locator('[data-testid="find-count"]').textContent()) ?? '', '1/1');
    });

    test('keyboard: arrows walk the waterfall, Enter opens a span, left/right collapse and expand', async () => {
      const page = await open(`/trace/${lostOrder.traceId}`);
      await page.waitForSelector('.wf-row');
      const tree = page.locator('[data-testid="waterfall"]');
      await tree.focus();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      const third = lostOrder.spans[2].spanId; // payment POST /charge, third in depth-first order
      await page.waitForFunction((id) => new URL(location.href).searchParams.get('span') === id, third);
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction(
        (id) => document.querySelector(`.wf-row[data-span-id="${id}"]`)?.getAttribute('aria-expanded') === 'false',
        third,
      );
      assert.equal(await page.locator('.wf-row').count(), 3 + 1); // root, call, collapsed charge, render
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction((n) => document.querySelectorAll('.wf-row').length === n, lostOrder.spans.length);
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        (id) => new URL(location.href).searchParams.get('span') === id,
        lostOrder.spans[1].spanId,
      );
      assert.equal(query(page).get('span'), lostOrder.spans[1].spanId);
    });

    test('services map leads to a service and its operations', async () => {
      const page = await open('/services?lookback=1h');
      // Services and dependencies are two requests: the nodes can be drawn before the edges.
      await page.waitForSelector('[data-testid="dependency-map"] [data-service="inventory"]');
      await page.waitForSelector('[data-testid="dependency-map"] [data-edge="inventory->order"]');
      assert.equal(await page.locator('[data-edge="inventory->order"]').count(), 1);
      assert.match((await page.locator('[data-edge="inventory->order"]').textContent()) ?? '', /errors/);
      await shoot(page, 'services-light');
      await page.click('[data-testid="dependency-map"] [data-service="order"]');
      await page.waitForSelector('[data-testid="operations"] tr[data-operation="save_order"]');
      assert.equal(query(page).get('service'), 'order');
      const cells = await page.locator('tr[data-operation="save_order"] td').allTextContents();
      assert.equal(cells[1], '3', 'request count');
      assert.match(cells[2], /100%/, 'error rate');
      assert.match(cells[3], /30ms/, 'p50');
      await shoot(page, 'services-operations-light');
      const dark = await open('/services?lookback=1h&service=order', 'dark');
      await dark.waitForSelector('tr[data-operation="save_order"]');
      await shoot(dark, 'services-dark');
      // An operation row leads to its traces.
      await page.click('tr[data-operation="save_order"]');
      await page.waitForURL(/\/search\?/);
      assert.equal(query(page).get('operation'), 'save_order');
      await page.waitForSelector(`.result[data-trace-id="${lostOrder.traceId}"]`);
    });

    test('markup in span names, attributes, events and status renders as text and never runs', async () => {
      const page = await open(`/search?lookback=1h`);
      await page.waitForSelector(`.result[data-trace-id="${xss.traceId}"]`);
      const child = xss.spans[1].spanId;
      await page.goto(`${server.apiUrl}/trace/${xss.traceId}?span=${child}`);
      await page.waitForSelector('[data-testid="span-detail"]');
      await page.click('summary:has-text("Resource")');
      await page.click('button[role="tab"]:has-text("Graph")');
      await page.waitForSelector('[data-testid="trace-graph"] .node');
      await page.click('button[role="tab"]:has-text("Timeline")');
      await page.waitForSelector('.wf-row');
      await page.waitForTimeout(300);
      assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
      assert.equal(await page.locator('img[src="x"]').count(), 0);
      assert.equal(await page.locator('#app script').count(), 0);
      const body = (await page.locator('body').textContent()) ?? '';
      assert.ok(body.includes('<script>window.__xss=1</script>'), 'the script payload is shown as text');
      assert.ok(body.includes('<img src=x onerror=window.__xss=1>'), 'the img payload is shown as text');
      await shoot(page, 'trace-xss-light');
    });

    test('an unknown trace id shows a clear not-found page', async () => {
      const page = await open(`/trace/${'ab'.repeat(16)}`);
      await page.waitForSelector('text=Trace not found');
    });

    test('no script errors on any page', () => {
      assert.deepEqual(pageErrors, []);
    });
  });
}

const clickHouseMissing = clickHouseBinary()
  ? undefined
  : 'clickhouse-server is not installed (apt-get install clickhouse-server)';
if (clickHouseMissing && process.env.CI === 'true') {
  test('clickhouse-server is installed (required when CI=true)', () => {
    assert.fail(clickHouseMissing);
  });
}
uiSuite('embedded store', 'embedded', missing ? `${missing}; skipping browser tests` : false);
uiSuite(
  'ClickHouse store',
  'clickhouse',
  missing || clickHouseMissing ? `${missing ?? clickHouseMissing}; skipping browser tests` : false,
);
