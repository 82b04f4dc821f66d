import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  analyzeTrace,
  findAttribute,
  type Span,
  SpanKind,
  StatusCode,
  spanFromApiJson,
  stringAttribute,
} from '@ariadne/core';
import { type RunningServer, startServer } from '@ariadne/server';
import { main as ariadneCli } from '../../packages/server/src/cli/main.ts';
import { customerProfile, findProduct } from './catalog.ts';
import { OrderDb } from './order-db.ts';

/**
 * End to end, as a newcomer runs it: `npm start -- --once` on free ports starts Ariadne and the
 * four services as separate processes, sends 40 orders, prints the report and exits. Then the
 * test reopens the data directory with a fresh Ariadne and checks, through the query API and the
 * CLI, every trace against the truth in the order service's database.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ORDERS = 40;
// Only a bound for a run that hangs; a run on a busy machine may take a while.
const RUN_TIMEOUT_MS = 180_000;

interface OrderTrace {
  readonly orderId: string;
  readonly traceId: string;
  readonly spans: readonly Span[];
}

function runOnce(dataDir: string): Promise<{ code: number | string; stdout: string }> {
  const args = ['--import', 'tsx', 'examples/shop/start.ts', '--once', '--ports', 'auto', '--no-build'];
  args.push('--data', dataDir, '--orders', String(ORDERS), '--rate', '20');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  // Bounded: a run that hangs is killed (its own exit handler then kills what it started).
  const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', stdout });
    });
  });
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return response.json();
}

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = () =>
    new Writable({
      write(chunk, _encoding, done) {
        out += chunk.toString();
        done();
      },
    });
  const code = await ariadneCli(argv, { stdout: sink(), stderr: sink(), isTTY: false });
  return { code, out };
}

/** `service name` of a span and of each ancestor, up to the root. */
function chainOf(spans: readonly Span[], span: Span): string[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chain: string[] = [];
  for (let s: Span | undefined = span; s !== undefined; s = byId.get(s.parentSpanId)) {
    chain.push(`${s.serviceName} ${s.name}`);
  }
  return chain;
}

/** The plain value of a span attribute (bigint for ints), or `undefined`. */
function attributeValue(span: Span, key: string): unknown {
  const value = findAttribute(span.attributes, key);
  return value !== undefined && 'value' in value ? value.value : undefined;
}

function only(spans: readonly Span[], service: string, name: string): Span {
  const found = spans.filter((s) => s.serviceName === service && s.name === name);
  assert.equal(found.length, 1, `one ${service} ${name}`);
  return found[0];
}

describe('npm start -- --once (the lost-order shop, end to end)', () => {
  let dataDir = '';
  let run: { code: number | string; stdout: string };
  let server: RunningServer | undefined;
  const traces: OrderTrace[] = [];
  let saved = new Set<string>();
  let lost: OrderTrace[] = [];
  let completed: OrderTrace[] = [];

  before(
    async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'ariadne-shop-'));
      run = await runOnce(dataDir);
      const db = await OrderDb.open({ path: join(dataDir, 'shop', 'orders.duckdb') });
      saved = await db.orderIds();
      await db.close();
      server = await startServer({
        dataDir,
        host: '127.0.0.1',
        apiPort: 0,
        otlpHttpPort: 0,
        otlpGrpcPort: 0,
        readConsistency: 'read-your-writes',
      });
      const search = (await getJson(
        `${server.apiUrl}/api/v1/search?service=frontend&operation=place_order&limit=1000`,
      )) as { traces: { traceId: string }[] };
      for (const { traceId } of search.traces) {
        const body = (await getJson(`${server.apiUrl}/api/v1/traces/${traceId}`)) as { spans: unknown[] };
        const spans = body.spans.map((s, i) => spanFromApiJson(s, `spans[${i}]`));
        const orderId = stringAttribute(only(spans, 'frontend', 'place_order').attributes, 'order.id') ?? '';
        traces.push({ orderId, traceId, spans });
      }
      lost = traces.filter((t) => !saved.has(t.orderId));
      completed = traces.filter((t) => saved.has(t.orderId));
    },
    { timeout: RUN_TIMEOUT_MS + 20_000 },
  );

  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits 0 after printing the report of a lost order', () => {
    assert.equal(run.code, 0, run.stdout);
    const orderId = /LOST ORDER (ORD-[0-9A-Z]+)/.exec(run.stdout)?.[1];
    const traceId = /trace id +([0-9a-f]{32})/.exec(run.stdout)?.[1];
    assert.ok(orderId && traceId, run.stdout);
    assert.ok(
      lost.some((t) => t.orderId === orderId && t.traceId === traceId),
      'the reported order is really lost',
    );
    assert.match(run.stdout, /what happened +order save_order failed after 3 attempts; frontend answered success/);
    assert.match(run.stdout, /chain +INSERT orders #3 \(order\)\n +<- save_order \(order\)/);
    assert.match(run.stdout, new RegExp(`open in the UI +http://127\\.0\\.0\\.1:\\d+/trace/${traceId}`));
    assert.match(run.stdout, /legend: = span, # on the critical path, ! error/);
    assert.match(run.stdout, /Time per service\n +service +self time +critical path/);
    assert.match(run.stdout, /swallowed +order save_order: failed after 3 attempts/);
    assert.match(
      run.stdout,
      new RegExp(`level=error service=order trace_id=${traceId} span_id=[0-9a-f]{16} msg="giving up`),
    );
    assert.match(run.stdout, /orders sent \d+ \(\d+ answered success, 0 failed\) · traces stored \d+/);
    assert.match(run.stdout, new RegExp(`found by Ariadne +${lost.length} \\(all of them, no false alarm\\)`));
  });

  it('stored one trace per order, and some orders were lost while others were saved', () => {
    assert.equal(traces.length, ORDERS);
    assert.equal(new Set(traces.map((t) => t.orderId)).size, ORDERS);
    assert.ok(lost.length >= 1, 'at least one lost order');
    assert.ok(completed.length >= 1, 'at least one saved order');
  });

  it('follows each lost order through the four services with the expected parent chain', () => {
    for (const { spans } of lost) {
      assert.deepEqual(
        new Set(spans.map((s) => s.serviceName)),
        new Set(['frontend', 'payment', 'inventory', 'order']),
      );
      const save = only(spans, 'order', 'save_order');
      assert.deepEqual(chainOf(spans, save), [
        'order save_order',
        'order POST /orders',
        'inventory POST',
        'inventory update_inventory',
        'inventory POST /reservations',
        'frontend POST',
        'frontend place_order',
        'frontend POST /orders',
      ]);
      assert.deepEqual(chainOf(spans, only(spans, 'payment', 'call_gateway')), [
        'payment call_gateway',
        'payment process_payment',
        'payment POST /payments',
        'frontend POST',
        'frontend place_order',
        'frontend POST /orders',
      ]);
      assert.equal(only(spans, 'order', 'POST /orders').kind, SpanKind.SERVER);
      assert.equal(only(spans, 'inventory', 'POST').kind, SpanKind.CLIENT);
      const attempts = spans.filter((s) => s.parentSpanId === save.spanId);
      assert.deepEqual(
        attempts.map((s) => [s.name, attributeValue(s, 'retry.attempt'), s.status.code]),
        [
          ['INSERT orders', 1n, StatusCode.ERROR],
          ['INSERT orders', 2n, StatusCode.ERROR],
          ['INSERT orders', 3n, StatusCode.ERROR],
        ],
      );
      assert.ok(attempts.every((s) => stringAttribute(s.attributes, 'db.system') === 'duckdb'));
      assert.equal(save.status.code, StatusCode.ERROR);
      assert.equal(only(spans, 'frontend', 'POST /orders').status.code, StatusCode.UNSET);
    }
  });

  it('records the baggage the frontend sent, and the searchable order attributes, in every service', () => {
    for (const { spans, orderId } of traces) {
      const userId = stringAttribute(only(spans, 'frontend', 'place_order').attributes, 'user.id')!;
      const profile = customerProfile(userId);
      for (const [service, name] of [
        ['frontend', 'place_order'],
        ['payment', 'process_payment'],
        ['inventory', 'update_inventory'],
        ['order', 'save_order'],
      ]) {
        const { attributes } = only(spans, service, name);
        assert.equal(stringAttribute(attributes, 'baggage.user_tier'), profile.tier, `${service} ${name}`);
        assert.equal(stringAttribute(attributes, 'baggage.region'), profile.region, `${service} ${name}`);
        assert.equal(stringAttribute(attributes, 'baggage.channel'), 'web', `${service} ${name}`);
        assert.equal(stringAttribute(attributes, 'order.id'), orderId);
        assert.equal(stringAttribute(attributes, 'user.id'), userId);
        assert.match(stringAttribute(attributes, 'payment.method') ?? '', /^(card|paypal|bank_transfer)$/);
        const product = findProduct(stringAttribute(attributes, 'product.id') ?? '');
        const quantity = attributeValue(only(spans, service, name), 'product.quantity');
        const amount = attributeValue(only(spans, service, name), 'order.amount');
        assert.ok(product && typeof quantity === 'bigint', `${service} ${name}: product`);
        assert.equal(Number(amount), (product.priceCents * Number(quantity)) / 100);
      }
      assert.equal(stringAttribute(only(spans, 'order', 'save_order').attributes, 'db.system'), 'duckdb');
    }
  });

  it('marks the save_order errors of lost orders as swallowed, and no error of a saved order', () => {
    for (const { spans, orderId } of lost) {
      const { errors } = analyzeTrace(spans);
      assert.equal(errors.hasSwallowed, true, orderId);
      const save = errors.errors.filter((e) => e.name === 'save_order');
      assert.deepEqual(
        save.map((e) => e.outcome),
        ['swallowed'],
      );
      assert.ok(errors.errors.every((e) => e.outcome === 'swallowed'));
    }
    for (const { spans, orderId } of completed) {
      const { errors } = analyzeTrace(spans);
      assert.equal(errors.hasSwallowed, false, orderId);
      // Saved at a later attempt: the failed attempts are recovered, never swallowed.
      assert.ok(errors.errors.every((e) => e.name === 'INSERT orders' && e.outcome === 'recovered'));
    }
  });

  it('finds a lost order by its order id through the search API', async () => {
    for (const { orderId, traceId } of lost) {
      const params = new URLSearchParams({ attr: `order.id=${orderId}` });
      const body = (await getJson(`${server!.apiUrl}/api/v1/search?${params}`)) as {
        traces: { traceId: string; services: string[]; errorCount: number }[];
      };
      assert.deepEqual(
        body.traces.map((t) => t.traceId),
        [traceId],
      );
      assert.ok(body.traces[0].errorCount >= 5);
    }
  });

  it('finds it with `ariadne search --attr order.id=…` and shows the swallowed error with `ariadne trace`', async () => {
    const { orderId, traceId } = lost[0];
    const search = await cli(['search', '--attr', `order.id=${orderId}`, '--api', server!.apiUrl]);
    assert.equal(search.code, 0, search.out);
    assert.match(
      search.out,
      new RegExp(`^${traceId} .* frontend: POST /orders +frontend,inventory,order,payment$`, 'm'),
    );
    const shown = await cli(['trace', traceId, '--api', server!.apiUrl]);
    assert.equal(shown.code, 0, shown.out);
    assert.match(shown.out, /! an error was swallowed: a failure never reached the caller/);
    assert.match(shown.out, /swallowed +order save_order: failed after 3 attempts/);
    assert.match(shown.out, /chain: save_order \(order\) <- POST \/orders \(order\) <- POST \(inventory\)/);
  });
});
