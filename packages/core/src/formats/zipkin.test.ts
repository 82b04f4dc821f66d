import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { TraceImportError } from '../import/import-error.ts';
import { spansFromOtlpJson, spansToTracesData } from '../model/otlp-json.ts';
import { findAttribute, type KeyValue, type Span, SpanKind, StatusCode } from '../model/span.ts';
import { unixNanos } from '../model/units.ts';
import {
  readZipkinSpans,
  spansFromZipkin,
  spansToZipkin,
  spanToZipkin,
  ZIPKIN_START_TIME_ABSENT,
  type ZipkinSpan,
  zipkinTagText,
} from './zipkin.ts';

const fixtures = new URL('../../../../fixtures/zipkin/', import.meta.url);

/** Spans in a stable order, to compare lists that hold the same spans in any order. */
function sorted(spans: readonly unknown[]): unknown[] {
  return spans.map((s) => JSON.stringify(s, Object.keys(s as object).sort())).sort();
}

function canonical(spans: readonly unknown[]): unknown[] {
  // Key order does not matter to Zipkin; compare with keys sorted at every level.
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
          )
        : v;
  return spans.map((s) => JSON.stringify(sortKeys(s))).sort();
}

function zipkin(overrides: Partial<ZipkinSpan> & Record<string, unknown>): ZipkinSpan {
  return readZipkinSpans([{ traceId: '463ac35c9f6413ad', id: '72485a3953bb6124', timestamp: 1000, ...overrides }])[0];
}

function one(overrides: Partial<ZipkinSpan> & Record<string, unknown>): Span {
  return spansFromZipkin([zipkin(overrides)])[0];
}

function attr(span: Span, key: string) {
  return findAttribute(span.attributes, key);
}

describe('Zipkin fixtures (zipkin-lens test data)', () => {
  for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.json'))) {
    it(`${file}: Zipkin → OTLP (through OTLP JSON) → Zipkin gives the spans back unchanged`, () => {
      const original = (JSON.parse(readFileSync(new URL(file, fixtures), 'utf8')) as unknown[]).flat();
      const spans = spansFromZipkin(readZipkinSpans(original), { receivedUnixNano: unixNanos(1n) });
      const stored = spansFromOtlpJson(JSON.parse(JSON.stringify(spansToTracesData(spans))));
      assert.deepEqual(canonical(spansToZipkin(stored)), canonical(original));
    });
  }

  it('skew.json: the shared server half keeps the client id, apart from its client', () => {
    const original = JSON.parse(readFileSync(new URL('skew.json', fixtures), 'utf8')) as ZipkinSpan[];
    const spans = spansFromZipkin(readZipkinSpans(original));
    const post = spans.filter((s) => s.name === 'post').sort((a, b) => b.kind - a.kind);
    assert.deepEqual(
      post.map((s) => [s.kind, s.serviceName, attr(s, 'zipkin.shared')?.type === 'bool']),
      [
        [SpanKind.CLIENT, 'servicea', false],
        [SpanKind.SERVER, 'serviceb', true],
      ],
    );
    assert.equal(post[0].spanId, post[1].spanId);
  });
});

describe('Zipkin → OTLP', () => {
  it('pads a 64-bit trace id, maps kind, endpoints, annotations and times', () => {
    const span = one({
      parentId: '0000000000000001',
      kind: 'CLIENT',
      name: 'get /users',
      timestamp: 1_700_000_000_123_456,
      duration: 2_500,
      localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 },
      remoteEndpoint: { serviceName: 'users', ipv6: '2001:db8::c001', port: 443 },
      annotations: [{ timestamp: 1_700_000_000_124_000, value: 'ws' }],
      tags: { 'http.method': 'GET' },
    });
    assert.equal(span.traceId, '0000000000000000463ac35c9f6413ad');
    assert.equal(span.parentSpanId, '0000000000000001');
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.serviceName, 'frontend');
    assert.equal(span.startTimeUnixNano, 1_700_000_000_123_456_000n);
    assert.equal(span.endTimeUnixNano, 1_700_000_000_125_956_000n);
    assert.deepEqual(
      span.attributes.map((a) => [a.key, zipkinTagText(a.value)]),
      [
        ['http.method', 'GET'],
        ['network.local.address', '10.0.0.1'],
        ['network.local.port', '8080'],
        ['peer.service', 'users'],
        ['network.peer.address', '2001:db8::c001'],
        ['network.peer.port', '443'],
      ],
    );
    assert.deepEqual(
      span.events.map((e) => [e.name, e.timeUnixNano]),
      [['ws', 1_700_000_000_124_000_000n]],
    );
    assert.deepEqual(span.status, { code: StatusCode.UNSET, message: '' });
  });

  it('maps no kind to INTERNAL, drops a parent id equal to the id, keeps 128-bit ids', () => {
    const span = one({ traceId: '5af7183fb1d4cf5f463ac35c9f6413ad', parentId: '72485a3953bb6124' });
    assert.equal(span.kind, SpanKind.INTERNAL);
    assert.equal(span.parentSpanId, '');
    assert.equal(span.traceId, '5af7183fb1d4cf5f463ac35c9f6413ad');
    assert.equal(span.serviceName, 'unknown_service');
    assert.deepEqual(span.resource.attributes, []);
  });

  const statuses: [string, Record<string, string>, { code: number; message: string }, string[]][] = [
    [
      'an error tag with a message (Brave, zipkin-js)',
      { error: 'timeout' },
      { code: 2, message: 'timeout' },
      ['error'],
    ],
    ['error = "true"', { error: 'true' }, { code: 2, message: '' }, ['error']],
    ['an empty error tag', { error: '' }, { code: 2, message: '' }, ['error']],
    [
      'otel.status_code ERROR with the exporter’s error copy',
      { 'otel.status_code': 'ERROR', error: 'boom' },
      { code: 2, message: 'boom' },
      [],
    ],
    [
      'otel.status_code with a description',
      { 'otel.status_code': 'STATUS_CODE_ERROR', 'otel.status_description': 'bad' },
      { code: 2, message: 'bad' },
      [],
    ],
    ['otel.status_code OK', { 'otel.status_code': 'OK' }, { code: 1, message: '' }, []],
    [
      'an unknown otel.status_code stays a tag',
      { 'otel.status_code': 'MAYBE' },
      { code: 0, message: '' },
      ['otel.status_code'],
    ],
  ];
  for (const [name, tags, status, kept] of statuses) {
    it(`status from ${name}`, () => {
      const span = one({ tags });
      assert.deepEqual(span.status, status);
      assert.deepEqual(
        span.attributes.map((a) => a.key),
        kept,
      );
    });
  }

  it('lifts resource tags and the scope, reads trace state and dropped counts', () => {
    const span = one({
      localEndpoint: { serviceName: 'api' },
      tags: {
        'service.name': 'api',
        'service.version': '1.2',
        'telemetry.sdk.language': 'nodejs',
        'http.host': 'example.com',
        'otel.scope.name': 'my-lib',
        'otel.scope.version': '0.1',
        'w3c.tracestate': 'congo=t61rcWkgMzE',
        'otel.dropped_attributes_count': '3',
        'otel.dropped_events_count': 'x',
      },
    });
    assert.deepEqual(
      span.resource.attributes.map((a) => [a.key, a.value.type === 'string' && a.value.value]),
      [
        ['service.name', 'api'],
        ['service.version', '1.2'],
        ['telemetry.sdk.language', 'nodejs'],
      ],
    );
    assert.deepEqual([span.scope.name, span.scope.version], ['my-lib', '0.1']);
    assert.equal(span.traceState, 'congo=t61rcWkgMzE');
    assert.equal(span.droppedAttributesCount, 3);
    assert.deepEqual(
      span.attributes.map((a) => a.key),
      ['http.host', 'otel.dropped_events_count'],
    );
  });

  it('keeps an explicit peer.service tag over the remote endpoint’s name', () => {
    const span = one({ remoteEndpoint: { serviceName: 'db' }, tags: { 'peer.service': 'postgres' } });
    assert.deepEqual(
      span.attributes.filter((a) => a.key === 'peer.service').map((a) => a.value),
      [{ type: 'string', value: 'postgres' }],
    );
  });

  it('shares one resource object among spans of one service', () => {
    const [a, b, c] = spansFromZipkin(
      readZipkinSpans([
        { traceId: 'a1', id: '1', localEndpoint: { serviceName: 'x' } },
        { traceId: 'a1', id: '2', localEndpoint: { serviceName: 'x' } },
        { traceId: 'a1', id: '3', localEndpoint: { serviceName: 'y' } },
      ]),
    );
    assert.equal(a.resource, b.resource);
    assert.notEqual(a.resource, c.resource);
  });

  it('places a span without a timestamp: annotation, other half, parent, trace, then the receive time', () => {
    // 100 µs: the trace's earliest;  200: the parent (id 2);  300: a client half sharing id 5.
    const spans = spansFromZipkin(
      readZipkinSpans([
        { traceId: 'b1', id: '1', timestamp: 100, duration: 1 },
        { traceId: 'b1', id: '2', timestamp: 200, duration: 1 },
        { traceId: 'b1', id: '3', parentId: '2', annotations: [{ timestamp: 150, value: 'x' }], duration: 7 },
        { traceId: 'b1', id: '4', parentId: '2', duration: 7 },
        { traceId: 'b1', id: '5', kind: 'CLIENT', timestamp: 300, duration: 1 },
        { traceId: 'b1', id: '5', kind: 'SERVER', shared: true, parentId: '2' },
        { traceId: 'b1', id: '6', parentId: '99' },
        { traceId: 'c1', id: '7' },
      ]),
      { receivedUnixNano: unixNanos(42_000n) },
    );
    assert.deepEqual(
      spans.slice(2).map((s) => [s.startTimeUnixNano, s.endTimeUnixNano - s.startTimeUnixNano]),
      [
        [150_000n, 7_000n],
        [200_000n, 7_000n],
        [300_000n, 1_000n],
        [300_000n, 0n],
        [100_000n, 0n],
        [42_000n, 0n],
      ],
    );
    assert.equal(findAttribute(spans[0].attributes, ZIPKIN_START_TIME_ABSENT), undefined);
    assert.deepEqual(findAttribute(spans[3].attributes, ZIPKIN_START_TIME_ABSENT), { type: 'bool', value: true });
    assert.equal(spanToZipkin(spans[3]).timestamp, undefined);
    assert.equal(spanToZipkin(spans[3]).duration, 7);
  });
});

describe('reading Zipkin v2 JSON', () => {
  const bad: [string, unknown, RegExp][] = [
    ['not a list', { traceId: 'a', id: 'b' }, /expected a JSON list of Zipkin v2 spans/],
    ['a v1 span', [{ traceId: 'a', id: 'b', binaryAnnotations: [] }], /\[0\]: this is a Zipkin v1 span/],
    ['no id', [{ traceId: 'a' }], /\[0\]: a Zipkin span needs traceId and id/],
    ['a long id', [{ traceId: 'a', id: '00000000000000001' }], /\[0\]\.id: expected a hex id of at most 16/],
    ['an all-zero trace id', [{ traceId: '0000', id: '1' }], /\[0\]\.traceId: is all zeros/],
    ['an unknown kind', [{ traceId: 'a', id: 'b', kind: 'LOCAL' }], /\[0\]\.kind: expected CLIENT, SERVER/],
    ['a negative timestamp', [{ traceId: 'a', id: 'b', timestamp: -1 }], /\[0\]\.timestamp: expected a non-negative/],
    [
      'a duration that is text',
      [{ traceId: 'a', id: 'b', duration: '1.5' }],
      /\[0\]\.duration: expected a non-negative/,
    ],
    [
      'a port out of range',
      [{ traceId: 'a', id: 'b', localEndpoint: { port: 70000 } }],
      /\[0\]\.localEndpoint\.port: expected a port/,
    ],
    ['a name that is a number', [{ traceId: 'a', id: 'b', name: 5 }], /\[0\]\.name: expected a string/],
    [
      'an annotation without a timestamp',
      [{ traceId: 'a', id: 'b', annotations: [{ value: 'x' }] }],
      /\[0\]\.annotations\[0\]\.timestamp: an annotation needs a timestamp/,
    ],
    ['tags that are a list', [{ traceId: 'a', id: 'b', tags: ['x'] }], /\[0\]\.tags: expected an object/],
  ];
  for (const [name, body, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => readZipkinSpans(body),
        (error: Error) => {
          assert.ok(error instanceof TraceImportError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('normalises ids as Zipkin does, and reads tag values that are not strings as JSON text', () => {
    const [span] = readZipkinSpans([
      {
        traceId: '0000000000000000ABC',
        id: 'F',
        parentId: '0000000000000000',
        timestamp: 0,
        tags: { n: 5, b: true, o: { a: 1 } },
        localEndpoint: { serviceName: '', port: 0 },
      },
    ]);
    assert.deepEqual(span, {
      traceId: '0000000000000abc',
      id: '000000000000000f',
      tags: { n: '5', b: 'true', o: '{"a":1}' },
    });
    assert.equal(readZipkinSpans([{ traceId: '1'.padStart(32, '0'), id: '1' }])[0].traceId, '0000000000000001');
    // OpenTelemetry JS sends fractional span timestamps: rounded to the microsecond.
    const [fraction] = readZipkinSpans([{ traceId: 'a', id: 'b', timestamp: 1_700_000_000_000_000.5, duration: 2.4 }]);
    assert.deepEqual([fraction.timestamp, fraction.duration], [1_700_000_000_000_001, 2]);
    assert.equal(readZipkinSpans([[{ traceId: 'a', id: 'b' }]], { nested: true }).length, 1);
  });
});

describe('OTLP → Zipkin', () => {
  const resource = {
    attributes: [
      { key: 'service.name', value: { type: 'string', value: 'checkout' } },
      { key: 'host.name', value: { type: 'string', value: 'box-1' } },
    ] as KeyValue[],
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
  const base: Span = {
    traceId: '5af7183fb1d4cf5f463ac35c9f6413ad',
    spanId: '72485a3953bb6124',
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'GET /cart',
    kind: SpanKind.CLIENT,
    startTimeUnixNano: unixNanos(1_700_000_000_000_001_999n),
    endTimeUnixNano: unixNanos(1_700_000_000_002_003_998n),
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: StatusCode.UNSET, message: '' },
    serviceName: 'checkout',
    resource,
    scope: { name: 'lib', version: '2.0', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  };

  it('maps every field as the specification says: tags as strings, status, events, truncated µs', () => {
    const span: Span = {
      ...base,
      attributes: [
        { key: 'server.address', value: { type: 'string', value: 'cart.internal' } },
        { key: 'network.peer.address', value: { type: 'string', value: '10.1.2.3' } },
        { key: 'network.peer.port', value: { type: 'int', value: 8443n } },
        { key: 'retry', value: { type: 'bool', value: false } },
        { key: 'big', value: { type: 'int', value: 9007199254740993n } },
        { key: 'ratio', value: { type: 'double', value: 0.5 } },
        {
          key: 'list',
          value: {
            type: 'array',
            value: [
              { type: 'string', value: 'a' },
              { type: 'int', value: 2n },
            ],
          },
        },
        { key: 'raw', value: { type: 'bytes', value: new Uint8Array([1, 2, 255]) } },
        { key: 'error', value: { type: 'bool', value: false } },
      ],
      events: [
        {
          timeUnixNano: unixNanos(1_700_000_000_001_000_999n),
          name: 'retry',
          attributes: [],
          droppedAttributesCount: 0,
        },
        {
          timeUnixNano: unixNanos(1_700_000_000_001_500_000n),
          name: 'exception',
          attributes: [{ key: 'exception.message', value: { type: 'string', value: 'x' } }],
          droppedAttributesCount: 0,
        },
      ],
      status: { code: StatusCode.ERROR, message: '' },
      traceState: 'a=b',
      droppedEventsCount: 2,
    };
    assert.deepEqual(spanToZipkin(span), {
      traceId: '5af7183fb1d4cf5f463ac35c9f6413ad',
      id: '72485a3953bb6124',
      kind: 'CLIENT',
      name: 'GET /cart',
      timestamp: 1_700_000_000_000_001,
      duration: 2001,
      localEndpoint: { serviceName: 'checkout' },
      remoteEndpoint: { serviceName: 'cart.internal', ipv4: '10.1.2.3', port: 8443 },
      annotations: [
        { timestamp: 1_700_000_000_001_000, value: 'retry' },
        { timestamp: 1_700_000_000_001_500, value: '"exception":{"exception.message":"x"}' },
      ],
      tags: {
        'server.address': 'cart.internal',
        retry: 'false',
        big: '9007199254740993',
        ratio: '0.5',
        list: '["a",2]',
        raw: 'AQL/',
        'host.name': 'box-1',
        'otel.scope.name': 'lib',
        'otel.scope.version': '2.0',
        'otel.status_code': 'ERROR',
        error: '',
        'w3c.tracestate': 'a=b',
        'otel.dropped_events_count': '2',
      },
    });
  });

  it('leaves out INTERNAL kind and empty fields, prints a zero upper half as 16 hex digits', () => {
    const span: Span = {
      ...base,
      traceId: '0000000000000000463ac35c9f6413ad',
      parentSpanId: '0000000000000007',
      kind: SpanKind.INTERNAL,
      name: '',
      resource: { attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
      scope: { ...base.scope, name: '', version: '' },
      status: { code: StatusCode.OK, message: 'ignored' },
      endTimeUnixNano: base.startTimeUnixNano,
    };
    assert.deepEqual(spanToZipkin(span), {
      traceId: '463ac35c9f6413ad',
      parentId: '0000000000000007',
      id: '72485a3953bb6124',
      timestamp: 1_700_000_000_000_001,
      tags: { 'otel.status_code': 'OK' },
    });
  });

  it('takes a SERVER span’s remote endpoint from peer.service only, and keeps a host name as a tag', () => {
    const span: Span = {
      ...base,
      kind: SpanKind.SERVER,
      attributes: [
        { key: 'server.address', value: { type: 'string', value: 'me' } },
        { key: 'network.peer.address', value: { type: 'string', value: 'caller.example' } },
      ],
    };
    const z = spanToZipkin(span);
    assert.equal(z.remoteEndpoint, undefined);
    assert.equal(z.tags?.['network.peer.address'], 'caller.example');
  });

  it('OTLP → Zipkin → OTLP keeps what Zipkin can carry', () => {
    const span: Span = {
      ...base,
      attributes: [{ key: 'peer.service', value: { type: 'string', value: 'cart' } }],
      status: { code: StatusCode.ERROR, message: 'out of stock' },
    };
    const [back] = spansFromZipkin(readZipkinSpans(JSON.parse(JSON.stringify([spanToZipkin(span)]))));
    assert.equal(back.traceId, span.traceId);
    assert.equal(back.startTimeUnixNano, 1_700_000_000_000_001_000n);
    assert.equal(back.endTimeUnixNano, 1_700_000_000_002_002_000n);
    assert.deepEqual(back.status, span.status);
    assert.deepEqual(back.resource.attributes, resource.attributes);
    assert.deepEqual([back.scope.name, back.scope.version], ['lib', '2.0']);
    assert.deepEqual(back.attributes, span.attributes);
    assert.deepEqual(sorted(spansToZipkin([back])), sorted([spanToZipkin(span)]));
  });
});
