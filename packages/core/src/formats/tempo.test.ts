import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spansFromOtlpJson } from '../model/otlp-json.ts';
import type { Span } from '../model/span.ts';
import { compileTraceQL } from '../traceql/compile.ts';
import { evaluateTraceQL } from '../traceql/evaluate.ts';
import {
  TEMPO_ROOT_SPAN_NOT_YET_RECEIVED,
  tempoAnyValue,
  tempoTagValue,
  tempoTagValueText,
  tempoTraceByIdV2Json,
  tempoTraceIdHex,
  tempoTraceJson,
  tempoTraceSearchMetadata,
  tempoTraceV1Json,
} from './tempo.ts';

const T0 = 1_700_000_000_000_000_000n;
const TRACE = '00000000000000000abcdef012345678';

/** A shop trace: root server span, an erroring client child, and a consumer in another service. */
function shopTrace(options: { withRoot?: boolean } = {}): Span[] {
  const withRoot = options.withRoot ?? true;
  const span = (over: Record<string, unknown>) => ({
    traceId: TRACE,
    startTimeUnixNano: String(T0),
    endTimeUnixNano: String(T0 + 1_000_000n),
    ...over,
  });
  return spansFromOtlpJson({
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'shop' } },
            { key: 'replicas', value: { intValue: '3' } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: 'shop-lib', version: '1.0' },
            spans: [
              span({
                spanId: '00000000000000a1',
                parentSpanId: withRoot ? '' : '00000000000000ff',
                name: 'GET /cart',
                kind: 2,
                endTimeUnixNano: String(T0 + 2_345_678_901n),
                attributes: [{ key: 'http.status_code', value: { intValue: '500' } }],
              }),
              span({
                spanId: '00000000000000a2',
                parentSpanId: '00000000000000a1',
                name: 'SELECT cart',
                kind: 3,
                startTimeUnixNano: String(T0 + 100_000_000n),
                endTimeUnixNano: String(T0 + 400_000_000n),
                status: { code: 2, message: 'timeout' },
                events: [{ timeUnixNano: String(T0 + 200_000_000n), name: 'retry' }],
                links: [{ traceId: 'ffffffffffffffffffffffffffffffff', spanId: '0102030405060708', flags: 1 }],
                flags: 257,
              }),
            ],
          },
        ],
      },
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'billing' } }] },
        scopeSpans: [
          {
            spans: [
              span({
                spanId: '00000000000000a3',
                parentSpanId: '00000000000000a2',
                name: 'charge',
                kind: 5,
                startTimeUnixNano: String(T0 + 500_000_000n),
                endTimeUnixNano: String(T0 + 900_000_000n),
                status: { code: 2 },
              }),
            ],
          },
        ],
      },
    ],
  });
}

describe('Tempo trace JSON (gogo jsonpb)', () => {
  it('writes ids in base64, enums by name, 64-bit integers as strings, and leaves zero values out', () => {
    const trace = tempoTraceJson(shopTrace());
    assert.equal(trace.resourceSpans?.length, 2);
    const [shop, billing] = trace.resourceSpans ?? [];
    assert.deepEqual(shop.resource, {
      attributes: [
        { key: 'service.name', value: { stringValue: 'shop' } },
        { key: 'replicas', value: { intValue: '3' } },
      ],
    });
    const scope = shop.scopeSpans?.[0];
    assert.deepEqual(scope?.scope, { name: 'shop-lib', version: '1.0' });
    const [root, child] = scope?.spans ?? [];
    assert.deepEqual(root, {
      traceId: Buffer.from(TRACE, 'hex').toString('base64'),
      spanId: Buffer.from('00000000000000a1', 'hex').toString('base64'),
      name: 'GET /cart',
      kind: 'SPAN_KIND_SERVER',
      startTimeUnixNano: String(T0),
      endTimeUnixNano: String(T0 + 2_345_678_901n),
      attributes: [{ key: 'http.status_code', value: { intValue: '500' } }],
      status: {},
    });
    assert.equal(child.parentSpanId, 'AAAAAAAAAKE=');
    assert.equal(child.kind, 'SPAN_KIND_CLIENT');
    assert.equal(child.flags, 257);
    assert.deepEqual(child.status, { message: 'timeout', code: 'STATUS_CODE_ERROR' });
    assert.deepEqual(child.events, [{ timeUnixNano: String(T0 + 200_000_000n), name: 'retry' }]);
    assert.deepEqual(child.links, [
      { traceId: Buffer.alloc(16, 0xff).toString('base64'), spanId: 'AQIDBAUGBwg=', flags: 1 },
    ]);
    assert.equal(billing.scopeSpans?.[0].spans?.[0].kind, 'SPAN_KIND_CONSUMER');
    // An empty scope is an empty message, present as {} like Tempo's.
    assert.deepEqual(billing.scopeSpans?.[0].scope, {});
  });

  it('names the resource spans batches in v1, wraps the trace in v2, and is empty for no spans', () => {
    const spans = shopTrace();
    assert.deepEqual(tempoTraceV1Json(spans), { batches: tempoTraceJson(spans).resourceSpans });
    assert.deepEqual(tempoTraceByIdV2Json(spans), { trace: tempoTraceJson(spans) });
    assert.deepEqual(tempoTraceV1Json([]), {});
    assert.deepEqual(tempoTraceByIdV2Json([]), { trace: {} });
  });
});

describe('Tempo search metadata', () => {
  const search = (query: string, spans: Span[], spss = 3) => {
    const match = evaluateTraceQL(compileTraceQL(query), spans);
    assert.ok(match, `${query} should match`);
    return tempoTraceSearchMetadata(spans, match, { spansPerSpanset: spss });
  };

  it('describes the trace as Tempo does: trimmed id, root, start as a string, whole milliseconds, stats', () => {
    const meta = search('{ status = error }', shopTrace());
    assert.equal(meta.traceID, 'abcdef012345678');
    assert.equal(meta.rootServiceName, 'shop');
    assert.equal(meta.rootTraceName, 'GET /cart');
    assert.equal(meta.startTimeUnixNano, String(T0));
    assert.equal(meta.durationMs, 2345);
    assert.deepEqual(meta.serviceStats, {
      billing: { spanCount: 1, errorCount: 1 },
      shop: { spanCount: 2, errorCount: 1 },
    });
  });

  it('lists matched spans with the fields the query read, status as a word, and counts them all', () => {
    const meta = search('{ status = error || name = "charge" }', shopTrace(), 1);
    assert.equal(meta.spanSets?.length, 1);
    const set = meta.spanSets?.[0];
    assert.equal(set?.matched, 2);
    assert.deepEqual(set?.spans, [
      {
        spanID: '00000000000000a2',
        name: 'SELECT cart',
        startTimeUnixNano: String(T0 + 100_000_000n),
        durationNanos: '300000000',
        attributes: [{ key: 'status', value: { stringValue: 'error' } }],
      },
    ]);
    assert.deepEqual(meta.spanSet, set, 'the deprecated spanSet is the first spanset');
  });

  it('leaves out the name when the query did not read it, and duration always', () => {
    const meta = search('{ duration > 1s && span.http.status_code = 500 }', shopTrace());
    const span = meta.spanSets?.[0].spans?.[0];
    assert.equal(span?.name, undefined);
    assert.deepEqual(span?.attributes, [{ key: 'http.status_code', value: { intValue: '500' } }]);
  });

  it('reports by() groups and aggregates as spanset attributes', () => {
    const meta = search('{ } | by(resource.service.name) | count() > 0', shopTrace(), 0);
    const sets = meta.spanSets ?? [];
    assert.equal(sets.length, 2);
    const shop = sets.find((s) => s.attributes?.some((a) => JSON.stringify(a.value) === '{"stringValue":"shop"}'));
    assert.ok(shop);
    assert.equal(shop.matched, 2);
    assert.equal(shop.spans, undefined, 'spss=0 lists no spans');
    assert.deepEqual(shop.attributes, [
      { key: 'by(resource.service.name)', value: { stringValue: 'shop' } },
      { key: 'count()', value: { intValue: '2' } },
    ]);
  });

  it('says the root span has not arrived when no span lacks a parent', () => {
    const meta = tempoTraceSearchMetadata(shopTrace({ withRoot: false }), undefined, { spansPerSpanset: 3 });
    assert.equal(meta.rootServiceName, TEMPO_ROOT_SPAN_NOT_YET_RECEIVED);
    assert.equal(meta.rootTraceName, undefined);
    assert.equal(meta.spanSets, undefined, 'no spansets without a TraceQL match');
  });
});

describe('Tempo values and ids', () => {
  it('renders TraceQL values as Tempo shows them in search results', () => {
    assert.deepEqual(tempoAnyValue({ type: 'int', value: 2n ** 62n }), { intValue: String(2n ** 62n) });
    assert.deepEqual(tempoAnyValue({ type: 'duration', value: 1_500_000_000n as never }), { stringValue: '1.5s' });
    assert.deepEqual(tempoAnyValue({ type: 'kind', value: 'server' }), { stringValue: 'server' });
    assert.deepEqual(tempoAnyValue({ type: 'nil' }), { stringValue: 'nil' });
    assert.deepEqual(tempoAnyValue({ type: 'float', value: 0.25 }), { doubleValue: 0.25 });
  });

  it('types tag values and writes them as text', () => {
    assert.deepEqual(tempoTagValue({ type: 'int', value: -(2n ** 63n) }), {
      type: 'int',
      value: '-9223372036854775808',
    });
    assert.deepEqual(tempoTagValue({ type: 'bool', value: false }), { type: 'bool', value: 'false' });
    assert.deepEqual(tempoTagValue({ type: 'float', value: 1.5 }), { type: 'float', value: '1.5' });
    assert.equal(tempoTagValueText({ type: 'string', value: 'GET /' }), 'GET /');
  });

  it('trims leading zeros of trace ids, as Tempo prints them', () => {
    assert.equal(tempoTraceIdHex('0000000000000000000000000000ABCD'), 'abcd');
    assert.equal(tempoTraceIdHex('10000000000000000000000000000000'), '10000000000000000000000000000000');
  });
});
