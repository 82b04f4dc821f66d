import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spansFromOtlpJson } from '../model/otlp-json.ts';
import { type Span, StatusCode } from '../model/span.ts';
import { type JaegerTrace, jaegerTag, jaegerTraceId, spansFromJaegerJson, spansToJaegerTraces } from './jaeger.ts';

const T0 = 1_706_678_909_209_712_345n; // ns, with sub-microsecond digits

/** One OTLP request with every field the mapping touches. */
function otlpFixture() {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'host.name', value: { stringValue: 'box-1' } },
            { key: 'service.name', value: { stringValue: 'checkout' } },
            { key: 'process.pid', value: { intValue: '4242' } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: 'io.opentelemetry.http', version: '1.2.3' },
            spans: [
              {
                traceId: '0000000000000000a1b2c3d4e5f60718',
                spanId: '00000000000000b2',
                parentSpanId: '00000000000000a1',
                traceState: 'vendor=x',
                flags: 1,
                name: 'POST /pay',
                kind: 2,
                startTimeUnixNano: String(T0),
                endTimeUnixNano: String(T0 + 123_999n),
                attributes: [
                  { key: 'http.status_code', value: { intValue: '503' } },
                  { key: 'big', value: { intValue: '9007199254740993' } },
                  { key: 'ratio', value: { doubleValue: 0.5 } },
                  { key: 'ok', value: { boolValue: false } },
                  { key: 'raw', value: { bytesValue: 'AAEC/w==' } },
                  { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } },
                  {
                    key: 'map',
                    value: {
                      kvlistValue: {
                        values: [
                          { key: 'z', value: { boolValue: true } },
                          { key: 'a', value: { doubleValue: 1.5 } },
                        ],
                      },
                    },
                  },
                ],
                droppedAttributesCount: 2,
                events: [
                  {
                    timeUnixNano: String(T0 + 5_000n),
                    name: 'exception',
                    attributes: [{ key: 'exception.message', value: { stringValue: 'card declined' } }],
                  },
                  {
                    timeUnixNano: String(T0 + 6_000n),
                    name: 'ignored-name',
                    attributes: [{ key: 'event', value: { stringValue: 'own' } }],
                  },
                ],
                links: [
                  { traceId: 'ffffffffffffffffffffffffffffff01', spanId: '00000000000000c3' },
                  {
                    traceId: '0000000000000000a1b2c3d4e5f60718',
                    spanId: '00000000000000c4',
                    attributes: [{ key: 'opentracing.ref_type', value: { stringValue: 'child_of' } }],
                  },
                ],
                status: { code: 2, message: 'payment failed' },
              },
              {
                traceId: '0000000000000000a1b2c3d4e5f60718',
                spanId: '00000000000000a1',
                name: 'root',
                kind: 0,
                startTimeUnixNano: String(T0 - 1_000n),
                endTimeUnixNano: String(T0 + 1_000_000n),
                status: { code: 1 },
              },
            ],
          },
        ],
      },
      {
        // Same resource, another object: shares process p1. Then a different one: p2.
        resource: {
          attributes: [
            { key: 'host.name', value: { stringValue: 'box-1' } },
            { key: 'service.name', value: { stringValue: 'checkout' } },
            { key: 'process.pid', value: { intValue: '4242' } },
          ],
        },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '0000000000000000a1b2c3d4e5f60718',
                spanId: '00000000000000d5',
                parentSpanId: '00000000000000a1',
                name: 'async',
                kind: 4,
                startTimeUnixNano: String(T0),
                endTimeUnixNano: String(T0 - 10n),
                links: [
                  {
                    traceId: '0000000000000000a1b2c3d4e5f60718',
                    spanId: '00000000000000a1',
                  },
                ],
              },
            ],
          },
        ],
      },
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ledger' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '7f000000000000000000000000000001',
                spanId: '0000000000000001',
                name: 'write',
                kind: 3,
                startTimeUnixNano: String(T0),
                endTimeUnixNano: String(T0 + 2_000n),
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('OTLP to Jaeger', () => {
  const traces = spansToJaegerTraces(spansFromOtlpJson(otlpFixture()));

  it('groups spans by trace and prints 64-bit trace ids with 16 digits', () => {
    assert.deepEqual(
      traces.map((t) => [t.traceID, t.spans.length]),
      [
        ['a1b2c3d4e5f60718', 3],
        ['7f000000000000000000000000000001', 1],
      ],
    );
    assert.equal(jaegerTraceId('0000000000000000A1B2C3D4E5F60718'), 'a1b2c3d4e5f60718');
    assert.equal(jaegerTraceId('1'), '0000000000000001');
  });

  it('maps a span field by field, in the Collector translator’s tag order', () => {
    const span = traces[0].spans[0];
    assert.deepEqual(span, {
      traceID: 'a1b2c3d4e5f60718',
      spanID: '00000000000000b2',
      flags: 1,
      operationName: 'POST /pay',
      references: [
        { refType: 'CHILD_OF', traceID: 'a1b2c3d4e5f60718', spanID: '00000000000000a1' },
        { refType: 'FOLLOWS_FROM', traceID: 'ffffffffffffffffffffffffffffff01', spanID: '00000000000000c3' },
        { refType: 'CHILD_OF', traceID: 'a1b2c3d4e5f60718', spanID: '00000000000000c4' },
      ],
      // Truncated to microseconds: 1706678909209712.345 µs, a duration of 123.999 µs.
      startTime: 1_706_678_909_209_712,
      duration: 123,
      tags: [
        { key: 'otel.scope.name', type: 'string', value: 'io.opentelemetry.http' },
        { key: 'otel.scope.version', type: 'string', value: '1.2.3' },
        { key: 'http.status_code', type: 'int64', value: 503 },
        { key: 'big', type: 'int64', value: '9007199254740993' },
        { key: 'ratio', type: 'float64', value: 0.5 },
        { key: 'ok', type: 'bool', value: false },
        { key: 'raw', type: 'binary', value: 'AAEC/w==' },
        { key: 'list', type: 'string', value: '["a",2]' },
        { key: 'map', type: 'string', value: '{"a":1.5,"z":true}' },
        { key: 'span.kind', type: 'string', value: 'server' },
        { key: 'otel.status_code', type: 'string', value: 'ERROR' },
        { key: 'error', type: 'bool', value: true },
        { key: 'otel.status_description', type: 'string', value: 'payment failed' },
        { key: 'w3c.tracestate', type: 'string', value: 'vendor=x' },
        { key: 'otel.dropped_attributes_count', type: 'int64', value: 2 },
      ],
      logs: [
        {
          timestamp: 1_706_678_909_209_717,
          fields: [
            { key: 'event', type: 'string', value: 'exception' },
            { key: 'exception.message', type: 'string', value: 'card declined' },
          ],
        },
        // An `event` attribute wins over the event's name.
        { timestamp: 1_706_678_909_209_718, fields: [{ key: 'event', type: 'string', value: 'own' }] },
      ],
      processID: 'p1',
      warnings: null,
    });
  });

  it('maps status OK, no kind and no parent to the tags Jaeger would write', () => {
    const root = traces[0].spans[1];
    assert.deepEqual(root.references, []);
    assert.deepEqual(root.logs, []);
    assert.equal('flags' in root, false);
    assert.deepEqual(root.tags, [
      { key: 'otel.scope.name', type: 'string', value: 'io.opentelemetry.http' },
      { key: 'otel.scope.version', type: 'string', value: '1.2.3' },
      { key: 'otel.status_code', type: 'string', value: 'OK' },
    ]);
  });

  it('lets a link to the parent set the parent reference’s type, and warns of a negative duration', () => {
    const async = traces[0].spans[2];
    assert.deepEqual(async.references, [
      { refType: 'FOLLOWS_FROM', traceID: 'a1b2c3d4e5f60718', spanID: '00000000000000a1' },
    ]);
    assert.equal(async.duration, 0);
    assert.deepEqual(async.warnings, ['end time is before start time; duration shown as 0']);
  });

  it('shares equal processes, whatever object holds them, and leaves service.name out of the tags', () => {
    assert.deepEqual(
      traces[0].spans.map((s) => s.processID),
      ['p1', 'p1', 'p1'],
    );
    assert.deepEqual(traces[0].processes, {
      p1: {
        serviceName: 'checkout',
        tags: [
          { key: 'host.name', type: 'string', value: 'box-1' },
          { key: 'process.pid', type: 'int64', value: 4242 },
        ],
      },
    });
    assert.deepEqual(traces[1].processes, { p1: { serviceName: 'ledger', tags: [] } });
  });

  it('writes values Jaeger’s JSON cannot hold as text', () => {
    assert.deepEqual(jaegerTag('n', { type: 'double', value: Number.NaN }), {
      key: 'n',
      type: 'float64',
      value: 'NaN',
    });
    assert.deepEqual(jaegerTag('i', { type: 'int', value: -(2n ** 63n) }), {
      key: 'i',
      type: 'int64',
      value: '-9223372036854775808',
    });
    assert.deepEqual(jaegerTag('i', { type: 'int', value: -(2n ** 53n - 1n) }), {
      key: 'i',
      type: 'int64',
      value: -9007199254740991,
    });
    assert.deepEqual(jaegerTag('e', { type: 'empty' }), { key: 'e', type: 'string', value: '' });
  });

  it('serialises with Jaeger’s field order', () => {
    const text = JSON.stringify(traces[1]);
    assert.equal(
      text,
      '{"traceID":"7f000000000000000000000000000001","spans":[{"traceID":"7f000000000000000000000000000001",' +
        '"spanID":"0000000000000001","operationName":"write","references":[],"startTime":1706678909209712,' +
        '"duration":2,"tags":[{"key":"span.kind","type":"string","value":"client"}],"logs":[],"processID":"p1",' +
        '"warnings":null}],"processes":{"p1":{"serviceName":"ledger","tags":[]}},"warnings":null}',
    );
  });
});

/** A trace as a Jaeger query service would return it for spans its own clients sent. */
const JAEGER_TRACE: JaegerTrace = {
  traceID: '5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b',
  spans: [
    {
      traceID: '5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b',
      spanID: '1111111111111111',
      flags: 1,
      operationName: 'HTTP GET /dispatch',
      references: [],
      startTime: 1_700_000_000_000_000,
      duration: 700_123,
      tags: [
        { key: 'otel.scope.name', type: 'string', value: 'hotrod' },
        { key: 'http.url', type: 'string', value: '/dispatch?customer=123' },
        { key: 'retries', type: 'int64', value: 2 },
        { key: 'sampler.param', type: 'bool', value: true },
        { key: 'weight', type: 'float64', value: 0.75 },
        { key: 'blob', type: 'binary', value: 'AQID' },
        { key: 'huge', type: 'int64', value: '-9007199254740993' },
        { key: 'span.kind', type: 'string', value: 'server' },
        { key: 'otel.status_code', type: 'string', value: 'ERROR' },
        { key: 'error', type: 'bool', value: true },
        { key: 'otel.status_description', type: 'string', value: 'driver unavailable' },
        { key: 'w3c.tracestate', type: 'string', value: 'rojo=00f067aa0ba902b7' },
      ],
      logs: [
        {
          timestamp: 1_700_000_000_000_500,
          fields: [
            { key: 'event', type: 'string', value: 'Searching for nearby drivers' },
            { key: 'location', type: 'string', value: '728,326' },
          ],
        },
        { timestamp: 1_700_000_000_000_600, fields: [{ key: 'level', type: 'string', value: 'info' }] },
      ],
      processID: 'p1',
      warnings: null,
    },
    {
      traceID: '5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b',
      spanID: '2222222222222222',
      operationName: 'FindDriverIDs',
      references: [
        { refType: 'CHILD_OF', traceID: '5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b', spanID: '1111111111111111' },
        { refType: 'FOLLOWS_FROM', traceID: '0000000000000abc', spanID: '3333333333333333' },
      ],
      startTime: 1_700_000_000_010_000,
      duration: 15,
      tags: [
        { key: 'param.location', type: 'string', value: '728,326' },
        { key: 'span.kind', type: 'string', value: 'client' },
        { key: 'otel.dropped_events_count', type: 'int64', value: 4 },
      ],
      logs: [],
      processID: 'p2',
      warnings: null,
    },
  ],
  processes: {
    p1: {
      serviceName: 'frontend',
      tags: [
        { key: 'ip', type: 'string', value: '10.0.0.7' },
        { key: 'client-uuid', type: 'string', value: '6c3b9b6f' },
      ],
    },
    p2: { serviceName: 'redis', tags: [] },
  },
  warnings: null,
};

describe('Jaeger to OTLP and back', () => {
  it('reads a Jaeger trace into spans with their OTLP fields', () => {
    const [server, client] = spansFromJaegerJson({ data: [JAEGER_TRACE] });
    assert.equal(server.traceId, '5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b');
    assert.equal(server.startTimeUnixNano, 1_700_000_000_000_000_000n);
    assert.equal(server.endTimeUnixNano - server.startTimeUnixNano, 700_123_000n);
    assert.equal(server.kind, 2);
    assert.deepEqual(server.status, { code: StatusCode.ERROR, message: 'driver unavailable' });
    assert.equal(server.traceState, 'rojo=00f067aa0ba902b7');
    assert.equal(server.scope.name, 'hotrod');
    assert.equal(server.serviceName, 'frontend');
    assert.deepEqual(
      server.attributes.map((a) => a.key),
      ['http.url', 'retries', 'sampler.param', 'weight', 'blob', 'huge'],
    );
    assert.deepEqual(
      server.events.map((e) => e.name),
      ['Searching for nearby drivers', ''],
    );
    assert.equal(client.parentSpanId, '1111111111111111');
    assert.equal(client.droppedEventsCount, 4);
    assert.deepEqual(
      client.links.map((l) => [l.traceId, l.spanId]),
      [['00000000000000000000000000000abc', '3333333333333333']],
    );
  });

  it('gives back the same Jaeger trace after a round trip through the span model', () => {
    const spans = spansFromJaegerJson(JAEGER_TRACE);
    assert.deepEqual(spansToJaegerTraces(spans), [JAEGER_TRACE]);
  });

  it('keeps a FOLLOWS_FROM parent a FOLLOWS_FROM reference', () => {
    const trace: JaegerTrace = {
      ...JAEGER_TRACE,
      spans: [
        {
          ...JAEGER_TRACE.spans[1],
          references: [{ refType: 'FOLLOWS_FROM', traceID: JAEGER_TRACE.traceID, spanID: '1111111111111111' }],
        },
      ],
      processes: { p1: { serviceName: 'redis', tags: [] } },
    };
    const spans = spansFromJaegerJson(trace);
    assert.equal(spans[0].parentSpanId, '1111111111111111');
    assert.deepEqual(spansToJaegerTraces(spans)[0].spans[0].references, trace.spans[0].references);
  });

  it('gives back the same spans after OTLP to Jaeger to OTLP, for what Jaeger can hold', () => {
    // Link attributes other than the reference type, scope attributes and schema URLs have no
    // place in Jaeger; the fixture leaves them out. `host.name` is kept as is (only Jaeger's own
    // `hostname` is renamed on the way in).
    const original = spansFromOtlpJson(otlpFixture()).filter((s) => s.spanId !== '00000000000000d5');
    const asLinksComeBack = (s: Span): Span => ({
      ...s,
      // Jaeger's references say their type; read back, every link carries it.
      links: s.links.map((l) => ({
        ...l,
        attributes: [
          {
            key: 'opentracing.ref_type',
            value: { type: 'string', value: l.attributes.length > 0 ? 'child_of' : 'follows_from' },
          },
        ],
      })),
      // Arrays and maps become their JSON text.
      attributes: s.attributes.map((a) =>
        a.key === 'list'
          ? { key: 'list', value: { type: 'string', value: '["a",2]' } }
          : a.key === 'map'
            ? { key: 'map', value: { type: 'string', value: '{"a":1.5,"z":true}' } }
            : a,
      ),
      // Jaeger has microseconds.
      startTimeUnixNano: ((s.startTimeUnixNano / 1000n) * 1000n) as Span['startTimeUnixNano'],
      endTimeUnixNano: ((s.startTimeUnixNano / 1000n) * 1000n +
        ((s.endTimeUnixNano - s.startTimeUnixNano) / 1000n) * 1000n) as Span['endTimeUnixNano'],
      events: s.events.map((e) => ({
        ...e,
        timeUnixNano: ((e.timeUnixNano / 1000n) * 1000n) as Span['startTimeUnixNano'],
        // An `event` attribute takes the place of the name.
        ...(e.attributes.some((a) => a.key === 'event') ? { name: 'own', attributes: [] } : {}),
      })),
      // A 64-bit trace id comes back padded, as it went in.
      resource: {
        ...s.resource,
        attributes: [
          s.resource.attributes.find((a) => a.key === 'service.name')!,
          ...s.resource.attributes.filter((a) => a.key !== 'service.name'),
        ],
      },
    });
    const back = spansFromJaegerJson({ data: spansToJaegerTraces(original) });
    assert.deepEqual(back, original.map(asLinksComeBack));
  });
});
