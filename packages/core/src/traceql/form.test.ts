import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyValue, Span } from '../model/span.ts';
import { unixNanos } from '../model/units.ts';
import { compileTraceQL } from './compile.ts';
import { evaluateTraceQL } from './evaluate.ts';
import { formSearchToTraceQL } from './form.ts';

const BASE = 1_700_000_000_000_000_000n;

/** A one-span trace with the given span attributes, resource attributes, status and duration. */
function trace(
  attributes: Record<string, AnyValue>,
  options: { resource?: Record<string, AnyValue>; status?: number; ms?: number; name?: string } = {},
): Span[] {
  const kv = (r: Record<string, AnyValue>) => Object.entries(r).map(([key, value]) => ({ key, value }));
  return [
    {
      traceId: '0000000000000000000000000000000a',
      spanId: '000000000000000b',
      parentSpanId: '',
      traceState: '',
      flags: 1,
      name: options.name ?? 'GET /api',
      kind: 2,
      startTimeUnixNano: unixNanos(BASE),
      endTimeUnixNano: unixNanos(BASE + BigInt(options.ms ?? 10) * 1_000_000n),
      attributes: kv(attributes),
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: options.status ?? 0, message: '' },
      serviceName: 'frontend',
      resource: {
        attributes: kv({ 'service.name': { type: 'string', value: 'frontend' }, ...options.resource }),
        droppedAttributesCount: 0,
        schemaUrl: '',
      },
      scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    },
  ];
}

const matches = (text: string, spans: Span[]): boolean => evaluateTraceQL(compileTraceQL(text), spans) !== undefined;

describe('formSearchToTraceQL', () => {
  it('writes an empty form as {}', () => {
    assert.equal(formSearchToTraceQL({}), '{}');
    assert.equal(formSearchToTraceQL({ service: '', operation: '', attributes: [] }), '{}');
  });

  it('writes every filter as one spanset filter, in the form order', () => {
    assert.equal(
      formSearchToTraceQL({
        service: 'frontend',
        operation: 'GET /api',
        status: 'error',
        minDurationNanos: 100_000_000n,
        maxDurationNanos: 1_500_000_000n,
        attributes: [{ key: 'http.route', value: '/a' }],
      }),
      '{ resource.service.name = "frontend" && span:name = "GET /api" && span:status = error && span:duration >= 100ms && span:duration <= 1s500ms && .http.route = "/a" }',
    );
  });

  it('compares a value that spells a number or a boolean both as text and as that value', () => {
    assert.equal(
      formSearchToTraceQL({ attributes: [{ key: 'code', value: '500' }] }),
      '{ .code = "500" || .code = 500 }',
    );
    const text = formSearchToTraceQL({
      status: 'error',
      attributes: [
        { key: 'code', value: '500' },
        { key: 'ok', value: 'true' },
      ],
    });
    assert.equal(text, '{ span:status = error && (.code = "500" || .code = 500) && (.ok = "true" || .ok = true) }');
    const int500 = { type: 'int', value: 500n } as const;
    const str500 = { type: 'string', value: '500' } as const;
    const yes = { type: 'bool', value: true } as const;
    assert.equal(matches(text, trace({ code: int500, ok: yes }, { status: 2 })), true);
    assert.equal(matches(text, trace({ code: str500, ok: { type: 'string', value: 'true' } }, { status: 2 })), true);
    assert.equal(matches(text, trace({ code: { type: 'int', value: 501n }, ok: yes }, { status: 2 })), false);
    assert.equal(matches(text, trace({ code: int500, ok: yes }, { status: 1 })), false);
  });

  it('reads negative ints, floats and resource attributes as the form did', () => {
    const q = (value: string) => formSearchToTraceQL({ attributes: [{ key: 'n', value }] });
    assert.equal(matches(q('-7'), trace({ n: { type: 'int', value: -7n } })), true);
    assert.equal(matches(q('1.25'), trace({ n: { type: 'double', value: 1.25 } })), true);
    assert.equal(matches(q('1.25'), trace({}, { resource: { n: { type: 'string', value: '1.25' } } })), true);
    assert.equal(matches(q('a=b'), trace({ n: { type: 'string', value: 'a=b' } })), true);
    // 2^63 is beyond int64: only the text can match.
    assert.equal(q('9223372036854775808'), '{ .n = "9223372036854775808" }');
  });

  it('quotes any name and value so that they read back exactly', () => {
    const nasty = 'a"b\\c\nd{e}';
    const text = formSearchToTraceQL({ service: nasty, operation: '`x`', attributes: [{ key: nasty, value: nasty }] });
    const spans = trace({ [nasty]: { type: 'string', value: nasty } }, { name: '`x`' });
    assert.equal(matches(text, spans), false, 'the service differs');
    const svc = formSearchToTraceQL({ operation: '`x`', attributes: [{ key: nasty, value: nasty }] });
    assert.equal(matches(svc, spans), true);
  });

  it('bounds the duration inclusively', () => {
    const q = formSearchToTraceQL({ minDurationNanos: 10_000_000n, maxDurationNanos: 10_000_000n });
    assert.equal(matches(q, trace({}, { ms: 10 })), true);
    assert.equal(matches(q, trace({}, { ms: 11 })), false);
  });
});
