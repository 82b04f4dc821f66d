import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTraceQL, evaluateTraceQL, type Span, spansFromOtlpJson, unixNanos } from '@ariadne/core';
import { type JaegerSearch, jaegerSearchToTraceQL } from './search.ts';

const search = (tags: Record<string, string>, more: Partial<JaegerSearch> = {}): JaegerSearch => ({
  tags: new Map(Object.entries(tags)),
  startUnixNano: unixNanos(0n),
  endUnixNano: unixNanos(2n ** 62n),
  limit: 20,
  ...more,
});

/** One span with the given attributes (OTLP JSON values), of service `svc`. */
function spanWith(attributes: { key: string; value: object }[], status = 0): Span[] {
  return spansFromOtlpJson({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '0123456789abcdef0123456789abcdef',
                spanId: '0123456789abcdef',
                name: 'op',
                kind: 2,
                startTimeUnixNano: '1000',
                endTimeUnixNano: '2001000',
                attributes,
                status: { code: status },
              },
            ],
          },
        ],
      },
    ],
  });
}

const matches = (s: JaegerSearch, spans: Span[]) =>
  evaluateTraceQL(compileTraceQL(jaegerSearchToTraceQL(s)), spans) !== undefined;

describe('Jaeger search as TraceQL', () => {
  it('writes one spanset filter with every condition on the same span', () => {
    assert.equal(jaegerSearchToTraceQL(search({})), '{ }');
    const text = jaegerSearchToTraceQL(
      search({}, { service: 'api', operation: 'GET /', minDurationNanos: 1_200_000_000n, maxDurationNanos: 2n }),
    );
    assert.equal(
      text,
      '{ resource.service.name = "api" && name = "GET /" && duration >= 1200000000ns && duration <= 2ns }',
    );
  });

  it('quotes any key and value so that the query always compiles', () => {
    const odd = ['a"b', 'back\\slash', 'new\nline', 'tab\t', '주문', 'emoji 🚀', '', ' ', 'x.y.z', '"', '\\'];
    for (const key of odd.filter((k) => k !== '')) {
      for (const value of odd) {
        const text = jaegerSearchToTraceQL(search({ [key]: value }, { service: value, operation: key }));
        assert.doesNotThrow(() => compileTraceQL(text), text);
      }
    }
  });

  it('matches attribute values by their text, as Jaeger compares tags', () => {
    const span = spanWith([
      { key: 'int', value: { intValue: '-5' } },
      { key: 'big', value: { intValue: '9223372036854775807' } },
      { key: 'dbl', value: { doubleValue: 2.5 } },
      { key: 'whole', value: { doubleValue: 3 } },
      { key: 'flag', value: { boolValue: true } },
      { key: 'text', value: { stringValue: 'a "quoted" \\ value' } },
    ]);
    const yes: Record<string, string>[] = [
      { int: '-5' },
      { big: '9223372036854775807' },
      { dbl: '2.5' },
      { dbl: '2.50' },
      { whole: '3' },
      { flag: 'true' },
      { text: 'a "quoted" \\ value' },
      { int: '-5', flag: 'true' },
    ];
    for (const tags of yes) assert.equal(matches(search(tags), span), true, JSON.stringify(tags));
    const no: Record<string, string>[] = [
      { int: '5' },
      { dbl: '2.6' },
      { flag: 'false' },
      { text: 'a' },
      { int: '-5', flag: 'false' },
    ];
    for (const tags of no) assert.equal(matches(search(tags), span), false, JSON.stringify(tags));
  });

  it('matches the tags the OTLP mapping adds', () => {
    const failed = spanWith([], 2);
    assert.equal(matches(search({ error: 'true' }), failed), true);
    assert.equal(matches(search({ 'otel.status_code': 'ERROR' }), failed), true);
    assert.equal(matches(search({ 'otel.status_code': 'OK' }), failed), false);
    assert.equal(matches(search({ 'span.kind': 'server' }), failed), true);
    assert.equal(matches(search({ 'span.kind': 'client' }), failed), false);
    assert.equal(matches(search({ error: 'true' }), spanWith([])), false);
  });

  it('never treats service.name as a process tag', () => {
    assert.equal(matches(search({ 'service.name': 'svc' }), spanWith([])), false);
    assert.equal(matches(search({}, { service: 'svc' }), spanWith([])), true);
  });
});
