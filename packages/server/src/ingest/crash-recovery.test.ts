import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { type RunningServer, startServer } from '../main.ts';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from './otlp-proto-schema.ts';
import { COMPAT_OFF } from './testdata/ariadne-process.ts';

/**
 * Crashes for real: a server process acknowledges spans and is killed with SIGKILL before (or
 * while) they reach the store; the next start finds every acknowledged span exactly once, and
 * nothing from a request that was being written to the log when the process died.
 */

const FIXTURE = new URL('./testdata/serve-without-drain.ts', import.meta.url).pathname;
const BIN = new URL('../../bin/ariadne.mjs', import.meta.url).pathname;

const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');
const traceId = (n: number) => `7ace${hex(n, 14)}`;

interface TestSpan {
  name: string;
  spanId: string;
  start?: number;
  end?: number;
}

function requestObject(trace: string, spans: TestSpan[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'crash-test' } }] },
        scopeSpans: [
          {
            spans: spans.map((s) => ({
              traceId: Buffer.from(trace, 'hex'),
              spanId: Buffer.from(s.spanId, 'hex'),
              name: s.name,
              startTimeUnixNano: s.start ?? 1_000,
              endTimeUnixNano: s.end ?? 2_000,
              attributes: [{ key: 'request.size', value: { intValue: spans.length } }],
            })),
          },
        ],
      },
    ],
  };
}

const protobuf = (trace: string, spans: TestSpan[]) =>
  Buffer.from(
    ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(requestObject(trace, spans))).finish(),
  );

const json = (trace: string, spans: TestSpan[]) =>
  JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'crash-test' } }] },
        scopeSpans: [
          {
            spans: spans.map((s) => ({
              traceId: trace,
              spanId: s.spanId,
              name: s.name,
              startTimeUnixNano: String(s.start ?? 1_000),
              endTimeUnixNano: String(s.end ?? 2_000),
            })),
          },
        ],
      },
    ],
  });

const spansNamed = (prefix: string, count: number, first: number): TestSpan[] =>
  Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}`, spanId: hex(first + i, 8) }));

async function postProtobuf(url: string, body: Buffer) {
  const response = await fetch(`${url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: new Uint8Array(body),
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

function grpcExport(address: string, body: Buffer): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      (error) => {
        client.close();
        resolve(error);
      },
    );
  });
}

/** Starts `command`, waits until `pattern` appears in its output, returns the match. */
async function startChild(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const deadline = Date.now() + 30_000;
  while (true) {
    const match = pattern.exec(output);
    if (match) return { child, match };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`child did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function kill(child: ChildProcess) {
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const restart = (dataDir: string) =>
  startServer({
    dataDir,
    host: '127.0.0.1',
    apiPort: 0,
    otlpHttpPort: 0,
    otlpGrpcPort: 0,
    readConsistency: 'read-your-writes',
  });

async function spanNames(server: RunningServer, trace: string): Promise<string[]> {
  const response = await fetch(`${server.apiUrl}/api/v1/traces/${trace}`);
  if (response.status === 404) return [];
  const body = (await response.json()) as { spans: { name: string }[] };
  return body.spans.map((s) => s.name).sort();
}

describe('crash recovery through the ingest log', () => {
  it('keeps every span acknowledged before a SIGKILL exactly once, when none had reached the store', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-crash-'));
    try {
      const { child, match } = await startChild(['--import', 'tsx', FIXTURE, dataDir], /^(\{.*\})$/m);
      const urls = JSON.parse(match[1]) as { otlpHttp: string; otlpGrpc: string; api: string; zipkin: string };
      let zipkinSentMicros: [number, number] = [0, 0];
      try {
        // OTLP/HTTP protobuf, OTLP/HTTP JSON (gzip), OTLP/gRPC, and a request with one invalid span.
        const proto = await postProtobuf(urls.otlpHttp, protobuf(traceId(1), spansNamed('proto', 3, 1)));
        assert.equal(proto.status, 200);
        const jsonResponse = await fetch(`${urls.otlpHttp}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          body: new Uint8Array(gzipSync(json(traceId(2), spansNamed('json', 2, 10)))),
        });
        assert.equal(jsonResponse.status, 200);
        assert.equal(await grpcExport(urls.otlpGrpc, protobuf(traceId(3), spansNamed('grpc', 2, 20))), null);
        const partial = await postProtobuf(
          urls.otlpHttp,
          protobuf(traceId(4), [
            { name: 'valid', spanId: hex(30, 8) },
            { name: 'ends-before-it-starts', spanId: hex(31, 8), start: 5_000, end: 4_000 },
          ]),
        );
        assert.equal(partial.status, 200);
        const response = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(partial.body), {
          longs: Number,
        }) as { partialSuccess?: { rejectedSpans: number } };
        assert.equal(response.partialSuccess?.rejectedSpans, 1);
        // Zipkin v2 JSON, logged as Zipkin: a span without a timestamp starts when it was received.
        const before = Date.now() * 1000;
        const zipkin = await fetch(`${urls.zipkin}/api/v2/spans`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify([
            { traceId: traceId(5), id: hex(40, 8), name: 'zipkin-timed', timestamp: 1, duration: 2 },
            // Alone in its trace: a span without a timestamp takes its start from its trace's others.
            { traceId: traceId(6), id: hex(41, 8), name: 'zipkin-untimed' },
          ]),
        });
        assert.equal(zipkin.status, 202);
        zipkinSentMicros = [before, Date.now() * 1000];

        const health = (await (await fetch(`${urls.api}/healthz`)).json()) as { ingest: { pendingSpans: number } };
        assert.equal(health.ingest.pendingSpans, 10, 'acknowledged, none in the store');
      } finally {
        await kill(child);
      }

      // The process died while writing one more request: half a record at the tail of the log.
      const logDir = join(dataDir, 'ingest-log');
      const last = readdirSync(logDir)
        .filter((n) => n.endsWith('.log'))
        .sort()
        .at(-1)!;
      const torn = Buffer.alloc(19);
      torn.writeUInt32LE(1_000, 0);
      torn.writeUInt8(1, 8);
      appendFileSync(join(logDir, last), torn);

      const server = await restart(dataDir);
      try {
        assert.deepEqual(
          { records: server.replayed.records, spans: server.replayed.spans, truncated: server.replayed.truncatedBytes },
          { records: 5, spans: 10, truncated: 19 },
        );
        assert.deepEqual(await spanNames(server, traceId(1)), ['proto-0', 'proto-1', 'proto-2']);
        assert.deepEqual(await spanNames(server, traceId(2)), ['json-0', 'json-1']);
        assert.deepEqual(await spanNames(server, traceId(3)), ['grpc-0', 'grpc-1']);
        assert.deepEqual(await spanNames(server, traceId(4)), ['valid'], 'the rejected span stays rejected');
        assert.deepEqual(await spanNames(server, traceId(5)), ['zipkin-timed']);
        const [untimed] = await server.store.getTrace(traceId(6));
        assert.equal(untimed?.name, 'zipkin-untimed');
        const startMicros = Number(untimed.startTimeUnixNano / 1000n);
        assert.ok(
          startMicros >= zipkinSentMicros[0] && startMicros <= zipkinSentMicros[1],
          `replayed with the time it was received: ${startMicros} in ${zipkinSentMicros}`,
        );
      } finally {
        await server.close();
      }

      const again = await restart(dataDir);
      try {
        assert.equal(again.replayed.records, 0, 'replayed once, never again');
        assert.deepEqual(await spanNames(again, traceId(1)), ['proto-0', 'proto-1', 'proto-2']);
        assert.deepEqual(await spanNames(again, traceId(4)), ['valid']);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('stores every acknowledged request exactly once after a SIGKILL of `ariadne serve` while draining', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-crash-drain-'));
    const REQUESTS = 60;
    const SPANS = 400;
    try {
      const { child, match } = await startChild(
        [
          BIN,
          'serve',
          '--data',
          dataDir,
          '--api-port',
          '0',
          '--otlp-http-port',
          '0',
          '--otlp-grpc-port',
          '0',
          ...COMPAT_OFF,
        ],
        /OTLP\/HTTP\s+(\S+)\/v1\/traces[\s\S]*OTLP\/gRPC/,
      );
      const acked = new Set<number>();
      let next = 0;
      const sender = async () => {
        while (next < REQUESTS) {
          const n = next++;
          const body = protobuf(traceId(100 + n), spansNamed(`r${n}`, SPANS, 1 + n * SPANS));
          try {
            const { status } = await postProtobuf(match[1], body);
            if (status === 200) acked.add(n);
          } catch {
            return; // the server is gone
          }
          if (acked.size >= REQUESTS / 2 && child.exitCode === null) child.kill('SIGKILL');
        }
      };
      await Promise.all([sender(), sender(), sender(), sender()]);
      if (child.exitCode === null && child.signalCode === null) await kill(child);
      assert.ok(acked.size >= REQUESTS / 2);

      const server = await restart(dataDir);
      try {
        t.diagnostic(
          `${acked.size} requests acknowledged; ${server.replayed.records} replayed from the log after the kill`,
        );
        for (let n = 0; n < REQUESTS; n++) {
          const spans = await server.store.getTrace(traceId(100 + n));
          const ids = new Set(spans.map((s) => s.spanId));
          assert.equal(ids.size, spans.length, `request ${n}: no span stored twice`);
          if (acked.has(n)) assert.equal(spans.length, SPANS, `acknowledged request ${n} stored whole`);
          else assert.ok(spans.length === 0 || spans.length === SPANS, `request ${n}: whole or not at all`);
        }
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('drains everything acknowledged into the store on close, leaving nothing to replay', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-close-'));
    const REQUESTS = 20;
    const SPANS = 500;
    try {
      const server = await restart(dataDir);
      await Promise.all(
        Array.from({ length: REQUESTS }, async (_, n) => {
          const { status } = await postProtobuf(
            server.otlpHttpUrl,
            protobuf(traceId(500 + n), spansNamed(`c${n}`, SPANS, 1 + n * SPANS)),
          );
          assert.equal(status, 200);
        }),
      );
      t.diagnostic(`${server.pendingSpans()} acknowledged spans not yet in the store at close`);
      await server.close();
      const logDir = join(dataDir, 'ingest-log');
      const files = readdirSync(logDir).filter((n) => n.endsWith('.log'));
      assert.equal(files.length, 1);
      assert.equal(statSync(join(logDir, files[0])).size, 16, 'an empty segment: every record applied');

      const again = await restart(dataDir);
      try {
        assert.equal(again.replayed.records, 0);
        for (let n = 0; n < REQUESTS; n++)
          assert.equal((await again.store.getTrace(traceId(500 + n))).length, SPANS, `request ${n}`);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
