import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ApiSpanJson, TracesDataJson } from '@ariadne/core';
import { context, type Span as OtelSpan, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type RunningServer, startServer } from './main.ts';

/**
 * End to end through real OpenTelemetry JS exporters (protobuf, JSON and gRPC): spans made in
 * this process arrive over the wire, are stored in a real DuckDB file, and come back from the
 * query API field by field. Then a restart, and the data is still there.
 */

const LARGE_INT = 2 ** 60; // above 2^53, still exact as a double
const NEGATIVE_INT = -(2 ** 62);

/**
 * The SDK refuses bytes and nested maps as span attributes, though OTLP carries them; this
 * processor adds them to the finished span just before the real exporter serialises it.
 */
class ExoticAttributes implements SpanProcessor {
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    const attributes = span.attributes as Record<string, unknown>;
    if (attributes.exotic) {
      attributes['raw.bytes'] = new Uint8Array([0, 1, 2, 253, 254, 255]);
      attributes['nested.map'] = { inner: { deep: true, n: 3 }, list: ['a', 1.5] };
    }
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

async function sendTrace(exporter: SpanExporter, service: string) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'test-host', 'deployment.count': 3 }),
    spanProcessors: [new ExoticAttributes(), new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('ariadne-e2e', '1.2.3');
  let traceId = '';
  let childId = '';
  let linkTarget = '';
  await new Promise<void>((resolve) => {
    tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER }, (root: OtelSpan) => {
      traceId = root.spanContext().traceId;
      linkTarget = root.spanContext().spanId;
      const child = tracer.startSpan(
        'save_order',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            exotic: true,
            'order.id': `ORD-${service}`,
            'big.int': LARGE_INT,
            'neg.int': NEGATIVE_INT,
            ratio: 0.125,
            ok: false,
            tags: ['a', 'b'],
            unicode: '주문 <script>',
          },
          links: [{ context: root.spanContext(), attributes: { 'link.reason': 'retry-of' } }],
        },
        trace.setSpan(context.active(), root),
      );
      childId = child.spanContext().spanId;
      child.addEvent('exception', { 'exception.message': 'db timeout', attempt: 3 });
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'gave up after 3 attempts' });
      child.end();
      root.end();
      resolve();
    });
  });
  await provider.forceFlush();
  await provider.shutdown();
  return { traceId, childId, linkTarget };
}

interface ApiTrace {
  traceId: string;
  spans: ApiSpanJson[];
  summary: { rootName: string; spanCount: number; errorCount: number };
}

describe('ariadne serve, end to end with OpenTelemetry exporters', () => {
  let dir: string;
  let server: RunningServer;
  const sent: { protocol: string; traceId: string; childId: string; linkTarget: string }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-e2e-'));
    server = await startServer({
      dataDir: dir,
      host: '127.0.0.1',
      apiPort: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
      readConsistency: 'read-your-writes',
    });
    const exporters: [string, SpanExporter][] = [
      ['proto', new ProtoExporter({ url: `${server.otlpHttpUrl}/v1/traces` })],
      ['json', new JsonExporter({ url: `${server.otlpHttpUrl}/v1/traces` })],
      ['grpc', new GrpcExporter({ url: server.otlpGrpcUrl })],
      [
        'proto-gzip',
        new ProtoExporter({ url: `${server.otlpHttpUrl}/v1/traces`, compression: CompressionAlgorithm.GZIP }),
      ],
      ['grpc-gzip', new GrpcExporter({ url: server.otlpGrpcUrl, compression: CompressionAlgorithm.GZIP })],
    ];
    for (const [protocol, exporter] of exporters) {
      sent.push({ protocol, ...(await sendTrace(exporter, `svc-${protocol}`)) });
    }
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const getTrace = async (id: string, query = ''): Promise<ApiTrace> => {
    const response = await fetch(`${server.apiUrl}/api/v1/traces/${id}${query}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as ApiTrace;
  };

  for (const protocol of ['proto', 'json', 'grpc', 'proto-gzip', 'grpc-gzip']) {
    it(`stores spans sent by the ${protocol} exporter and returns every field`, async () => {
      const s = sent.find((x) => x.protocol === protocol)!;
      const body = await getTrace(s.traceId);
      assert.equal(body.traceId, s.traceId);
      assert.equal(body.spans.length, 2);
      const root = body.spans.find((x) => x.parentSpanId === '')!;
      const child = body.spans.find((x) => x.spanId === s.childId)!;
      assert.equal(root.name, 'POST /orders');
      assert.equal(root.kind, 2);
      assert.equal(child.parentSpanId, root.spanId);
      assert.equal(child.kind, 3);
      assert.equal(child.serviceName, `svc-${protocol}`);
      assert.match(child.startTimeUnixNano, /^\d{19}$/);
      assert.ok(BigInt(child.endTimeUnixNano) >= BigInt(child.startTimeUnixNano));
      const attrs = Object.fromEntries(child.attributes.map((a: { key: string; value: unknown }) => [a.key, a.value]));
      assert.deepEqual(attrs['order.id'], { stringValue: `ORD-svc-${protocol}` });
      // OpenTelemetry JS's JSON exporter writes 2^60 with JSON.stringify, i.e. as 1152921504606847000;
      // Ariadne keeps exactly the integer that was on the wire.
      assert.deepEqual(attrs['big.int'], {
        intValue: protocol === 'json' ? '1152921504606847000' : '1152921504606846976',
      });
      assert.deepEqual(attrs['neg.int'], {
        intValue: protocol === 'json' ? '-4611686018427388000' : '-4611686018427387904',
      });
      assert.deepEqual(attrs.ratio, { doubleValue: 0.125 });
      assert.deepEqual(attrs.ok, { boolValue: false });
      assert.deepEqual(attrs.tags, { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } });
      assert.deepEqual(attrs.unicode, { stringValue: '주문 <script>' });
      assert.deepEqual(attrs['raw.bytes'], { bytesValue: Buffer.from([0, 1, 2, 253, 254, 255]).toString('base64') });
      assert.deepEqual(attrs['nested.map'], {
        kvlistValue: {
          values: [
            {
              key: 'inner',
              value: {
                kvlistValue: {
                  values: [
                    { key: 'deep', value: { boolValue: true } },
                    { key: 'n', value: { intValue: '3' } },
                  ],
                },
              },
            },
            { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { doubleValue: 1.5 }] } } },
          ],
        },
      });
      assert.equal(child.events.length, 1);
      assert.equal(child.events[0].name, 'exception');
      assert.match(child.events[0].timeUnixNano, /^\d{19}$/);
      assert.deepEqual(child.events[0].attributes, [
        { key: 'exception.message', value: { stringValue: 'db timeout' } },
        { key: 'attempt', value: { intValue: '3' } },
      ]);
      assert.equal(child.links.length, 1);
      assert.equal(child.links[0].traceId, s.traceId);
      assert.equal(child.links[0].spanId, s.linkTarget);
      assert.deepEqual(child.links[0].attributes, [{ key: 'link.reason', value: { stringValue: 'retry-of' } }]);
      assert.deepEqual(child.status, { code: 2, message: 'gave up after 3 attempts' });
      assert.equal(child.droppedAttributesCount, 0);
      assert.equal(child.scope.name, 'ariadne-e2e');
      assert.equal(child.scope.version, '1.2.3');
      const resource = Object.fromEntries(
        child.resource.attributes.map((a: { key: string; value: unknown }) => [a.key, a.value]),
      );
      assert.deepEqual(resource['service.name'], { stringValue: `svc-${protocol}` });
      assert.deepEqual(resource['deployment.count'], { intValue: '3' });
      assert.equal(body.summary.rootName, 'POST /orders');
      assert.equal(body.summary.spanCount, 2);
      assert.equal(body.summary.errorCount, 1);
    });
  }

  it('returns standard OTLP JSON with ?format=otlp, which decodes back to the same spans', async () => {
    const s = sent[0];
    const otlp = (await getTrace(s.traceId, '?format=otlp')) as unknown as TracesDataJson;
    assert.equal(otlp.resourceSpans.length, 1);
    const spans = otlp.resourceSpans[0].scopeSpans[0].spans;
    assert.equal(spans.length, 2);
    // Feed it back in: OTLP JSON out is OTLP JSON in.
    const response = await fetch(`${server.otlpHttpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlp),
    });
    assert.equal(response.status, 200);
  });

  it('finds traces by service, operation, status and attribute', async () => {
    const search = async (q: string) => {
      const response = await fetch(`${server.apiUrl}/api/v1/search?${q}`);
      assert.equal(response.status, 200, await response.clone().text());
      return ((await response.json()) as { traces: { traceId: string }[] }).traces.map((t) => t.traceId);
    };
    assert.deepEqual(await search('service=svc-json'), [sent[1].traceId]);
    assert.deepEqual(await search('attr=order.id%3DORD-svc-grpc'), [sent[2].traceId]);
    assert.deepEqual(await search('status=error&operation=save_order&limit=10').then((x) => x.length), 5);
    assert.deepEqual(await search('attr=big.int%3D1152921504606846976&service=svc-proto'), [sent[0].traceId]);
    const services = (await (await fetch(`${server.apiUrl}/api/v1/services`)).json()) as { services: string[] };
    assert.deepEqual(services.services, ['svc-grpc', 'svc-grpc-gzip', 'svc-json', 'svc-proto', 'svc-proto-gzip']);
  });

  it('keeps every acknowledged span across a restart', async () => {
    const before = await Promise.all(sent.map(async (s) => (await getTrace(s.traceId)).spans));
    await server.close();
    server = await startServer({
      dataDir: dir,
      host: '127.0.0.1',
      apiPort: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
      readConsistency: 'read-your-writes',
    });
    const afterRestart = await Promise.all(sent.map(async (s) => (await getTrace(s.traceId)).spans));
    assert.deepEqual(afterRestart, before);
    assert.ok(before.every((spans) => spans.length >= 2));
  });

  it('accepts gzip-compressed JSON and answers in the request content type', async () => {
    const body = gzipSync(
      JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '0af7651916cd43dd8448eb211c80319c',
                    spanId: 'b7ad6b7169203331',
                    name: 'gz',
                    startTimeUnixNano: '1',
                    endTimeUnixNano: '2',
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const response = await fetch(`${server.otlpHttpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await response.json(), {});
    assert.equal((await getTrace('0af7651916cd43dd8448eb211c80319c')).spans[0].serviceName, 'unknown_service');
  });
});

/**
 * Resolves, with the server, once the `http.Server` listening on `port` has been told to close:
 * it has then closed the connections idle at that moment and stopped listening.
 */
function nextHttpServerClose(t: TestContext, port: number): Promise<http.Server> {
  const close = http.Server.prototype.close;
  return new Promise((resolve) => {
    t.mock.method(http.Server.prototype, 'close', function (this: http.Server, ...args: Parameters<typeof close>) {
      const address = this.address();
      const closed = close.apply(this, args);
      if (typeof address === 'object' && address?.port === port) resolve(this);
      return closed;
    });
  });
}

/** `promise`, or a failure saying what was awaited once 30 s have passed (a hang made a message). */
async function within30s<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after 30 s for ${what}`)), 30_000);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('stopping ariadne serve', () => {
  it('does not wait for a keep-alive connection that was busy when the stop began', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-stop-'));
    const server = await startServer({
      dataDir,
      host: '127.0.0.1',
      apiPort: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
      readConsistency: 'read-your-writes',
    });
    const listenerClosed = nextHttpServerClose(t, Number(new URL(server.otlpHttpUrl).port));
    const agent = new http.Agent({ keepAlive: true });
    try {
      const body = Buffer.from(JSON.stringify({ resourceSpans: [] }));
      // A request whose body is half sent when the stop begins: busy, then idle but kept alive.
      // "Expect: 100-continue" makes the server say when it has the headers.
      const request = http.request(`${server.otlpHttpUrl}/v1/traces`, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' },
      });
      const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
        request.on('response', resolve);
        request.on('error', reject);
      });
      const continued = new Promise<void>((resolve) => request.once('continue', resolve));
      const connectionClosed = new Promise<void>((resolve) =>
        request.once('socket', (socket) => socket.once('close', () => resolve())),
      );
      request.flushHeaders();
      await within30s(continued, 'the server to take the request headers (100 Continue)');
      request.write(body.subarray(0, 5));

      const stopped = server.close();
      // The listener closes the connections idle at that moment, not this busy one. Once idle,
      // it would stay open for the keep-alive timeout (72 s); with that turned off, for ever:
      // the stop can only finish if the server closes the connection itself.
      const listener = await within30s(listenerClosed, 'the stop to close the OTLP/HTTP listener');
      listener.keepAliveTimeout = 0;
      request.end(body.subarray(5));
      const response = await within30s(answered, 'the answer to the request in flight');
      response.resume();
      assert.equal(response.statusCode, 200, 'the request in flight when the stop began is answered');
      await within30s(
        stopped,
        'the stop to finish, which the keep-alive connection, idle since its answer, must not hold',
      );
      await within30s(connectionClosed, 'the server to close the idle keep-alive connection');
    } finally {
      agent.destroy();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
