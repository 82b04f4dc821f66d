import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compileTraceQL, evaluateTraceQL, type KeyValue, type Span, type UnixNanos, unixNanos } from '@ariadne/core';
import { searchFormSummaries } from '../query/form-search.ts';
import type { SpanCompareOp, SpanField, SpanPredicate, SpanStore, SpanValue, TraceQuery } from '../query/span-store.ts';
import { exactSpanPredicate } from '../query/traceql-plan.ts';

/**
 * The contract every `SpanStore` must pass (hono runs one router suite against all its routers;
 * we run this one against every store). A new backend is done when this suite passes.
 */
export interface SpanStoreContractOptions {
  /** Opens a store on fresh, empty storage. */
  readonly open: () => Promise<SpanStore>;
  /** Re-opens the same storage after `close()`, if the store is persistent. */
  readonly reopen?: () => Promise<SpanStore>;
}

const T0 = 1_760_000_000_000_000_000n;
const MS = 1_000_000n;

function attr(key: string, value: KeyValue['value']): KeyValue {
  return { key, value };
}

function resource(service: string, extra: KeyValue[] = []) {
  return {
    attributes: [attr('service.name', { type: 'string', value: service }), ...extra],
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
}

const SCOPE = { name: 'contract', version: '1.0.0', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

interface MakeSpan {
  trace: string;
  id: string;
  parent?: string;
  service: string;
  name: string;
  startMs: number;
  durationMs: number;
  error?: boolean;
  attributes?: KeyValue[];
  resourceExtra?: KeyValue[];
}

function makeSpan(s: MakeSpan): Span {
  const start = T0 + BigInt(s.startMs) * MS;
  return {
    traceId: s.trace,
    spanId: s.id,
    parentSpanId: s.parent ?? '',
    traceState: '',
    flags: 1,
    name: s.name,
    kind: s.parent ? 3 : 2,
    startTimeUnixNano: unixNanos(start),
    endTimeUnixNano: unixNanos(start + BigInt(s.durationMs) * MS),
    attributes: s.attributes ?? [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: s.error ? 2 : 0, message: s.error ? 'failed' : '' },
    serviceName: s.service,
    resource: resource(s.service, s.resourceExtra),
    scope: SCOPE,
  };
}

const TRACE_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
const TRACE_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
const TRACE_C = 'ccccccccccccccccccccccccccccccc3';

/** The lost order: frontend → payment, frontend → inventory → order (failing save_order). */
const traceA: Span[] = [
  makeSpan({
    trace: TRACE_A,
    id: 'a000000000000001',
    service: 'frontend',
    name: 'POST /orders',
    startMs: 0,
    durationMs: 100,
    attributes: [
      attr('order.id', { type: 'string', value: 'ORD-1' }),
      attr('http.status_code', { type: 'int', value: 200n }),
    ],
  }),
  makeSpan({
    trace: TRACE_A,
    id: 'a000000000000002',
    parent: 'a000000000000001',
    service: 'payment',
    name: 'process_payment',
    startMs: 5,
    durationMs: 30,
  }),
  makeSpan({
    trace: TRACE_A,
    id: 'a000000000000003',
    parent: 'a000000000000001',
    service: 'inventory',
    name: 'update_inventory',
    startMs: 40,
    durationMs: 50,
  }),
  makeSpan({
    trace: TRACE_A,
    id: 'a000000000000004',
    parent: 'a000000000000003',
    service: 'order',
    name: 'save_order',
    startMs: 45,
    durationMs: 300,
    error: true,
    attributes: [attr('order.id', { type: 'string', value: 'ORD-1' })],
    resourceExtra: [attr('host.name', { type: 'string', value: 'db-host-7' })],
  }),
];
const traceB: Span[] = [
  makeSpan({
    trace: TRACE_B,
    id: 'b000000000000001',
    service: 'frontend',
    name: 'GET /cart',
    startMs: 1000,
    durationMs: 20,
  }),
  makeSpan({
    trace: TRACE_B,
    id: 'b000000000000002',
    parent: 'b000000000000001',
    service: 'inventory',
    name: 'get_stock',
    startMs: 1002,
    durationMs: 10,
    attributes: [attr('ratio', { type: 'double', value: 0.25 }), attr('cached', { type: 'bool', value: true })],
  }),
];
/** Starts with a span whose parent never arrived. */
const traceC: Span[] = [
  makeSpan({
    trace: TRACE_C,
    id: 'c000000000000002',
    parent: 'c0000000000000ff',
    service: 'payment',
    name: 'call_gateway',
    startMs: 2000,
    durationMs: 500,
  }),
];

/** A span with every field set, including int64 beyond 2^53, bytes, nested values, events and links. */
const rich: Span = {
  ...makeSpan({
    trace: 'dddddddddddddddddddddddddddddd44',
    id: 'd000000000000001',
    service: 'rich',
    name: 'everything',
    startMs: 3000,
    durationMs: 1,
  }),
  traceState: 'vendor=abc,other=1',
  flags: 0x301,
  kind: 5,
  startTimeUnixNano: unixNanos(1_760_000_003_000_000_001n),
  endTimeUnixNano: unixNanos(1_760_000_003_001_000_003n),
  attributes: [
    attr('big', { type: 'int', value: 9_007_199_254_740_993n }),
    attr('neg', { type: 'int', value: -42n }),
    attr('pi', { type: 'double', value: Math.PI }),
    attr('yes', { type: 'bool', value: true }),
    attr('raw', { type: 'bytes', value: new Uint8Array([0, 1, 254, 255]) }),
    attr('list', {
      type: 'array',
      value: [
        { type: 'string', value: 'x' },
        { type: 'int', value: 1n },
      ],
    }),
    attr('map', {
      type: 'kvlist',
      value: [attr('inner', { type: 'kvlist', value: [attr('deep', { type: 'bool', value: false })] })],
    }),
    attr('empty', { type: 'empty' }),
    attr('unicode', { type: 'string', value: '주문 ✓ <b>' }),
  ],
  droppedAttributesCount: 3,
  events: [
    {
      timeUnixNano: unixNanos(1_760_000_003_000_500_000n),
      name: 'exception',
      attributes: [attr('exception.message', { type: 'string', value: 'db timeout' })],
      droppedAttributesCount: 1,
    },
  ],
  droppedEventsCount: 2,
  links: [
    {
      traceId: TRACE_A,
      spanId: 'a000000000000004',
      traceState: 'k=v',
      attributes: [attr('link.kind', { type: 'string', value: 'follows' })],
      droppedAttributesCount: 0,
      flags: 1,
    },
  ],
  droppedLinksCount: 4,
  status: { code: 2, message: 'it broke' },
  resource: {
    attributes: [attr('service.name', { type: 'string', value: 'rich' }), attr('host.id', { type: 'int', value: 7n })],
    droppedAttributesCount: 5,
    schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
  },
  scope: {
    name: 'lib',
    version: '2',
    attributes: [attr('scope.attr', { type: 'string', value: 's' })],
    droppedAttributesCount: 6,
    schemaUrl: 'https://example.com/scope',
  },
};

const ms = (n: number) => unixNanos(T0 + BigInt(n) * MS);

/** Runs the shared store contract inside the caller's `describe`. */
export function runSpanStoreContract(options: SpanStoreContractOptions): void {
  let store: SpanStore;
  before(async () => {
    store = await options.open();
    await store.writeSpans(traceA);
    await store.writeSpans([...traceB, ...traceC]);
    await store.writeSpans([rich]);
  });
  after(async () => {
    await store.close();
  });

  describe('getTrace', () => {
    it('returns every stored field exactly', async () => {
      const [span] = await store.getTrace(rich.traceId);
      assert.deepEqual(span, rich);
    });
    it('returns all spans of a trace ordered by start', async () => {
      const spans = await store.getTrace(TRACE_A);
      assert.deepEqual(
        spans.map((s) => s.spanId),
        traceA.map((s) => s.spanId),
      );
      assert.equal(spans[3].resource.attributes[1].key, 'host.name');
    });
    it('returns nothing for an unknown trace', async () => {
      assert.deepEqual(await store.getTrace('0123456789abcdef0123456789abcdef'), []);
    });
    it('honours a time hint', async () => {
      assert.equal((await store.getTrace(TRACE_A, { startUnixNano: ms(40), endUnixNano: ms(46) })).length, 2);
    });
  });

  describe('the search form (run as TraceQL)', () => {
    const ids = async (q: TraceQuery) => (await searchFormSummaries(store, q)).map((t) => t.traceId);

    it('finds exactly the matching traces for a query on service, name, status and duration', async () => {
      // The summaries-only search trusts these candidates without reading spans back.
      const all = [rich.traceId, TRACE_A, TRACE_B, TRACE_C];
      const spans = await store.getTraces(all);
      for (const text of [
        '{}',
        '{ resource.service.name = "inventory" }',
        '{ resource.service.name = "inventory" && name = "get_stock" }',
        '{ name != "POST /orders" && status = error }',
        '{ status != unset || name = "get_stock" }',
        '{ status = unset && duration >= 300ms }',
        '{ duration < 10ms || (resource.service.name = "frontend" && duration > 1ms) }',
      ]) {
        const query = compileTraceQL(text);
        const predicate = exactSpanPredicate(query);
        assert.ok(predicate !== undefined, text);
        const found = await store.findTraceCandidates({ requirements: [{ predicate, minSpans: 1 }], limit: 100 });
        const expected = all.filter((id) => evaluateTraceQL(query, spans.get(id) ?? []) !== undefined);
        assert.deepEqual(found.map((c) => c.traceId).sort(), expected.sort(), text);
      }
    });

    it('finds everything, newest first, without a filter', async () => {
      assert.deepEqual(await ids({ limit: 10 }), [rich.traceId, TRACE_C, TRACE_B, TRACE_A]);
    });
    it('summarises each trace from all its spans', async () => {
      const [a] = await searchFormSummaries(store, { service: 'order', limit: 10 });
      assert.deepEqual(a, {
        traceId: TRACE_A,
        rootService: 'frontend',
        rootName: 'POST /orders',
        startUnixNano: ms(0),
        durationNanos: 345n * MS,
        spanCount: 4,
        errorCount: 1,
        services: ['frontend', 'inventory', 'order', 'payment'],
      });
      const [c] = await searchFormSummaries(store, { service: 'payment', operation: 'call_gateway', limit: 10 });
      assert.equal(c.rootName, 'call_gateway', 'a trace without a root reports its earliest span');
    });
    it('filters by service and operation on the same span', async () => {
      assert.deepEqual(await ids({ service: 'inventory', limit: 10 }), [TRACE_B, TRACE_A]);
      assert.deepEqual(await ids({ service: 'inventory', operation: 'get_stock', limit: 10 }), [TRACE_B]);
      assert.deepEqual(await ids({ service: 'frontend', operation: 'get_stock', limit: 10 }), []);
    });
    it('filters by status', async () => {
      assert.deepEqual(await ids({ status: 'error', limit: 10 }), [rich.traceId, TRACE_A]);
      assert.deepEqual(await ids({ status: 'error', service: 'frontend', limit: 10 }), []);
      assert.deepEqual(await ids({ status: 'ok', limit: 10 }), []);
      assert.deepEqual((await ids({ status: 'unset', limit: 10 })).length, 3);
    });
    it('filters by duration, both bounds inclusive', async () => {
      assert.deepEqual(await ids({ minDurationNanos: 300n * MS, limit: 10 }), [TRACE_C, TRACE_A]);
      assert.deepEqual(await ids({ minDurationNanos: 300n * MS, maxDurationNanos: 300n * MS, limit: 10 }), [TRACE_A]);
      assert.deepEqual(await ids({ maxDurationNanos: 10n * MS, service: 'inventory', limit: 10 }), [TRACE_B]);
    });
    it('filters by a time window: start inclusive, end exclusive', async () => {
      assert.deepEqual(await ids({ startUnixNano: ms(1000), endUnixNano: ms(2000), limit: 10 }), [TRACE_B]);
      assert.deepEqual(await ids({ startUnixNano: ms(1002), endUnixNano: ms(2001), limit: 10 }), [TRACE_C, TRACE_B]);
      assert.deepEqual(await ids({ startUnixNano: ms(5000), limit: 10 }), []);
    });
    it('filters by span and resource attributes, typed or not', async () => {
      assert.deepEqual(await ids({ attributes: [{ key: 'order.id', value: 'ORD-1' }], limit: 10 }), [TRACE_A]);
      assert.deepEqual(await ids({ attributes: [{ key: 'order.id', value: 'ORD-2' }], limit: 10 }), []);
      assert.deepEqual(await ids({ attributes: [{ key: 'http.status_code', value: '200' }], limit: 10 }), [TRACE_A]);
      assert.deepEqual(
        await ids({
          attributes: [
            { key: 'ratio', value: '0.25' },
            { key: 'cached', value: 'true' },
          ],
          limit: 10,
        }),
        [TRACE_B],
      );
      assert.deepEqual(await ids({ attributes: [{ key: 'host.name', value: 'db-host-7' }], limit: 10 }), [TRACE_A]);
      assert.deepEqual(
        await ids({ attributes: [{ key: 'host.name', value: 'db-host-7' }], service: 'frontend', limit: 10 }),
        [],
        'all conditions hold for one span',
      );
      assert.deepEqual(await ids({ attributes: [{ key: "o'; DROP TABLE spans; --", value: "'" }], limit: 10 }), []);
    });
    it('honours the limit, keeping the newest', async () => {
      assert.deepEqual(await ids({ limit: 2 }), [rich.traceId, TRACE_C]);
    });
  });

  describe('TraceQL candidates', () => {
    type Requirement = Parameters<SpanStore['findTraceCandidates']>[0]['requirements'][number];
    const cands = async (requirements: Requirement[], window: { startUnixNano?: UnixNanos } = {}) =>
      (await store.findTraceCandidates({ requirements, limit: 100, ...window })).map((c) => c.traceId);
    const one = (predicate: SpanPredicate, minSpans = 1): Requirement[] => [{ predicate, minSpans }];
    const is = (field: SpanField, op: SpanCompareOp, value: SpanValue): SpanPredicate => ({
      kind: 'compare',
      field,
      op,
      value,
    });
    const attribute = (key: string, scope: 'span' | 'resource' | 'any' = 'any'): SpanField => ({
      kind: 'attribute',
      scope,
      key,
    });
    it('finds traces with spans meeting each requirement, newest first by the latest such span', async () => {
      assert.deepEqual(await cands(one(is({ kind: 'service' }, '=', 'payment'))), [TRACE_C, TRACE_A]);
      assert.deepEqual(await cands(one({ kind: 'all' })), [rich.traceId, TRACE_C, TRACE_B, TRACE_A]);
      assert.deepEqual(await cands([]), [rich.traceId, TRACE_C, TRACE_B, TRACE_A]);
      const latest = await store.findTraceCandidates({
        requirements: one(is({ kind: 'service' }, '=', 'frontend')),
        limit: 1,
      });
      assert.deepEqual(latest, [{ traceId: TRACE_B, lastMatchUnixNano: ms(1000) }]);
      const next = await store.findTraceCandidates({
        requirements: one(is({ kind: 'service' }, '=', 'frontend')),
        limit: 5,
        after: latest[0],
      });
      assert.deepEqual(next, [{ traceId: TRACE_A, lastMatchUnixNano: ms(0) }]);
      const tie = await store.findTraceCandidates({
        requirements: [],
        limit: 5,
        after: { traceId: '0'.repeat(32), lastMatchUnixNano: ms(1002) },
      });
      assert.deepEqual(
        tie.map((c) => c.traceId),
        [TRACE_B, TRACE_A],
        'as old as the cursor with a greater id, then older',
      );
    });
    it('counts the spans of each requirement', async () => {
      assert.deepEqual(
        await cands([
          { predicate: is({ kind: 'service' }, '=', 'frontend'), minSpans: 1 },
          { predicate: is({ kind: 'status' }, '=', 2n), minSpans: 1 },
        ]),
        [TRACE_A],
      );
      assert.deepEqual(await cands(one({ kind: 'all' }, 4)), [TRACE_A]);
      assert.deepEqual(await cands(one({ kind: 'all' }, 2)), [TRACE_B, TRACE_A]);
      assert.deepEqual(
        await cands(
          one({
            kind: 'or',
            args: [is({ kind: 'name' }, '=', 'get_stock'), is({ kind: 'name' }, '=', 'call_gateway')],
          }),
        ),
        [TRACE_C, TRACE_B],
      );
    });
    it('compares durations, names and status as TraceQL does', async () => {
      assert.deepEqual(await cands(one(is({ kind: 'duration' }, '>', 250n * MS))), [TRACE_C, TRACE_A]);
      assert.deepEqual(await cands(one(is({ kind: 'duration' }, '>=', 5e8))), [TRACE_C]);
      assert.deepEqual(await cands(one(is({ kind: 'duration' }, '>', -1n))), [rich.traceId, TRACE_C, TRACE_B, TRACE_A]);
      assert.deepEqual(await cands(one(is({ kind: 'duration' }, '=', 'slow'))), [], 'another type is never equal');
      assert.deepEqual(await cands(one(is({ kind: 'name' }, '=', 'get_stock'))), [TRACE_B]);
      assert.deepEqual(await cands(one(is({ kind: 'status' }, '!=', 2n))), [TRACE_C, TRACE_B, TRACE_A]);
      assert.ok((await cands(one(is({ kind: 'kind' }, '=', 5n)))).includes(rich.traceId));
    });
    it('matches attributes by typed equality, and an array holding the value', async () => {
      assert.deepEqual(await cands(one(is(attribute('order.id'), '=', 'ORD-1'))), [TRACE_A]);
      assert.deepEqual(await cands(one(is(attribute('order.id', 'span'), '=', 'ORD-1'))), [TRACE_A]);
      assert.deepEqual(await cands(one(is(attribute('http.status_code'), '=', 200n))), [TRACE_A]);
      assert.deepEqual(await cands(one(is(attribute('http.status_code'), '=', 200))), [TRACE_A]);
      assert.deepEqual(await cands(one(is(attribute('http.status_code'), '=', '200'))), [], 'a string is not an int');
      assert.deepEqual(await cands(one(is(attribute('ratio'), '=', 0.25))), [TRACE_B]);
      assert.deepEqual(await cands(one(is(attribute('cached'), '=', true))), [TRACE_B]);
      assert.deepEqual(await cands(one(is(attribute('host.name', 'resource'), '=', 'db-host-7'))), [TRACE_A]);
      assert.deepEqual(await cands(one(is(attribute('host.name'), '=', 'db-host-7'))), [TRACE_A]);
      assert.ok((await cands(one(is(attribute('list'), '=', 'x')))).includes(rich.traceId));
      assert.deepEqual(await cands(one(is(attribute("o'; DROP TABLE spans; --"), '=', "'"))), []);
      assert.deepEqual(await cands(one(is(attribute('order.id'), '=', 'ORD-1')), { startUnixNano: ms(50) }), []);
    });
    it('reads several traces at once', async () => {
      const traces = await store.getTraces([TRACE_A, TRACE_B, '0123456789abcdef0123456789abcdef']);
      assert.deepEqual(traces.get(TRACE_A), await store.getTrace(TRACE_A));
      assert.equal(traces.get(TRACE_B)?.length, 2);
      assert.deepEqual(traces.get('0123456789abcdef0123456789abcdef'), []);
    });
  });

  describe('attribute names and values, for autocompletion', () => {
    it('lists the searchable attribute names of spans and of resources seen in the window', async () => {
      assert.deepEqual(await store.listTagNames('span', {}, 100), [
        'big',
        'cached',
        'http.status_code',
        'list',
        'neg',
        'order.id',
        'pi',
        'ratio',
        'unicode',
        'yes',
      ]);
      assert.deepEqual(await store.listTagNames('span', { startUnixNano: ms(1000), endUnixNano: ms(2000) }, 100), [
        'cached',
        'ratio',
      ]);
      assert.deepEqual(await store.listTagNames('span', {}, 2), ['big', 'cached']);
      assert.deepEqual(await store.listTagNames('resource', {}, 100), ['host.id', 'host.name', 'service.name']);
      assert.deepEqual(await store.listTagNames('resource', { startUnixNano: ms(2000), endUnixNano: ms(2001) }, 100), [
        'service.name',
      ]);
    });
    it('lists the typed values of a field, sorted, filtered by a span predicate', async () => {
      const values = (q: Omit<Parameters<SpanStore['listTagValues']>[0], 'limit'>, limit = 100) =>
        store.listTagValues({ ...q, limit });
      const strings = (...v: string[]) => v.map((value) => ({ type: 'string', value }));
      assert.deepEqual(
        await values({ field: { kind: 'service' } }),
        strings('frontend', 'inventory', 'order', 'payment', 'rich'),
      );
      assert.deepEqual(
        await values({
          field: { kind: 'name' },
          where: { kind: 'compare', field: { kind: 'status' }, op: '=', value: 2n },
        }),
        strings('everything', 'save_order'),
      );
      assert.deepEqual(await values({ field: { kind: 'statusMessage' } }), strings('failed', 'it broke'));
      assert.deepEqual(await values({ field: { kind: 'attribute', scope: 'any', key: 'order.id' } }), strings('ORD-1'));
      assert.deepEqual(await values({ field: { kind: 'attribute', scope: 'span', key: 'http.status_code' } }), [
        { type: 'int', value: 200n },
      ]);
      assert.deepEqual(await values({ field: { kind: 'attribute', scope: 'span', key: 'list' } }), [
        { type: 'string', value: 'x' },
        { type: 'int', value: 1n },
      ]);
      assert.deepEqual(await values({ field: { kind: 'attribute', scope: 'span', key: 'ratio' } }), [
        { type: 'float', value: 0.25 },
      ]);
      assert.deepEqual(
        await values({ field: { kind: 'attribute', scope: 'resource', key: 'host.name' } }),
        strings('db-host-7'),
      );
      assert.deepEqual(
        await values({ field: { kind: 'service' }, startUnixNano: ms(1000), endUnixNano: ms(2000) }, 1),
        strings('frontend'),
      );
      assert.deepEqual(await values({ field: { kind: 'attribute', scope: 'any', key: 'map' } }), []);
    });
  });

  describe('services, operations and aggregates', () => {
    it('lists services and operations, sorted', async () => {
      assert.deepEqual(await store.listServices(), ['frontend', 'inventory', 'order', 'payment', 'rich']);
      assert.deepEqual(await store.listOperations('inventory'), ['get_stock', 'update_inventory']);
      assert.deepEqual(await store.listOperations('nobody'), []);
    });
    it('computes service dependencies in a window', async () => {
      assert.deepEqual(await store.dependencies({}), [
        { parent: 'frontend', child: 'inventory', callCount: 2, errorCount: 0 },
        { parent: 'frontend', child: 'payment', callCount: 1, errorCount: 0 },
        { parent: 'inventory', child: 'order', callCount: 1, errorCount: 1 },
      ]);
      assert.deepEqual(await store.dependencies({ startUnixNano: ms(1000), endUnixNano: ms(1500) }), [
        { parent: 'frontend', child: 'inventory', callCount: 1, errorCount: 0 },
      ]);
    });
    it('computes per-operation counts, errors and percentiles', async () => {
      const extra: Span[] = [];
      for (let i = 1; i <= 100; i++) {
        extra.push(
          makeSpan({
            trace: `eeeeeeeeeeeeeeeeeeeeeeeeeeee${i.toString(16).padStart(4, '0')}`,
            id: `e00000000000${i.toString(16).padStart(4, '0')}`,
            service: 'stats',
            name: 'op',
            startMs: 4000 + i,
            durationMs: i,
            error: i % 10 === 0,
          }),
        );
      }
      await store.writeSpans(extra);
      const [op] = await store.operationStats('stats', { startUnixNano: ms(4000) });
      assert.equal(op.operation, 'op');
      assert.equal(op.spanCount, 100);
      assert.equal(op.errorCount, 10);
      assert.equal(op.p50Nanos, 50n * MS);
      assert.equal(op.p95Nanos, 95n * MS);
      assert.equal(op.p99Nanos, 99n * MS);
      assert.deepEqual(await store.operationStats('stats', { startUnixNano: ms(9000) }), []);
    });
  });

  describe('time windows, limits and traces written in parts', () => {
    // Thirty one-span traces of service `far`, four hours apart, ten days after the others:
    // searches must widen their window to find older ones, and window edges are exact.
    const DAY = 86_400_000;
    const farId = (i: number) => `fa${i.toString(16).padStart(30, '0')}`;
    const farStart = (i: number) => 10 * DAY + i * 4 * 3_600_000;
    const far = Array.from({ length: 30 }, (_, i) =>
      makeSpan({
        trace: farId(i),
        id: `f${i.toString(16).padStart(15, '0')}`,
        service: 'far',
        name: i % 2 === 0 ? 'even' : 'odd',
        startMs: farStart(i),
        durationMs: i + 1,
        error: i % 10 === 3,
        attributes: [
          attr('req.id', { type: 'string', value: `R${i}` }),
          attr('tier', { type: 'string', value: i % 3 === 0 ? 'gold' : 'basic' }),
        ],
      }),
    );
    // One trace written in two parts, the child (another service) first.
    const SPLIT = '5b11700000000000000000000000000a';
    const splitChild = makeSpan({
      trace: SPLIT,
      id: '5000000000000002',
      parent: '5000000000000001',
      service: 'split-child',
      name: 'work',
      startMs: 20 * DAY + 10,
      durationMs: 5,
      error: true,
    });
    const splitRoot = makeSpan({
      trace: SPLIT,
      id: '5000000000000001',
      service: 'split-root',
      name: 'entry',
      startMs: 20 * DAY,
      durationMs: 50,
    });
    const ids = async (q: TraceQuery) => (await searchFormSummaries(store, q)).map((t) => t.traceId);
    before(async () => {
      await store.writeSpans(far.slice(0, 15));
      await store.writeSpans(far.slice(15));
      await store.writeSpans([splitChild]);
      await store.writeSpans([splitRoot]);
    });

    it('keeps the newest traces when the limit is smaller than the matches, across days', async () => {
      assert.deepEqual(await ids({ service: 'far', limit: 3 }), [farId(29), farId(28), farId(27)]);
      assert.deepEqual(await ids({ service: 'far', limit: 1 }), [farId(29)]);
      assert.equal((await ids({ service: 'far', limit: 1000 })).length, 30);
      assert.deepEqual(await ids({ service: 'far', operation: 'even', status: 'error', limit: 10 }), []);
      assert.deepEqual(await ids({ service: 'far', status: 'error', limit: 10 }), [farId(23), farId(13), farId(3)]);
    });
    it('treats the window start as inclusive and its end as exclusive, to the nanosecond', async () => {
      const window = { startUnixNano: ms(farStart(5)), endUnixNano: ms(farStart(8)) };
      assert.deepEqual(await ids({ service: 'far', ...window, limit: 10 }), [farId(7), farId(6), farId(5)]);
      const oneNs = { startUnixNano: unixNanos(ms(farStart(5)) + 1n), endUnixNano: unixNanos(ms(farStart(8)) + 1n) };
      assert.deepEqual(await ids({ service: 'far', ...oneNs, limit: 10 }), [farId(8), farId(7), farId(6)]);
      assert.deepEqual(
        await ids({ service: 'far', startUnixNano: ms(farStart(5)), endUnixNano: ms(farStart(5)), limit: 10 }),
        [],
      );
      assert.deepEqual(await ids({ service: 'far', startUnixNano: ms(farStart(29) + 1), limit: 10 }), []);
      assert.deepEqual(await ids({ service: 'far', endUnixNano: ms(farStart(1)), limit: 10 }), [farId(0)]);
    });
    it('finds a nearly unique attribute anywhere, and only inside the window', async () => {
      assert.deepEqual(await ids({ attributes: [{ key: 'req.id', value: 'R4' }], limit: 10 }), [farId(4)]);
      assert.deepEqual(
        await ids({ attributes: [{ key: 'req.id', value: 'R4' }], startUnixNano: ms(farStart(5)), limit: 10 }),
        [],
      );
      assert.deepEqual(
        await ids({
          attributes: [
            { key: 'req.id', value: 'R6' },
            { key: 'tier', value: 'gold' },
          ],
          limit: 10,
        }),
        [farId(6)],
      );
      assert.deepEqual(
        await ids({
          attributes: [
            { key: 'req.id', value: 'R7' },
            { key: 'tier', value: 'gold' },
          ],
          limit: 10,
        }),
        [],
      );
      assert.deepEqual(await ids({ attributes: [{ key: 'tier', value: 'gold' }], limit: 2 }), [farId(27), farId(24)]);
      assert.deepEqual(await ids({ attributes: [{ key: 'req.id', value: 'R99' }], limit: 10 }), []);
    });
    it('returns a trace by id wherever it is, without a time hint, and honours hint edges', async () => {
      assert.equal((await store.getTrace(farId(0))).length, 1);
      assert.equal((await store.getTrace(farId(29))).length, 1);
      assert.equal((await store.getTrace(farId(3), { startUnixNano: ms(farStart(3)) })).length, 1);
      assert.equal((await store.getTrace(farId(3), { endUnixNano: ms(farStart(3)) })).length, 0);
      assert.equal((await store.getTrace(farId(3), { startUnixNano: ms(farStart(3) + 1) })).length, 0);
      const start = ms(farStart(3));
      const justAfter = unixNanos(start + 1n);
      assert.equal((await store.getTrace(farId(3), { startUnixNano: start, endUnixNano: justAfter })).length, 1);
      assert.equal((await store.getTrace(farId(3), { startUnixNano: justAfter, endUnixNano: start })).length, 0);
      assert.equal((await store.getTrace(farId(3), { endUnixNano: unixNanos(0n) })).length, 0);
    });
    it('puts together a trace written in parts: spans, summary and dependencies', async () => {
      assert.deepEqual(
        (await store.getTrace(SPLIT)).map((s) => s.spanId),
        ['5000000000000001', '5000000000000002'],
      );
      const [summary] = await searchFormSummaries(store, { service: 'split-child', limit: 10 });
      assert.deepEqual(summary, {
        traceId: SPLIT,
        rootService: 'split-root',
        rootName: 'entry',
        startUnixNano: ms(20 * DAY),
        durationNanos: 50n * MS,
        spanCount: 2,
        errorCount: 1,
        services: ['split-child', 'split-root'],
      });
      assert.deepEqual(await store.dependencies({ startUnixNano: ms(20 * DAY), endUnixNano: ms(21 * DAY) }), [
        { parent: 'split-root', child: 'split-child', callCount: 1, errorCount: 1 },
      ]);
      assert.deepEqual(await store.dependencies({ startUnixNano: ms(20 * DAY + 11) }), []);
    });
    it('computes percentiles in a window only from the spans inside it', async () => {
      const stats = await store.operationStats('far', {
        startUnixNano: ms(farStart(20)),
        endUnixNano: ms(farStart(30)),
      });
      assert.deepEqual(
        stats.map((s) => [s.operation, s.spanCount, s.errorCount, s.p50Nanos]),
        [
          ['even', 5, 0, 25n * MS],
          ['odd', 5, 1, 26n * MS],
        ],
      );
    });
  });

  describe('write progress', () => {
    const progressTrace = 'f0000000000000000000000000000001';
    it('commits a source position with the spans, one position per source', async () => {
      assert.equal(await store.readProgress('log-a'), undefined);
      await store.writeSpans(
        [
          makeSpan({
            trace: progressTrace,
            id: 'f000000000000001',
            service: 'progress',
            name: 'p',
            startMs: 5,
            durationMs: 1,
          }),
        ],
        { source: 'log-a', position: 40n },
      );
      await store.writeSpans([], { source: 'log-b', position: 7n });
      await store.writeSpans([], { source: 'log-a', position: 2n ** 40n, counters: { spans: 12n, acknowledged: 99n } });
      assert.equal(await store.readProgress('log-a'), 2n ** 40n);
      assert.equal(await store.readProgress('log-a.spans'), 12n);
      assert.equal(await store.readProgress('log-a.acknowledged'), 99n);
      assert.equal(await store.readProgress('log-b'), 7n);
      assert.equal((await store.getTrace(progressTrace)).length, 1);
    });
  });

  describe('spans sharing an id', () => {
    it('keeps a Zipkin client and server half that share one span id', async () => {
      const shared = 'e0000000000000000000000000000005';
      const client = makeSpan({
        trace: shared,
        id: 'e000000000000001',
        service: 'shared-a',
        name: 'call',
        startMs: 9,
        durationMs: 10,
      });
      const server = {
        ...makeSpan({
          trace: shared,
          id: 'e000000000000001',
          service: 'shared-b',
          name: 'call',
          startMs: 10,
          durationMs: 8,
        }),
        kind: 2,
      };
      await store.writeSpans([{ ...client, kind: 3 }, server]);
      const spans = await store.getTrace(shared);
      assert.deepEqual(
        spans.map((s) => [s.spanId, s.kind, s.serviceName]),
        [
          ['e000000000000001', 3, 'shared-a'],
          ['e000000000000001', 2, 'shared-b'],
        ],
      );
      const [summary] = await searchFormSummaries(store, { service: 'shared-b', limit: 5 });
      assert.equal(summary.spanCount, 2);
    });
  });

  if (options.reopen) {
    const reopen = options.reopen;
    it('keeps everything across a restart', async () => {
      await store.close();
      store = await reopen();
      const [span] = await store.getTrace(rich.traceId);
      assert.deepEqual(span, rich);
      assert.equal((await store.getTrace(TRACE_A)).length, 4);
      assert.equal(await store.readProgress('log-a'), 2n ** 40n);
    });
  }

  describe('retention', () => {
    // Last, as it deletes: spans three days before the others, and a cutoff a day before them
    // (the ClickHouse store drops whole days, the DuckDB store exact starts: both drop these).
    const DAY = 86_400_000;
    const NANOS_PER_DAY = BigInt(DAY) * MS;
    const aged = (no: number, service: string, name: string, startMs: number) =>
      makeSpan({
        trace: `0d${no.toString(16).padStart(30, '0')}`,
        id: `0d${no.toString(16).padStart(14, '0')}`,
        service,
        name,
        startMs,
        durationMs: 1,
      });
    it('stops listing services and operations whose spans it deleted', async () => {
      const retaining = store as SpanStore & { deleteBefore?: (cutoffNanos: bigint) => Promise<void> };
      assert.ok(retaining.deleteBefore, 'every store offers retention (deleteBefore)');
      await store.writeSpans([
        aged(1, 'retired', 'gone', -3 * DAY),
        aged(2, 'inventory', 'old-only-op', -3 * DAY),
        aged(3, 'inventory', 'get_stock', -3 * DAY),
      ]);
      assert.deepEqual(await store.listOperations('retired'), ['gone']);
      await retaining.deleteBefore?.((T0 / NANOS_PER_DAY - 1n) * NANOS_PER_DAY);
      assert.deepEqual(await store.getTrace(aged(1, 'retired', 'gone', 0).traceId), []);
      assert.ok(!(await store.listServices()).includes('retired'), 'a service without spans is not listed');
      assert.deepEqual(await store.listOperations('retired'), []);
      assert.deepEqual(await store.listOperations('inventory'), ['get_stock', 'update_inventory']);
      // Written again: listed again.
      await store.writeSpans([aged(4, 'retired', 'gone', 5)]);
      assert.deepEqual(await store.listOperations('retired'), ['gone']);
    });
  });
}
