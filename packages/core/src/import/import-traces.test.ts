import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { analysisToJson, analyzeTrace, splitByTrace } from '../analysis/analyze-trace.ts';
import { buildTrace } from '../analysis/build-trace.ts';
import { criticalPathSections } from '../analysis/critical-path.ts';
import { findAttribute, SpanKind, StatusCode } from '../model/span.ts';
import { TraceImportError } from './import-error.ts';
import { detectTraceFormat, importTraces } from './import-traces.ts';

const fixtures = new URL('../../../../fixtures/', import.meta.url);

function fixtureFiles(): URL[] {
  const out: URL[] = [];
  for (const dir of readdirSync(fixtures, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const file of readdirSync(new URL(`${dir.name}/`, fixtures))) {
      if (file.endsWith('.json')) out.push(new URL(`${dir.name}/${file}`, fixtures));
    }
  }
  return out.sort((a, b) => a.href.localeCompare(b.href));
}

describe('importTraces: Zipkin v2', () => {
  it('maps a span as the OpenTelemetry Zipkin mapping does', () => {
    const { format, spans } = importTraces(
      JSON.stringify([
        {
          traceId: 'ABCDEF0123456789',
          id: '0000000000000002',
          parentId: '0000000000000001',
          kind: 'CLIENT',
          name: 'get /users',
          timestamp: 1_700_000_000_123_456,
          duration: 2_500,
          localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 },
          remoteEndpoint: { serviceName: 'users', ipv4: '10.0.0.2' },
          annotations: [{ timestamp: 1_700_000_000_124_000, value: 'ws' }],
          tags: { 'http.method': 'GET', error: 'timeout', 'otel.scope.name': 'lib' },
        },
        { traceId: 'abcdef0123456789', id: '0000000000000003', name: 'no kind, no times' },
      ]),
    );
    assert.equal(format, 'zipkin-v2');
    const [span, bare] = spans;
    assert.equal(span.traceId, '0000000000000000abcdef0123456789');
    assert.equal(span.parentSpanId, '0000000000000001');
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.startTimeUnixNano, 1_700_000_000_123_456_000n);
    assert.equal(span.endTimeUnixNano, 1_700_000_000_125_956_000n);
    assert.equal(span.serviceName, 'frontend');
    assert.deepEqual(span.status, { code: StatusCode.ERROR, message: 'timeout' });
    assert.equal(span.scope.name, 'lib');
    assert.deepEqual(findAttribute(span.attributes, 'peer.service'), { type: 'string', value: 'users' });
    assert.deepEqual(findAttribute(span.attributes, 'network.local.port'), { type: 'int', value: 8080n });
    // Kept, as Zipkin reads any `error` tag as a failure and the way back must say so again.
    assert.deepEqual(findAttribute(span.attributes, 'error'), { type: 'string', value: 'timeout' });
    assert.deepEqual(
      span.events.map((e) => [e.name, e.timeUnixNano]),
      [['ws', 1_700_000_000_124_000_000n]],
    );
    assert.equal(bare.kind, SpanKind.INTERNAL);
    // No timestamp: placed at the start of the earliest span of its trace, and marked.
    assert.equal(bare.startTimeUnixNano, 1_700_000_000_123_456_000n);
    assert.deepEqual(findAttribute(bare.attributes, 'otel.zipkin.absentField.startTime'), {
      type: 'bool',
      value: true,
    });
    assert.equal(bare.serviceName, 'unknown_service');
  });

  it('reads an array of traces', () => {
    const text = JSON.stringify([[{ traceId: 'a', id: 'b', timestamp: 1, duration: 1 }], [{ traceId: 'c', id: 'd' }]]);
    assert.equal(splitByTrace(importTraces(text).spans).length, 2);
  });
});

describe('importTraces: Jaeger', () => {
  it('maps processes, references, tags and logs', () => {
    const body = {
      data: [
        {
          traceID: '00000000000000aa',
          processes: {
            p1: {
              serviceName: 'api',
              tags: [
                { key: 'hostname', type: 'string', value: 'box-1' },
                { key: 'jaeger.version', type: 'string', value: 'Go-2.30' },
              ],
            },
          },
          spans: [
            {
              traceID: '00000000000000aa',
              spanID: '0000000000000002',
              operationName: 'enqueue-audit',
              references: [
                { refType: 'FOLLOWS_FROM', traceID: '00000000000000aa', spanID: '0000000000000001', span: { junk: 1 } },
              ],
              startTime: 1_700_000_000_000_001,
              duration: 7,
              processID: 'p1',
              tags: [
                { key: 'span.kind', type: 'string', value: 'producer' },
                { key: 'error', type: 'bool', value: true },
                { key: 'retries', type: 'int64', value: '9007199254740993' },
                { key: 'internal.span.format', type: 'string', value: 'proto' },
              ],
              logs: [
                {
                  timestamp: 1_700_000_000_000_003,
                  fields: [
                    { key: 'event', type: 'string', value: 'exception' },
                    { key: 'message', type: 'string', value: 'boom' },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const { format, spans } = importTraces(JSON.stringify(body));
    assert.equal(format, 'jaeger');
    const [span] = spans;
    assert.equal(span.parentSpanId, '0000000000000001');
    assert.equal(span.links.length, 1);
    assert.deepEqual(findAttribute(span.links[0].attributes, 'opentracing.ref_type'), {
      type: 'string',
      value: 'follows_from',
    });
    assert.equal(span.kind, SpanKind.PRODUCER);
    assert.equal(span.status.code, StatusCode.ERROR);
    assert.deepEqual(findAttribute(span.attributes, 'retries'), { type: 'int', value: 9007199254740993n });
    assert.equal(findAttribute(span.attributes, 'internal.span.format'), undefined);
    assert.deepEqual(findAttribute(span.resource.attributes, 'host.name'), { type: 'string', value: 'box-1' });
    assert.deepEqual(findAttribute(span.resource.attributes, 'opencensus.exporterversion'), {
      type: 'string',
      value: 'Jaeger-Go-2.30',
    });
    assert.deepEqual(
      span.events.map((e) => [e.name, e.attributes.length]),
      [['exception', 1]],
    );
    assert.equal(span.endTimeUnixNano - span.startTimeUnixNano, 7000n);
  });
});

describe('importTraces: OTLP JSON', () => {
  const request = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: 'eee19b7ec3c1b174',
                name: 'checkout',
                startTimeUnixNano: '1544712660000000001',
                endTimeUnixNano: '1544712661000000001',
              },
            ],
          },
        ],
      },
    ],
  };
  it('reads ExportTraceServiceRequest, JSON lines and Tempo batches with base64 ids', () => {
    assert.equal(importTraces(JSON.stringify(request)).spans[0].name, 'checkout');
    const lines = `${JSON.stringify(request)}\n${JSON.stringify(request)}\n`;
    assert.equal(importTraces(lines).spans.length, 2);
    const tempo = {
      batches: [
        {
          resource: request.resourceSpans[0].resource,
          instrumentationLibrarySpans: [
            {
              spans: [
                {
                  ...request.resourceSpans[0].scopeSpans[0].spans[0],
                  traceId: 'W47/95gDgQPSabYzgT/GDA==',
                  spanId: '7uGbfsPBsXQ=',
                },
              ],
            },
          ],
        },
      ],
    };
    const [span] = importTraces(JSON.stringify(tempo)).spans;
    assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(span.spanId, 'eee19b7ec3c1b174');
  });

  it('refuses anything else with a clear error', () => {
    assert.throws(() => importTraces('{"hello": 1}'), /unrecognised trace format: expected OTLP JSON/);
    assert.throws(() => importTraces('not json'), TraceImportError);
    assert.throws(
      () => importTraces(JSON.stringify([{ traceId: 'a', id: 'b', binaryAnnotations: [] }])),
      /Zipkin v1 JSON, which is not supported/,
    );
    assert.throws(
      () => importTraces(JSON.stringify([{ traceId: 'xyz', id: 'b' }])),
      /\[0\]\.traceId: expected a hex id/,
    );
    assert.equal(detectTraceFormat(42), undefined);
  });
});

describe('fixtures', () => {
  for (const file of fixtureFiles()) {
    const name = file.pathname.split('/fixtures/')[1];
    it(`imports and analyses ${name}`, () => {
      const { spans } = importTraces(readFileSync(file, 'utf8'));
      assert.ok(spans.length > 0);
      for (const { spans: traceSpans } of splitByTrace(spans)) {
        const analysis = analyzeTrace(traceSpans);
        const json = analysisToJson(analysis);
        assert.equal(json.spanCount, analysis.trace.size);
        for (const path of criticalPathSections(analysis.trace, analysis.criticalPath)) {
          const root = analysis.trace.spans[path.rootIndex];
          assert.equal(path.sections[0].startUnixNano, root.startTimeUnixNano);
          assert.equal(path.sections.at(-1)!.endUnixNano, root.endTimeUnixNano);
        }
        JSON.stringify(json);
      }
    });
  }

  it('centres the skewed server of zipkin/skew.json in its client, with its local child', () => {
    // servicea get (server)   |-------------------------|           071068..170479 µs
    // servicea post (client)    |-----------------------|           074202..168741
    // serviceb post (server) shares the client's id, clock ~66 ms behind:
    //          |----------------------|                          008761..102338
    // serviceb async (child)   |-------------|                    008762..073762
    const { spans } = importTraces(readFileSync(new URL('zipkin/skew.json', fixtures), 'utf8'));
    const trace = buildTrace(spans);
    const byName = (service: string, name: string) =>
      trace.spans.find((s) => s.serviceName === service && s.name === name)!;
    const client = byName('servicea', 'post');
    const server = byName('serviceb', 'post');
    const asyncSpan = byName('serviceb', 'async');
    assert.equal(server.parentSpanId, client.spanId);
    // Centred: (94539 - 93577) / 2 = 481 µs after the client starts.
    assert.equal(server.startTimeUnixNano, 1470150004074683000n);
    assert.equal(asyncSpan.startTimeUnixNano - server.startTimeUnixNano, 1000n);
    assert.ok(server.startTimeUnixNano >= client.startTimeUnixNano);
    assert.ok(server.endTimeUnixNano <= client.endTimeUnixNano);
    assert.deepEqual(
      trace.warnings.map((w) => w.code),
      ['shared-span-id', 'clock-skew', 'clock-skew'],
    );
    const off = buildTrace(spans, { adjustClockSkew: false });
    assert.equal(
      off.spans.find((s) => s.serviceName === 'serviceb' && s.name === 'post')!.startTimeUnixNano,
      1470150004008761000n,
    );
  });
});
