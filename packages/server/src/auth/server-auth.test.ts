import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { main as cli } from '../cli/main.ts';
import { type RunningServer, startServer } from '../main.ts';
import { capturingLogger } from '../testdata/capture-log.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

/**
 * Tokens and TLS on a real `ariadne serve`: real OpenTelemetry exporters (OTLP/HTTP protobuf and
 * JSON, OTLP/gRPC) with and without `Authorization: Bearer`, the query API, the compatible APIs,
 * the UI login, token rotation, and every listener over TLS with a certificate made by openssl.
 */

const INGEST_A = 'ingest-a-4f6b0c8e1d2a9f37';
const INGEST_B = 'ingest-b-9e2d7c1b5a4f3e60';
const QUERY = 'query-7d3e9a1c5b8f2e40';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Finished spans of one trace from the real SDK, for exporters to send as they would. */
async function makeSpans(service: string): Promise<{ traceId: string; spans: ReadableSpan[] }> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const span = provider.getTracer('auth-test').startSpan(`${service} op`);
  span.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return { traceId: spans[0].spanContext().traceId, spans };
}

/** What an exporter reports for one export: success, or the error it got. */
async function exportWith(exporter: SpanExporter, spans: ReadableSpan[]) {
  const result = await new Promise<{ code: ExportResultCode; error?: Error & { code?: number } }>((resolve) =>
    exporter.export(spans, resolve),
  );
  await exporter.shutdown();
  return result;
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP(S) request (node's client, so that a test CA can be given). */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer } = {},
): Promise<Answer> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ca: options.ca, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A trace as the query API returns it (with the query token), or the status when absent. */
async function storedTrace(server: RunningServer, traceId: string, ca?: Buffer): Promise<number> {
  const answer = await request(`${server.apiUrl}/api/v1/traces/${traceId}`, { headers: bearer(QUERY), ca });
  return answer.status;
}

function assertUnauthorized(answer: Answer, scope: 'ingest' | 'query', presented: boolean) {
  assert.equal(answer.status, 401, answer.body);
  assert.equal(
    answer.headers['www-authenticate'],
    presented ? `Bearer realm="ariadne-${scope}", error="invalid_token"` : `Bearer realm="ariadne-${scope}"`,
  );
  const body = JSON.parse(answer.body) as { error: string; message: string };
  assert.equal(body.error, 'unauthorized');
  assert.match(body.message, scope === 'ingest' ? /ingest token/ : /query token/);
  for (const token of [INGEST_A, INGEST_B, QUERY]) assert.ok(!answer.body.includes(token));
}

describe('ariadne serve with ingest and query tokens', () => {
  let dir: string;
  let server: RunningServer;
  let ingestFile: string;
  let zipkin: string;
  let jaeger: string;
  let tempo: string;
  const { logger, lines } = capturingLogger();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-auth-'));
    ingestFile = join(dir, 'ingest-tokens');
    // Two tokens: the one being rotated out and the one rotated in.
    writeFileSync(ingestFile, `# ingest\n${INGEST_A}\n\n${INGEST_B}\n`);
    writeFileSync(join(dir, 'query-tokens'), `${QUERY}\n`);
    server = await startServer({
      dataDir: join(dir, 'data'),
      // Reads see every span acknowledged before them: the test reads right after sending.
      readConsistency: 'read-your-writes',
      host: '127.0.0.1',
      apiPort: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
      zipkinPort: await freePort(),
      jaegerPort: await freePort(),
      tempoPort: await freePort(),
      ingestTokenFile: ingestFile,
      queryTokenFile: join(dir, 'query-tokens'),
      tokenWatchIntervalMs: 0,
      logger,
    });
    ({ zipkin, jaeger, tempo } = server.compatUrls);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const traces = '/v1/traces';

  it('OTLP/HTTP protobuf and JSON exporters with either token of the file: spans stored', async () => {
    for (const [name, token, Exporter] of [
      ['proto', INGEST_A, ProtoExporter],
      ['json', INGEST_B, JsonExporter],
    ] as const) {
      const { traceId, spans } = await makeSpans(`svc-${name}`);
      const result = await exportWith(
        new Exporter({ url: `${server.otlpHttpUrl}${traces}`, headers: { Authorization: `Bearer ${token}` } }),
        spans,
      );
      assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
      assert.equal(await storedTrace(server, traceId), 200, name);
    }
  });

  it('OTLP/HTTP exporters without a token, or with a wrong one: 401, nothing stored', async () => {
    for (const [name, headers, Exporter] of [
      ['proto, no token', {}, ProtoExporter],
      ['json, no token', {}, JsonExporter],
      ['proto, query token', bearer(QUERY), ProtoExporter],
      ['json, wrong token', bearer('not-the-token-0123456789'), JsonExporter],
    ] as const) {
      const { traceId, spans } = await makeSpans(`refused-${name}`);
      const result = await exportWith(new Exporter({ url: `${server.otlpHttpUrl}${traces}`, headers }), spans);
      assert.equal(result.code, ExportResultCode.FAILED, name);
      assert.equal(result.error?.code, 401, `${name}: ${result.error?.message}`);
      assert.equal(await storedTrace(server, traceId), 404, name);
    }
  });

  it('the 401 of OTLP/HTTP is a google.rpc.Status (JSON for JSON) with WWW-Authenticate', async () => {
    const answer = await request(`${server.otlpHttpUrl}${traces}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceSpans":[]}',
    });
    assert.equal(answer.status, 401);
    assert.equal(answer.headers['www-authenticate'], 'Bearer realm="ariadne-ingest"');
    const status = JSON.parse(answer.body) as { code: number; message: string };
    assert.equal(status.code, 16);
    assert.match(status.message, /an ingest token is required: send Authorization: Bearer <token>/);
  });

  it('OTLP/gRPC exporter: the token in metadata is accepted; none or a wrong one is UNAUTHENTICATED', async () => {
    const { traceId, spans } = await makeSpans('svc-grpc');
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${INGEST_B}`);
    const ok = await exportWith(new GrpcExporter({ url: server.otlpGrpcUrl, metadata }), spans);
    assert.equal(ok.code, ExportResultCode.SUCCESS, ok.error?.message);
    assert.equal(await storedTrace(server, traceId), 200);

    for (const token of [undefined, QUERY]) {
      const refused = await makeSpans(`refused-grpc-${token ?? 'none'}`);
      const md = new grpc.Metadata();
      if (token) md.set('authorization', `Bearer ${token}`);
      const result = await exportWith(new GrpcExporter({ url: server.otlpGrpcUrl, metadata: md }), refused.spans);
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.equal(result.error?.code, grpc.status.UNAUTHENTICATED, result.error?.message);
      assert.match(result.error?.message ?? '', /ingest token/);
      assert.equal(await storedTrace(server, refused.traceId), 404);
    }
  });

  it('OTEL_EXPORTER_OTLP_HEADERS, as an operator configures exporters, carries the token (HTTP and gRPC)', async () => {
    const saved = process.env.OTEL_EXPORTER_OTLP_HEADERS;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = `Authorization=Bearer%20${INGEST_A}`;
    try {
      const viaHttp = await makeSpans('svc-env-http');
      const httpResult = await exportWith(new ProtoExporter({ url: `${server.otlpHttpUrl}${traces}` }), viaHttp.spans);
      assert.equal(httpResult.code, ExportResultCode.SUCCESS, httpResult.error?.message);
      const viaGrpc = await makeSpans('svc-env-grpc');
      const grpcResult = await exportWith(new GrpcExporter({ url: server.otlpGrpcUrl }), viaGrpc.spans);
      assert.equal(grpcResult.code, ExportResultCode.SUCCESS, grpcResult.error?.message);
      assert.equal(await storedTrace(server, viaHttp.traceId), 200);
      assert.equal(await storedTrace(server, viaGrpc.traceId), 200);
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
      else process.env.OTEL_EXPORTER_OTLP_HEADERS = saved;
    }
  });

  it('the query API: 401 without the query token (an ingest token is not one), 200 with it', async () => {
    assertUnauthorized(await request(`${server.apiUrl}/api/v1/services`), 'query', false);
    assertUnauthorized(await request(`${server.apiUrl}/api/v1/services`, { headers: bearer(INGEST_A) }), 'query', true);
    const ok = await request(`${server.apiUrl}/api/v1/services`, { headers: bearer(QUERY) });
    assert.equal(ok.status, 200);
    assert.ok((JSON.parse(ok.body) as { services: string[] }).services.includes('svc-proto'));
  });

  it('`ariadne search` sends ARIADNE_TOKEN, and without it says what to set', async () => {
    const run = async () => {
      const out: string[] = [];
      const err: string[] = [];
      const sink = (into: string[]) =>
        new Writable({
          write(chunk, _encoding, done) {
            into.push(String(chunk));
            done();
          },
        });
      const code = await cli(['search', '--service', 'svc-proto', '--api', server.apiUrl], {
        stdout: sink(out),
        stderr: sink(err),
      });
      return { code, stdout: out.join(''), stderr: err.join('') };
    };
    const saved = process.env.ARIADNE_TOKEN;
    try {
      delete process.env.ARIADNE_TOKEN;
      const refused = await run();
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /a query token is required.*set ARIADNE_TOKEN/);
      process.env.ARIADNE_TOKEN = QUERY;
      const found = await run();
      assert.equal(found.code, 0, found.stderr);
      assert.match(found.stdout, /svc-proto/);
    } finally {
      if (saved === undefined) delete process.env.ARIADNE_TOKEN;
      else process.env.ARIADNE_TOKEN = saved;
    }
  });

  it('health stays open; /metrics needs the query token', async () => {
    assert.equal((await request(`${server.apiUrl}/healthz`)).status, 200);
    assert.equal((await request(`${server.apiUrl}/readyz`)).status, 200);
    assertUnauthorized(await request(`${server.apiUrl}/metrics`), 'query', false);
    assert.equal((await request(`${server.apiUrl}/metrics`, { headers: bearer(QUERY) })).status, 200);
  });

  it('a browser opening a page without a session is sent to the login page, and back after it', async () => {
    const page = await request(`${server.apiUrl}/trace/abc?span=1`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, `/login?next=${encodeURIComponent('/trace/abc?span=1')}`);
    const wrong = await request(`${server.apiUrl}/login?next=%2Ftrace%2Fabc`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${INGEST_A}`,
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['set-cookie'], undefined);
    assert.ok(!lines.some((l) => JSON.stringify(l).includes(INGEST_A)), 'a token was logged');
    const right = await request(`${server.apiUrl}/login?next=%2Ftrace%2Fabc`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${encodeURIComponent(QUERY)}`,
    });
    assert.equal(right.status, 303);
    assert.equal(right.headers.location, '/trace/abc');
    const cookie = right.headers['set-cookie']?.[0] ?? '';
    assert.match(cookie, /^ariadne_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Strict$/);
    assert.ok(!cookie.includes(QUERY));
    const session = cookie.split(';')[0];
    const api = await request(`${server.apiUrl}/api/v1/services`, { headers: { cookie: session } });
    assert.equal(api.status, 200);
    assertUnauthorized(
      await request(`${server.apiUrl}/api/v1/services`, { headers: { cookie: 'ariadne_session=forged' } }),
      'query',
      true,
    );
    const logout = await request(`${server.apiUrl}/logout`, { method: 'POST', headers: { cookie: session } });
    assert.equal(logout.status, 303);
    assert.match(logout.headers['set-cookie']?.[0] ?? '', /^ariadne_session=; Path=\/; Max-Age=0;/);
  });

  it('JSON login: 204 with the cookie, or 401', async () => {
    const ok = await request(`${server.apiUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: QUERY }),
    });
    assert.equal(ok.status, 204);
    assert.match(ok.headers['set-cookie']?.[0] ?? '', /^ariadne_session=/);
    const refused = await request(`${server.apiUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: INGEST_B }),
    });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['set-cookie'], undefined);
  });

  it('security headers on API answers, errors and refusals', async () => {
    for (const answer of [
      await request(`${server.apiUrl}/api/v1/services`, { headers: bearer(QUERY) }),
      await request(`${server.apiUrl}/api/v1/nothing-here`, { headers: bearer(QUERY) }),
      await request(`${server.apiUrl}/api/v1/services`),
      await request(`${server.apiUrl}/healthz`),
      await request(`${server.apiUrl}/login`),
      await request(`${tempo}/api/echo`, { headers: bearer(QUERY) }),
    ]) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(answer.headers[name], value, name);
    }
    assert.match(SECURITY_HEADERS['content-security-policy'], /script-src 'self'(;|$)/);
  });

  it('Zipkin: POST spans takes ingest tokens, reads take query tokens', async () => {
    const span = [
      {
        traceId: 'a1'.repeat(16),
        id: 'b2'.repeat(8),
        name: 'zipkin op',
        timestamp: Date.now() * 1000,
        duration: 5,
        localEndpoint: { serviceName: 'zipkin-svc' },
      },
    ];
    const post = (headers: Record<string, string>) =>
      request(`${zipkin}/api/v2/spans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(span),
      });
    assertUnauthorized(await post({}), 'ingest', false);
    assertUnauthorized(await post(bearer(QUERY)), 'ingest', true);
    assert.equal((await post(bearer(INGEST_A))).status, 202);
    // Converted on the prepare worker: an unreadable body is still Zipkin's 400, with the reason.
    const unreadable = await request(`${zipkin}/api/v2/spans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(INGEST_A) },
      body: '[{"traceId": ',
    });
    assert.equal(unreadable.status, 400);
    assert.match(unreadable.body, /cannot parse the body as JSON/);
    assertUnauthorized(await request(`${zipkin}/api/v2/services`), 'query', false);
    assertUnauthorized(await request(`${zipkin}/api/v2/services`, { headers: bearer(INGEST_A) }), 'query', true);
    const services = await request(`${zipkin}/api/v2/services`, { headers: bearer(QUERY) });
    assert.equal(services.status, 200);
    assert.ok((JSON.parse(services.body) as string[]).includes('zipkin-svc'));
  });

  it('Zipkin: a client on another origin (zipkin-lens served elsewhere) reads with the query token', async () => {
    const origin = { origin: 'http://lens.example:8080' };
    // The browser's preflight: the token's header must be allowed by name, without a token.
    const preflight = await request(`${zipkin}/zipkin/api/v2/services`, {
      method: 'OPTIONS',
      headers: { ...origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(preflight.status, 204, preflight.body);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    assert.match(String(preflight.headers['access-control-allow-methods']), /\bGET\b/);
    const allowed = String(preflight.headers['access-control-allow-headers'])
      .toLowerCase()
      .split(/\s*,\s*/);
    assert.ok(allowed.includes('authorization'), `allowed headers: ${allowed}`);
    // The request itself, readable by the page (any origin), and its refusal without the token too.
    const services = await request(`${zipkin}/zipkin/api/v2/services`, { headers: { ...origin, ...bearer(QUERY) } });
    assert.equal(services.status, 200, services.body);
    assert.equal(services.headers['access-control-allow-origin'], '*');
    assert.ok(Array.isArray(JSON.parse(services.body)));
    const refused = await request(`${zipkin}/zipkin/api/v2/services`, { headers: origin });
    assertUnauthorized(refused, 'query', false);
    assert.equal(refused.headers['access-control-allow-origin'], '*');
  });

  it('Jaeger and Tempo reads take query tokens', async () => {
    for (const url of [`${jaeger}/api/services`, `${tempo}/api/search/tags`]) {
      assertUnauthorized(await request(url), 'query', false);
      assert.equal((await request(url, { headers: bearer(QUERY) })).status, 200, url);
    }
  });

  it('reload (SIGHUP) applies a rotated token file; a broken file keeps the tokens', async () => {
    const { traceId, spans } = await makeSpans('svc-rotated');
    writeFileSync(ingestFile, `${INGEST_B}\n`);
    await server.reload();
    const old = await exportWith(
      new ProtoExporter({ url: `${server.otlpHttpUrl}${traces}`, headers: bearer(INGEST_A) }),
      spans,
    );
    assert.equal(old.error?.code, 401);
    writeFileSync(ingestFile, 'short\n');
    await server.reload();
    assert.ok(lines.some((l) => l.msg === 'ingest token file not reloaded: the tokens loaded before still apply'));
    const current = await exportWith(
      new ProtoExporter({ url: `${server.otlpHttpUrl}${traces}`, headers: bearer(INGEST_B) }),
      spans,
    );
    assert.equal(current.code, ExportResultCode.SUCCESS, current.error?.message);
    assert.equal(await storedTrace(server, traceId), 200);
    assert.ok(!lines.some((l) => JSON.stringify(l).includes('short')), 'a token was logged');
  });
});

describe('ariadne serve without tokens (the default) is open, with security headers', () => {
  let dir: string;
  let server: RunningServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-open-'));
    server = await startServer({
      dataDir: dir,
      readConsistency: 'read-your-writes',
      host: '127.0.0.1',
      apiPort: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
    });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes spans and answers queries with no token; /login is not there', async () => {
    const { traceId, spans } = await makeSpans('svc-open');
    const result = await exportWith(new GrpcExporter({ url: server.otlpGrpcUrl }), spans);
    assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
    const answer = await request(`${server.apiUrl}/api/v1/traces/${traceId}`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-frame-options'], 'DENY');
    assert.equal((await request(`${server.apiUrl}/login`, { method: 'POST' })).status, 404);
  });
});

const opensslMissing = spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed';

describe('every listener over TLS', { skip: opensslMissing }, () => {
  let dir: string;
  let server: RunningServer;
  let ca: Buffer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-tls-'));
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(made.status, 0, made.stderr);
    ca = readFileSync(join(dir, 'cert.pem'));
    writeFileSync(join(dir, 'ingest'), `${INGEST_A}\n`);
    writeFileSync(join(dir, 'query'), `${QUERY}\n`);
    server = await startServer({
      dataDir: join(dir, 'data'),
      // Reads see every span acknowledged before them: the test reads right after sending.
      readConsistency: 'read-your-writes',
      host: '127.0.0.1',
      apiPort: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
      tempoPort: await freePort(),
      ingestTokenFile: join(dir, 'ingest'),
      queryTokenFile: join(dir, 'query'),
      tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
    });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the URLs are https', () => {
    assert.match(server.apiUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(server.otlpHttpUrl, /^https:/);
    assert.match(server.otlpGrpcUrl, /^https:/);
    assert.match(server.compatUrls.tempo, /^https:/);
  });

  it('OTLP/HTTP (protobuf, JSON) and OTLP/gRPC exporters trusting the CA deliver with the token', async () => {
    const grpcMetadata = new grpc.Metadata();
    grpcMetadata.set('authorization', `Bearer ${INGEST_A}`);
    const exporters: [string, SpanExporter][] = [
      [
        'proto',
        new ProtoExporter({
          url: `${server.otlpHttpUrl}/v1/traces`,
          headers: bearer(INGEST_A),
          httpAgentOptions: { ca },
        }),
      ],
      [
        'json',
        new JsonExporter({
          url: `${server.otlpHttpUrl}/v1/traces`,
          headers: bearer(INGEST_A),
          httpAgentOptions: { ca },
        }),
      ],
      [
        'grpc',
        new GrpcExporter({
          url: server.otlpGrpcUrl,
          metadata: grpcMetadata,
          credentials: grpc.credentials.createSsl(ca),
        }),
      ],
    ];
    for (const [name, exporter] of exporters) {
      const { traceId, spans } = await makeSpans(`tls-${name}`);
      const result = await exportWith(exporter, spans);
      assert.equal(result.code, ExportResultCode.SUCCESS, `${name}: ${result.error?.message}`);
      assert.equal(await storedTrace(server, traceId, ca), 200, name);
    }
    const refused = await makeSpans('tls-refused');
    const result = await exportWith(
      new GrpcExporter({ url: server.otlpGrpcUrl, credentials: grpc.credentials.createSsl(ca) }),
      refused.spans,
    );
    assert.equal(result.error?.code, grpc.status.UNAUTHENTICATED);
  });

  it('a plain-HTTP client gets no answer from a TLS listener', async () => {
    await assert.rejects(request(server.apiUrl.replace('https:', 'http:')));
  });

  it('the query API and Tempo over HTTPS; the session cookie is Secure', async () => {
    assert.equal((await request(`${server.apiUrl}/api/v1/services`, { ca })).status, 401);
    assert.equal((await request(`${server.apiUrl}/api/v1/services`, { headers: bearer(QUERY), ca })).status, 200);
    assert.equal((await request(`${server.compatUrls.tempo}/api/echo`, { headers: bearer(QUERY), ca })).status, 200);
    const login = await request(`${server.apiUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: QUERY }),
      ca,
    });
    assert.equal(login.status, 204);
    assert.match(login.headers['set-cookie']?.[0] ?? '', /; HttpOnly; SameSite=Strict; Secure$/);
  });

  it('a key that does not match the certificate fails the start with both file names', async () => {
    const other = spawnSync('openssl', ['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'], {
      encoding: 'utf8',
    });
    writeFileSync(join(dir, 'other-key.pem'), other.stdout);
    await assert.rejects(
      startServer({
        dataDir: join(dir, 'data-2'),
        // Reads see every span acknowledged before them: the test reads right after sending.
        readConsistency: 'read-your-writes',
        host: '127.0.0.1',
        apiPort: 0,
        otlpHttpPort: 0,
        otlpGrpcPort: 0,
        tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'other-key.pem') },
      }),
      /the TLS certificate .*cert\.pem and key .*other-key\.pem do not load together/,
    );
  });
});

if (opensslMissing && process.env.CI === 'true') {
  it('openssl is installed (required when CI=true)', () => {
    assert.fail(opensslMissing);
  });
}
