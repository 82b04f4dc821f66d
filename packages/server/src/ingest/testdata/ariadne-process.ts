/**
 * Test support for the crash suites: `ariadne serve` as a real process (the command's bin, run by
 * this Node), senders of OTLP/HTTP protobuf requests whose every span is known, and readers that
 * check what came back through the query API.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { ExportTraceServiceRequest } from '../otlp-proto-schema.ts';

const BIN = new URL('../../../bin/ariadne.mjs', import.meta.url).pathname;

/** A running (or exited) `ariadne serve`. */
export interface ServeChild {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once it exited. */
  readonly exited: Promise<number | string>;
}

/** Spawns `ariadne serve --data dataDir` with free ports unless `args` name them. */
export function spawnServe(dataDir: string, args: readonly string[] = []): ServeChild {
  const ports = ['--api-port', '--otlp-http-port', '--otlp-grpc-port'].flatMap((flag) =>
    args.includes(flag) ? [] : [flag, '0'],
  );
  // The compatible APIs stay off unless asked for: their standard ports would collide between
  // servers running side by side.
  for (const flag of ['--zipkin-port', '--jaeger-port', '--tempo-port'])
    if (!args.includes(flag)) ports.push(flag, '0');
  // The suites send spans and read them back at once.
  if (!args.includes('--read-consistency')) ports.push('--read-consistency', 'read-your-writes');
  return spawnWatched([BIN, 'serve', '--data', dataDir, ...ports, ...args]);
}

/** Flags that turn the compatible APIs (Zipkin, Jaeger, Tempo) off, for servers started side by side. */
export const COMPAT_OFF: readonly string[] = ['--zipkin-port', '0', '--jaeger-port', '0', '--tempo-port', '0'];

/** Runs Node with `args`, keeping everything it writes to stdout and stderr. */
function spawnWatched(args: readonly string[]): ServeChild {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const keep = (c: Buffer) => {
    text += c.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { child, output: () => text, exited };
}

/** Addresses a started server printed. */
export interface ServeUrls {
  readonly api: string;
  readonly otlpHttp: string;
}

/** Waits (bounded) until the server printed its addresses; throws with its output if it exited. */
export async function listening(serve: ServeChild, timeoutMs = 60_000): Promise<ServeUrls> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const text = serve.output();
    const api = /query API\s+(\S+)/.exec(text);
    const otlp = /OTLP\/HTTP\s+(\S+)\/v1\/traces/.exec(text);
    if (api && otlp) return { api: api[1], otlpHttp: otlp[1] };
    if (serve.child.exitCode !== null || serve.child.signalCode !== null)
      throw new Error(`ariadne serve exited before listening:\n${text}`);
    if (Date.now() > deadline) throw new Error(`ariadne serve did not start in ${timeoutMs} ms:\n${text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const STALLED = new URL('./serve-without-drain.ts', import.meta.url).pathname;

/**
 * Starts the real server whose store never commits (serve-without-drain.ts): acknowledged spans
 * stay in the ingest log until the test kills it.
 */
export async function startStalledServe(dataDir: string): Promise<{ serve: ServeChild; urls: ServeUrls }> {
  const serve = spawnWatched(['--import', 'tsx', STALLED, dataDir]);
  const deadline = Date.now() + 60_000;
  while (true) {
    const line = /^(\{.*\})$/m.exec(serve.output());
    if (line) {
      const urls = JSON.parse(line[1]) as { otlpHttp: string; api: string };
      return { serve, urls: { api: urls.api, otlpHttp: urls.otlpHttp } };
    }
    if (serve.child.exitCode !== null || Date.now() > deadline) {
      await killServe(serve);
      throw new Error(`the stalled server did not start:\n${serve.output()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a server and waits until it listens. */
export async function startServe(dataDir: string, args: readonly string[] = []) {
  const serve = spawnServe(dataDir, args);
  try {
    return { serve, urls: await listening(serve) };
  } catch (error) {
    await killServe(serve);
    throw error;
  }
}

export async function killServe(serve: ServeChild): Promise<void> {
  if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
  await serve.exited;
}

/** SIGTERM, then the exit code (0 for a clean stop). */
export async function stopServe(serve: ServeChild): Promise<number | string> {
  serve.child.kill('SIGTERM');
  return serve.exited;
}

/** Polls `url` until it answers 200 (bounded). */
export async function waitForOk(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 in ${timeoutMs} ms (last ${status})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls `/healthz` until no acknowledged span waits for the store (bounded). */
export async function waitForDrained(api: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const health = (await (await fetch(`${api}/healthz`)).json()) as { ingest?: { pendingSpans: number } };
    if (health.ingest?.pendingSpans === 0) return;
    if (Date.now() > deadline) throw new Error(`still ${health.ingest?.pendingSpans} pending spans`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');

/** Trace id of request `n` of a test run (`tag` keeps runs apart). */
export const requestTraceId = (tag: number, n: number) => `c0de${hex(tag, 2)}${hex(n, 12)}`;

/** An OTLP protobuf request: `spans` spans of one trace, a root and its children. */
export function traceRequest(tag: number, n: number, spans: number, service = 'crash-cycle'): Buffer {
  const traceId = Buffer.from(requestTraceId(tag, n), 'hex');
  const base = 1_700_000_000_000_000_000n + BigInt(n) * 1_000_000n;
  const request = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            spans: Array.from({ length: spans }, (_, i) => ({
              traceId,
              spanId: Buffer.from(hex(n * 100_000 + i + 1, 8), 'hex'),
              parentSpanId: i === 0 ? undefined : Buffer.from(hex(n * 100_000 + 1, 8), 'hex'),
              name: i === 0 ? 'root' : `child-${i % 7}`,
              startTimeUnixNano: (base + BigInt(i)).toString(),
              endTimeUnixNano: (base + BigInt(i) + 500n).toString(),
              attributes: [{ key: 'request.n', value: { intValue: n } }],
            })),
          },
        ],
      },
    ],
  };
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish());
}

export async function postTraces(otlpHttp: string, body: Buffer): Promise<number> {
  const response = await fetch(`${otlpHttp}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: new Uint8Array(body),
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * `senders` concurrent loops post one-trace requests of `spans` spans until `until()` says stop
 * (or `maxRequests` were sent); returns the request numbers the server acknowledged (200).
 */
export async function sendLoad(options: {
  readonly otlpHttp: string;
  readonly tag: number;
  readonly spans: number;
  readonly senders: number;
  readonly maxRequests: number;
  readonly until: () => boolean;
  /** Filled as acknowledgements arrive (default: a new set). */
  readonly acked?: Set<number>;
  /** Called after each acknowledgement with how many there are. */
  readonly onAck?: (count: number) => void;
}): Promise<Set<number>> {
  const acked = options.acked ?? new Set<number>();
  let next = 0;
  const sender = async () => {
    while (next < options.maxRequests && !options.until()) {
      const n = next++;
      try {
        if ((await postTraces(options.otlpHttp, traceRequest(options.tag, n, options.spans))) === 200) {
          acked.add(n);
          options.onAck?.(acked.size);
        }
      } catch {
        return; // the server is gone
      }
    }
  };
  await Promise.all(Array.from({ length: options.senders }, sender));
  return acked;
}

/** Span count of a trace read through the API (0 for 404); fails on any other answer. */
export async function storedSpans(api: string, traceId: string): Promise<number> {
  const response = await fetch(`${api}/api/v1/traces/${traceId}`);
  if (response.status === 404) return 0;
  const text = await response.text();
  assert.equal(response.status, 200, `GET trace ${traceId}: ${response.status} ${text}`);
  const body = JSON.parse(text) as { spans: { spanId: string }[] };
  assert.equal(new Set(body.spans.map((s) => s.spanId)).size, body.spans.length, `trace ${traceId}: a span twice`);
  return body.spans.length;
}

/** Trace ids a search over all time finds for `service` (up to `limit`). */
export async function searchedTraceIds(api: string, service: string, limit: number): Promise<Set<string>> {
  const response = await fetch(`${api}/api/v1/search?service=${service}&start=0&limit=${limit}`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const body = JSON.parse(text) as { traces: { traceId: string }[] };
  return new Set(body.traces.map((t) => t.traceId));
}

/**
 * Checks through the API that every acknowledged request's trace is whole (by id) and that a
 * search finds it; a request not acknowledged is whole or absent.
 */
export async function assertEveryAcknowledgedTrace(
  api: string,
  options: { readonly tag: number; readonly spans: number; readonly acked: ReadonlySet<number>; readonly sent: number },
): Promise<void> {
  const found = await searchedTraceIds(api, 'crash-cycle', 1000);
  const missing: number[] = [];
  for (let n = 0; n < options.sent; n++) {
    const count = await storedSpans(api, requestTraceId(options.tag, n));
    if (options.acked.has(n)) {
      if (count !== options.spans) missing.push(n);
      assert.ok(found.has(requestTraceId(options.tag, n)), `search finds acknowledged trace ${n}`);
    } else assert.ok(count === 0 || count === options.spans, `request ${n}: whole or not at all (${count})`);
  }
  assert.deepEqual(missing, [], `${missing.length} of ${options.acked.size} acknowledged traces missing or partial`);
}
