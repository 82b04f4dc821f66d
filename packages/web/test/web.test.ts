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
import { isCspViolation, loginSuite } from './support/login-suite.ts';
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
    // Times are set when the traces are sent (in `before`), not when this file loads: this suite
    // may start many minutes later, and the search's default lookback is one hour.
    let lostOrder: FixtureTrace;
    let xss: FixtureTrace;
    const catalog: FixtureTrace[] = [];
    const contexts: BrowserContext[] = [];
    const pageErrors: string[] = [];

    before(async () => {
      buildWeb();
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      server = await startTestServer(store);
      const now = Date.now();
      lostOrder = lostOrderTrace(now - 4 * 60_000);
      xss = xssTrace(now - 3 * 60_000);
      for (let n = 0; n < 12; n++) catalog.push(catalogTrace(now - 50 * 60_000 + n * 240_000, n));
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
      // The server's Content Security Policy allows no inline script: every page must run under it.
      page.on('console', (m) => {
        if (isCspViolation(m.text())) pageErrors.push(m.text());
      });
      await page.goto(`${server.apiUrl}${path}`);
      return page;
    }

    async function shoot(page: Page, name: string): Promise<void> {
      if (store !== 'embedded') return;
      // Fonts loaded and transitions run to their end: a settled page without guessing a delay.
      await page.evaluate(() => document.fonts.ready.then(() => undefined));
      await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), animations: 'disabled' });
    }

    /**
     * Waits until every image on the page has loaded or failed: an `onerror` payload rendered as
     * markup would have run by then. An event to wait for, not a delay that guesses.
     */
    async function imagesSettled(page: Page): Promise<void> {
      await page.waitForFunction(() => [...document.images].every((image) => image.complete));
    }

    function query(page: Page): URLSearchParams {
      return new URL(page.url()).searchParams;
    }

    const EDITOR = '[data-testid="traceql-editor"] .cm-content';

    /** The TraceQL editor's text, once CodeMirror has loaded. */
    async function editorText(page: Page): Promise<string> {
      await page.waitForSelector(EDITOR);
      return (await page.locator(`${EDITOR} .cm-line`).allTextContents()).join('\n');
    }

    /**
     * Asserts the editor's text once the page has put it there: what the form or the URL writes
     * reaches the editor after a render, not within the action that caused it.
     */
    async function assertEditorText(page: Page, expected: string): Promise<void> {
      await page
        .waitForFunction(
          ([selector, text]) =>
            [...document.querySelectorAll(selector)].map((line) => line.textContent).join('\n') === text,
          [`${EDITOR} .cm-line`, expected] as const,
          { timeout: 5_000 },
        )
        .catch(() => undefined);
      assert.equal(await editorText(page), expected);
    }

    /** Replaces the editor's text by typing `text` key by key, as a person would. */
    async function typeQuery(page: Page, text: string): Promise<void> {
      await page.click(EDITOR);
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.type(text);
    }

    /** Waits for a completion option labelled exactly `label` (matched letters are wrapped in spans). */
    async function option(page: Page, label: string): Promise<void> {
      await page.waitForFunction(
        (l) =>
          [...document.querySelectorAll('.cm-tooltip-autocomplete .cm-completionLabel')].some(
            (e) => e.textContent === l,
          ),
        label,
      );
    }

    async function optionLabels(page: Page): Promise<string[]> {
      return page.locator('.cm-tooltip-autocomplete .cm-completionLabel').allTextContents();
    }

    const lostOrderErrorSpans = () =>
      lostOrder.spans.filter((s) => s.service === 'order' && s.status?.code === 2).map((s) => s.spanId);

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

    test('a TraceQL query typed in the editor finds traces with their matched spans and counts', async () => {
      const page = await open('/search');
      await page.waitForSelector('.result');
      const text = '{ resource.service.name = "order" && status = error }';
      await typeQuery(page, text);
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction((q) => new URL(location.href).searchParams.get('q') === q, text);
      await page.waitForFunction(() => document.querySelectorAll('.result').length === 1);
      const row = page.locator(`.result[data-trace-id="${lostOrder.traceId}"]`);
      await row.waitFor();
      assert.match((await page.locator('[data-testid="result-count"]').textContent()) ?? '', /1 trace matching/);
      // Three saves and their three inserts failed in the order service: one spanset of six.
      assert.equal(await row.locator('[data-testid="matched-count"]').getAttribute('data-matched'), '6');
      assert.equal((await row.locator('[data-testid="matched-count"]').textContent())?.trim(), '6 matched');
      const shown = await row
        .locator('[data-testid="matched-span"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-span-id')));
      const expected = lostOrderErrorSpans();
      assert.equal(shown.length, 3, 'the first three spans of the spanset are listed');
      for (const id of shown) assert.ok(expected.includes(id!), `${id} is an error span of the order service`);
      const spanText = (await row.locator('[data-testid="matched-span"]').first().textContent()) ?? '';
      assert.match(spanText, /save_order/);
      assert.match(spanText, /status=error/);
      assert.match((await row.textContent()) ?? '', /\+3 more/);
      await shoot(page, 'search-traceql-light');
    });

    test("a bad query shows the server's error at its position, in the editor and under it", async () => {
      const bad = '{ span.order.id = "ord-7731" status = error }';
      const answer = await fetch(`${server.apiUrl}/api/v1/search?q=${encodeURIComponent(bad)}`);
      assert.equal(answer.status, 400);
      const { traceql } = (await answer.json()) as {
        traceql: { offset: number; end: number; line: number; col: number; reason: string };
      };
      assert.equal(bad.slice(traceql.offset, traceql.end), 'status');

      // Opened from a link: the server refuses it and the editor marks where.
      const page = await open(`/search?q=${encodeURIComponent(bad)}`);
      const error = page.locator('[data-testid="traceql-error"][data-origin="server"]');
      await error.waitFor();
      assert.equal(await error.getAttribute('data-offset'), String(traceql.offset));
      assert.equal(await error.getAttribute('data-end'), String(traceql.end));
      const errorText = (await error.textContent()) ?? '';
      assert.ok(errorText.includes(`${traceql.line}:${traceql.col} ${traceql.reason}`), errorText);
      const caretLine = (await error.locator('pre').textContent())?.split('\n')[1] ?? '';
      assert.equal(caretLine, `${' '.repeat(traceql.offset)}^^^^^^`, 'the caret is under "status"');
      assert.equal(await page.locator('[data-testid="traceql-error-mark"]').textContent(), 'status');
      assert.match((await page.locator('.banner.error').textContent()) ?? '', /invalid TraceQL query: 1:30/);
      await shoot(page, 'search-traceql-error-light');

      // Typed: checked in the browser while typing, then refused by the server when run.
      await typeQuery(page, '{ name = "x" && }');
      const local = page.locator('[data-testid="traceql-error"][data-origin="local"]');
      await local.waitFor();
      assert.equal(await local.getAttribute('data-offset'), '16');
      await page.keyboard.press('Enter');
      const fromServer = page.locator('[data-testid="traceql-error"][data-origin="server"][data-offset="16"]');
      await fromServer.waitFor();
      assert.equal(await page.locator('[data-testid="traceql-error-mark"]').textContent(), '}');
      // Fixing the query clears the mark.
      await typeQuery(page, '{ name = "x" }');
      await page.waitForFunction(() => document.querySelector('[data-testid="traceql-error"]') === null);
      assert.equal(await page.locator('[data-testid="traceql-error-mark"]').count(), 0);
    });

    test('autocompletion offers scopes and intrinsics, then attribute names and values from the tags API', async () => {
      const page = await open('/search');
      await page.waitForSelector(EDITOR);
      await typeQuery(page, '{ ');
      await option(page, 'resource.');
      const fields = await optionLabels(page);
      for (const f of ['span.', '.', 'event.', 'status', 'duration', 'span:name', 'trace:rootService']) {
        assert.ok(fields.includes(f), `${f} is offered`);
      }
      await page.keyboard.type('resource.');
      await option(page, 'service.name');
      assert.ok((await optionLabels(page)).includes('host.name'));
      await page.keyboard.type('serv');
      await option(page, 'service.name');
      await page.keyboard.press('Enter');
      assert.equal(await editorText(page), '{ resource.service.name');
      await page.keyboard.type(' ');
      await option(page, '=~');
      await page.keyboard.press('Enter');
      assert.equal(await editorText(page), '{ resource.service.name = ');
      // Picking the operator opens the values, typed and quoted.
      await option(page, '"order"');
      assert.ok((await optionLabels(page)).includes('"frontend"'));
      await page.keyboard.type('"ord');
      await option(page, '"order"');
      await page.keyboard.press('Enter');
      assert.equal(await editorText(page), '{ resource.service.name = "order"');
      // Values under the conditions before them: only the order service's span names.
      await page.keyboard.type(' && name = ');
      await option(page, '"save_order"');
      const names = await optionLabels(page);
      assert.ok(names.includes('"INSERT orders"'));
      assert.ok(!names.includes('"POST /checkout"'), 'span names of other services are not offered');
      await page.keyboard.type('"save_order" }');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelectorAll('.result').length === 1);
      // Span attribute names after span.
      await typeQuery(page, '{ span.');
      await option(page, 'order.id');
      assert.ok((await optionLabels(page)).includes('retry.attempt'));
      await page.keyboard.press('Escape');
    });

    test('the form writes TraceQL into the editor, and the URL round-trips the query', async () => {
      const page = await open('/search');
      await page.waitForSelector('.result');
      await assertEditorText(page, '{}');
      await page.selectOption('#f-service', 'order');
      await page.click('fieldset[aria-label="Status"] button:has-text("Error")');
      await page.fill('input[name="minDuration"]', '20');
      await page.fill('input[name="attr"]', 'order.id=ord-7731');
      const fromForm = '{resource.service.name="order" && status=error && duration>=20ms && .order.id = "ord-7731"}';
      await assertEditorText(page, fromForm);
      // The form's query runs as the form's parameters.
      await page.click('button:has-text("Find traces")');
      await page.waitForFunction(() => new URL(location.href).searchParams.get('service') === 'order');
      assert.equal(query(page).get('q'), null);
      await page.waitForFunction(() => document.querySelectorAll('.result').length === 1);
      assert.equal(await page.locator('.result').getAttribute('data-trace-id'), lostOrder.traceId);

      // A query edited by hand goes into ?q=, and comes back from the URL.
      const text = '{ span.order.id = "ord-7731" } >> { status = error }';
      await typeQuery(page, text);
      await page.click('button:has-text("Run query")');
      await page.waitForFunction((q) => new URL(location.href).searchParams.get('q') === q, text);
      assert.equal(query(page).get('service'), null, 'the form parameters are not mixed with q');
      await page.waitForSelector(`.result[data-trace-id="${lostOrder.traceId}"] [data-testid="matched-count"]`);
      await page.reload();
      await page.waitForSelector(`.result[data-trace-id="${lostOrder.traceId}"] [data-testid="matched-count"]`);
      await assertEditorText(page, text);
      assert.equal(await page.locator('.result').count(), 1);
      // Back: the form's search, and its query in the editor again.
      await page.goBack();
      await page.waitForFunction(() => new URL(location.href).searchParams.get('service') === 'order');
      await assertEditorText(page, fromForm);
      // A link from the services page carries form parameters: the editor shows their query.
      const linked = await open('/search?service=order&operation=save_order');
      await linked.waitForSelector('.result');
      await assertEditorText(linked, '{resource.service.name="order" && name="save_order"}');
    });

    test('matched spans are highlighted in the trace view opened from a TraceQL result', async () => {
      const text = '{ resource.service.name = "order" && status = error }';
      const page = await open(`/search?q=${encodeURIComponent(text)}`);
      await page.click(`.result[data-trace-id="${lostOrder.traceId}"]`);
      await page.waitForURL(
        (url) => url.pathname === `/trace/${lostOrder.traceId}` && url.searchParams.has('highlight'),
      );
      const expected = lostOrderErrorSpans().sort();
      assert.deepEqual((query(page).get('highlight') ?? '').split(',').sort(), expected);
      await page.waitForSelector('.wf-row[data-query-match="true"]');
      const marked = await page
        .locator('.wf-row[data-query-match="true"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-span-id')));
      assert.deepEqual(marked.sort(), expected);
      assert.match((await page.locator('[data-testid="query-matches"]').textContent()) ?? '', /6 spans matched/);
      await shoot(page, 'trace-traceql-highlight-light');
      // Selecting a span keeps the highlight.
      const root = lostOrder.spans[0].spanId;
      await page.click(`.wf-row[data-span-id="${root}"]`);
      await page.waitForFunction((id) => new URL(location.href).searchParams.get('span') === id, root);
      assert.equal((query(page).get('highlight') ?? '').split(',').length, 6);
      assert.equal(await page.locator('.wf-row[data-query-match="true"]').count(), 6);
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
      await imagesSettled(page);
      assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
      assert.equal(await page.locator('img[src="x"]').count(), 0);
      assert.equal(await page.locator('#app script').count(), 0);
      const body = (await page.locator('body').textContent()) ?? '';
      assert.ok(body.includes('<script>window.__xss=1</script>'), 'the script payload is shown as text');
      assert.ok(body.includes('<img src=x onerror=window.__xss=1>'), 'the img payload is shown as text');
      await shoot(page, 'trace-xss-light');
      // The same payloads as matched spans and selected fields of a TraceQL result.
      const q =
        '{ span.xss.marker = "payload" || span.note != nil } | select(span.user.query, span.note, statusMessage)';
      await page.goto(`${server.apiUrl}/search?q=${encodeURIComponent(q)}`);
      await page.waitForSelector(`.result[data-trace-id="${xss.traceId}"] [data-testid="matched-span"]`);
      const resultText = (await page.locator(`.result[data-trace-id="${xss.traceId}"]`).textContent()) ?? '';
      assert.ok(resultText.includes('<script>window.__xss=1</script>'), resultText);
      assert.ok(resultText.includes('user.query="<img src=x onerror=window.__xss=1>"'), resultText);
      await imagesSettled(page);
      assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
      assert.equal(await page.locator('img[src="x"]').count(), 0);
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
loginSuite(missing ? `${missing}; skipping browser tests` : false);
uiSuite(
  'ClickHouse store',
  'clickhouse',
  missing || clickHouseMissing ? `${missing ?? clickHouseMissing}; skipping browser tests` : false,
);
