/**
 * `npm run bench:overload`: how `ariadne serve` behaves when more spans arrive than it can store
 * (issue 16, item 7). Real OpenTelemetry OTLP/HTTP (protobuf) exporters, with their own retry
 * (Retry-After on 503), send to one server process started with a small queue and memory limit:
 *
 * 1. capacity: `--capacity-senders` exporters export batches back to back for
 *    `--capacity-seconds` (default: as many as the queue holds batches, less one); the spans/s
 *    acknowledged is the capacity (`capacitySaturated` tells
 *    whether the server refused some meanwhile: if not, the senders, not the server, were the
 *    limit, and the figure is low);
 * 2. overload: for `--duration` seconds, new exports start at twice that rate whatever the server
 *    answers (as applications do: their span processors export on a timer), each exporter retrying
 *    as the SDK does; an export that gives up is exported again later (an application would have
 *    lost it: counted as `reexports`), and once the spans stop coming every span still waiting is
 *    delivered;
 * 3. huge requests: a 12 MB protobuf request, one span with a million attributes, a 12 MB
 *    OTLP/JSON request and a 15 MB Zipkin v2 JSON request, one after the other, while a probe
 *    posts small requests (a trace each) and reads traces;
 * 4. at rest: 20 s without requests, then the server's RSS (what the bursts left resident).
 *
 * Reported: capacity, accepted spans/s during overload and its ratio to capacity, the share of
 * requests refused, peak RSS against `--memory-limit`, the largest event-loop stall of the server
 * (its `nodejs_eventloop_lag_max_seconds`, scraped every second), trace-by-id p99 during overload,
 * the probe's slowest answer during each huge request (and how many of its requests were refused
 * meanwhile, as the huge request's spans filled the queue), the server's memory by part (DuckDB's,
 * the main thread's heap and its memory outside the heap, from `/metrics`), and the spans in the store at the end
 * against the spans generated (they must be equal: acknowledged spans are never lost). `--json`
 * prints one JSON object.
 *
 *   npm run bench:overload -- [--duration 60] [--capacity-seconds 10] [--batch 512]
 *                             [--max-pending-spans 5000] [--memory-limit 512MiB] [--json]
 *                             [--capacity SPANS_PER_SECOND]   (instead of measuring it)
 *                             [--malloc-arena-max 2]
 *
 * The server runs with `MALLOC_ARENA_MAX=2` in its environment, as docs/operations.md's service
 * unit and container set it for a tight memory limit (`--malloc-arena-max ''` leaves glibc's
 * default, 8 arenas a core).
 *
 * Twice the capacity on a small machine: the senders (this process) cannot offer twice what a
 * server with every core stores, and the closed-loop capacity phase measures the SDK's retry
 * delays more than the server once the queue refuses. Keep the server on some cores and this
 * process on the others, and give the capacity found with the same pinning (bench:ingest's
 * acknowledged rate, or the accepted rate of a run offered about the capacity):
 *
 *   BENCH_SERVER_CPUS=0 taskset -c 1 npm run bench:overload -- --capacity 55000
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spansToTracesData, spansToZipkin } from '@ariadne/core';
import { DuckDBInstance } from '@duckdb/node-api';
import { context, diag, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { decodeOtlpProtobuf } from '../src/ingest/decode-otlp.ts';
import { ExportTraceServiceRequest } from '../src/ingest/otlp-proto-schema.ts';
import { parseMemorySize } from '../src/store/memory-budget.ts';
import { freePort } from '../src/testdata/compat-server.ts';
import { peakRssBytes, startServeProcess } from './serve-process.ts';

/** Resident set size of a live process now (VmRSS), in bytes. */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

import { generateTrace, makeWorkload, toExportRequest } from './workload.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    'capacity-seconds': { type: 'string', default: '10' },
    'capacity-senders': { type: 'string' },
    capacity: { type: 'string' },
    batch: { type: 'string', default: '512' },
    'max-pending-spans': { type: 'string', default: '5000' },
    'memory-limit': { type: 'string', default: '512MiB' },
    'max-in-flight': { type: 'string', default: '512' },
    'malloc-arena-max': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const DURATION_S = Number(values.duration);
const CAPACITY_S = Number(values['capacity-seconds']);
// As many back-to-back senders as the queue holds batches, less one: the server is kept busy and
// refuses little, so the capacity is the server's, not the retry delays'.
const CAPACITY_SENDERS = Number(
  values['capacity-senders'] ?? Math.max(2, Math.floor(Number(values['max-pending-spans']) / Number(values.batch)) - 1),
);
const BATCH = Number(values.batch);
const MAX_IN_FLIGHT = Number(values['max-in-flight']);
const MEMORY_LIMIT = values['memory-limit'] as string;
const MALLOC_ARENA_MAX = values['malloc-arena-max'] as string;
// The server started below inherits this process's environment.
if (MALLOC_ARENA_MAX === '') delete process.env.MALLOC_ARENA_MAX;
else process.env.MALLOC_ARENA_MAX = MALLOC_ARENA_MAX;
const log = (msg: string) => {
  if (!values.json) process.stderr.write(`${msg}\n`);
};
diag.disable();

/** Spans made by the OpenTelemetry SDK: a root and seven children a trace, a few attributes each. */
class SpanFactory {
  private readonly ended: ReadableSpan[] = [];
  private readonly tracer;
  /** Trace ids generated, a sample of which the query probe reads. */
  readonly traceIds: string[] = [];

  constructor() {
    const collect: SpanProcessor = {
      onStart: () => undefined,
      onEnd: (span) => {
        this.ended.push(span);
      },
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'overload-bench', 'host.name': 'bench' }),
      spanProcessors: [collect],
    });
    this.tracer = provider.getTracer('ariadne-overload-bench', '1.0.0');
  }

  batch(count: number): ReadableSpan[] {
    while (this.ended.length < count) {
      const root = this.tracer.startSpan('GET /orders/:id', {
        attributes: { 'http.method': 'GET', 'http.status': 200 },
      });
      const parent = trace.setSpan(context.active(), root);
      for (let i = 0; i < 7; i++)
        this.tracer
          .startSpan('SELECT orders', { attributes: { 'db.system': 'postgresql', 'db.rows': i } }, parent)
          .end();
      root.end();
      if (this.traceIds.length < 10_000 && Math.random() < 0.05) this.traceIds.push(root.spanContext().traceId);
    }
    return this.ended.splice(0, count);
  }
}

const exportOnce = (exporter: OTLPTraceExporter, spans: ReadableSpan[]) =>
  new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));

/** Counts acknowledged spans by second, to find the rate over a window. */
class Meter {
  accepted = 0;
  exports = 0;
  failedExports = 0;
  private readonly marks: { at: number; accepted: number }[] = [];
  mark(): void {
    this.marks.push({ at: performance.now(), accepted: this.accepted });
  }
  rate(fromMs: number, toMs: number): number {
    const from = this.marks.find((m) => m.at >= fromMs);
    const to = [...this.marks].reverse().find((m) => m.at <= toMs);
    if (!from || !to || to.at <= from.at) return 0;
    return ((to.accepted - from.accepted) * 1000) / (to.at - from.at);
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Where the server's memory is, as it reports it (bytes): DuckDB's, the main thread's V8 heap, and memory outside it. */
interface ServerMemory {
  database: number;
  heap: number;
  external: number;
}

/**
 * The server's counters, its event loop's largest delay since the last scrape, and its memory
 * by part.
 */
async function scrape(
  apiUrl: string,
): Promise<{ lagMax: number; refused: number; requests: number; memory: ServerMemory }> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  return {
    memory: {
      database: gauge('ariadne_database_memory_bytes'),
      heap: gauge('nodejs_heap_size_total_bytes'),
      external: gauge('nodejs_external_memory_bytes'),
    },
    lagMax: Number(/^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text)?.[1] ?? 0),
    refused: sum(/^ariadne_ingest_requests_refused_total\{[^}]*protocol="otlp_http"[^}]*\} (\S+)/gm),
    requests: sum(/^ariadne_request_duration_seconds_count\{[^}]*protocol="otlp_http"[^}]*\} (\S+)/gm),
  };
}

/** Posts a raw body to the OTLP/HTTP receiver; resolves with the status (503 for a reset connection). */
function post(url: string, body: Buffer, contentType = 'application/x-protobuf'): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': contentType } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 503));
    });
    req.on('error', () => resolve(503));
    req.end(body);
  });
}

/** An OTLP/HTTP protobuf body of a request in protobufjs's object form. */
const encode = (request: Record<string, unknown>) =>
  Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish());

/**
 * The huge requests: ~12 MB of ordinary spans in protobuf, one span with a million attributes,
 * ~12 MB of ordinary spans in OTLP/JSON, and ~15 MB of them in Zipkin v2 JSON (to the Zipkin port).
 */
function hugeRequests(
  otlpUrl: string,
  zipkinUrl: string,
): { name: string; url: string; body: Buffer; spans: number; contentType?: string }[] {
  const w = makeWorkload(7);
  let spans: ReturnType<typeof generateTrace> = [];
  while (spans.length < 19_000) spans = spans.concat(generateTrace(w, Date.now()));
  const big = encode(toExportRequest(spans));
  const attributes = Array.from({ length: 1_000_000 }, (_, i) => ({ key: `k${i}`, value: { stringValue: 'v' } }));
  const wide = encode(toExportRequest([{ ...spans[0], span: { ...spans[0].span, attributes } }]));
  const v = makeWorkload(11);
  let jsonSpans: ReturnType<typeof generateTrace> = [];
  while (jsonSpans.length < 7_800) jsonSpans = jsonSpans.concat(generateTrace(v, Date.now()));
  const json = Buffer.from(
    JSON.stringify(spansToTracesData(decodeOtlpProtobuf(encode(toExportRequest(jsonSpans))).spans)),
  );
  const z = makeWorkload(17);
  let zipkinSpans: ReturnType<typeof generateTrace> = [];
  while (zipkinSpans.length < 15_000) zipkinSpans = zipkinSpans.concat(generateTrace(z, Date.now()));
  const zipkin = Buffer.from(
    JSON.stringify(spansToZipkin(decodeOtlpProtobuf(encode(toExportRequest(zipkinSpans))).spans)),
  );
  return [
    { name: '12 MB request', url: otlpUrl, body: big, spans: spans.length },
    { name: 'span with 1M attributes', url: otlpUrl, body: wide, spans: 1 },
    {
      name: `${(json.length / 1e6).toFixed(1)} MB OTLP/JSON request`,
      url: otlpUrl,
      body: json,
      spans: jsonSpans.length,
      contentType: 'application/json',
    },
    {
      name: `${(zipkin.length / 1e6).toFixed(1)} MB Zipkin request`,
      url: `${zipkinUrl}/api/v2/spans`,
      body: zipkin,
      spans: zipkinSpans.length,
      contentType: 'application/json',
    },
  ];
}

async function main() {
  const memoryLimitBytes = parseMemorySize(MEMORY_LIMIT) ?? 0;
  const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-bench-overload-'));
  // Port 0 turns the Zipkin listener off: a free one.
  const zipkinPort = await freePort();
  const zipkinUrl = `http://127.0.0.1:${zipkinPort}`;
  const { child, otlpUrl, apiUrl } = await startServeProcess(dataDir, [
    '--zipkin-port',
    String(zipkinPort),
    '--max-pending-spans',
    String(values['max-pending-spans']),
    '--memory-limit',
    MEMORY_LIMIT,
  ]);
  process.on('exit', () => child.kill('SIGKILL'));
  const pid = child.pid as number;
  log(
    `server pid ${pid} at ${otlpUrl} (--max-pending-spans ${values['max-pending-spans']} --memory-limit ${MEMORY_LIMIT})`,
  );

  // Every second: the server's largest event-loop delay, RSS, and the acknowledged count.
  const meter = new Meter();
  type Phase = 'capacity' | 'overload' | 'drain' | 'huge';
  let phase: Phase = 'capacity';
  const lagMax: Record<Phase, number> = { capacity: 0, overload: 0, drain: 0, huge: 0 };
  const rssMax: Record<Phase, number> = { capacity: 0, overload: 0, drain: 0, huge: 0 };
  const memoryMax: ServerMemory = { database: 0, heap: 0, external: 0 };
  // The first scrape covers the start (opening the store), not a phase.
  await scrape(apiUrl);
  const sample = async () => {
    const at = phase;
    rssMax[at] = Math.max(rssMax[at], rssBytes(pid));
    const s = await scrape(apiUrl).catch(() => undefined);
    if (!s) return;
    lagMax[at] = Math.max(lagMax[at], s.lagMax);
    for (const part of ['database', 'heap', 'external'] as const) {
      memoryMax[part] = Math.max(memoryMax[part], s.memory[part]);
    }
  };
  const sampler = setInterval(() => {
    meter.mark();
    void sample();
  }, 1_000);
  const factory = new SpanFactory();
  let generated = 0;
  const newExporter = () =>
    new OTLPTraceExporter({ url: otlpUrl, concurrencyLimit: MAX_IN_FLIGHT, timeoutMillis: 10_000 });

  // 1. Capacity: closed loop, back to back.
  log(`capacity: ${CAPACITY_SENDERS} exporters back to back for ${CAPACITY_S} s...`);
  const capacityExporters = Array.from({ length: CAPACITY_SENDERS }, newExporter);
  const capacityStart = performance.now();
  meter.mark();
  await Promise.all(
    capacityExporters.map(async (exporter) => {
      while (performance.now() - capacityStart < CAPACITY_S * 1000) {
        const spans = factory.batch(BATCH);
        generated += spans.length;
        let result = await exportOnce(exporter, spans);
        while (result.code !== ExportResultCode.SUCCESS) result = await exportOnce(exporter, spans);
        meter.accepted += spans.length;
      }
    }),
  );
  const measuredCapacity = (meter.accepted * 1000) / (performance.now() - capacityStart);
  log(`capacity ${Math.round(measuredCapacity)} spans/s (closed loop)`);
  // Closed-loop senders on a busy machine measure their own limit as much as the server's:
  // `--capacity` (e.g. bench:ingest's figure) overrides it.
  const capacity = values.capacity === undefined ? measuredCapacity : Number(values.capacity);

  const capacityRefused = (await scrape(apiUrl)).refused;
  // 2. Overload: exports start at twice the capacity, open loop, each with the SDK's retry.
  await sample();
  phase = 'overload';
  const before = await scrape(apiUrl);
  const exporters = Array.from({ length: 16 }, newExporter);
  const exportsPerSecond = (2 * capacity) / BATCH;
  log(
    `overload: ${Math.round(2 * capacity)} spans/s offered (${exportsPerSecond.toFixed(1)} exports/s) for ${DURATION_S} s...`,
  );
  let waiting = 0; // batches due but not started (more than --max-in-flight exports outstanding)
  let inFlight = 0;
  let reexports = 0;
  const outstanding = new Set<Promise<void>>();
  const startExport = (spans: ReadableSpan[], n: number) => {
    inFlight++;
    const exporter = exporters[n % exporters.length];
    const done = (async () => {
      let result = await exportOnce(exporter, spans);
      // The SDK gave up (its retries or its timeout ran out): an application would have lost
      // these spans; the bench exports them again so that in the end every span is delivered.
      while (result.code !== ExportResultCode.SUCCESS) {
        reexports++;
        meter.failedExports++;
        await new Promise((r) => setTimeout(r, 1_000));
        result = await exportOnce(exporter, spans);
      }
      meter.accepted += spans.length;
      meter.exports++;
    })().finally(() => {
      inFlight--;
      outstanding.delete(done);
    });
    outstanding.add(done);
  };
  const overloadStart = performance.now();
  let due = 0;
  let started = 0;
  const queries: number[] = [];
  let querying = true;
  const queryLoop = (async () => {
    while (querying) {
      const ids = factory.traceIds;
      const id = ids[Math.floor(Math.random() * ids.length)];
      if (id) {
        const t = performance.now();
        const response = await fetch(`${apiUrl}/api/v1/traces/${id}`);
        await response.arrayBuffer();
        queries.push(performance.now() - t);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  while (performance.now() - overloadStart < DURATION_S * 1000) {
    due = Math.floor(((performance.now() - overloadStart) / 1000) * exportsPerSecond);
    while (started < due) {
      if (inFlight >= MAX_IN_FLIGHT) {
        waiting = due - started;
        break;
      }
      const spans = factory.batch(BATCH);
      generated += spans.length;
      startExport(spans, started++);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const overloadEnd = performance.now();
  const during = await scrape(apiUrl);
  await sample();
  phase = 'drain';
  const offered = due * BATCH;
  const accepted = meter.rate(overloadStart + 2_000, overloadEnd);
  querying = false;
  await queryLoop;
  log(
    `overload: ${Math.round(accepted)} spans/s accepted (${Math.round((100 * accepted) / capacity)} % of capacity); ${inFlight} exports outstanding, ${waiting} not started`,
  );

  // Deliver what is left: every due batch, then wait for all.
  log('draining: every span generated is delivered...');
  while (started < due) {
    if (inFlight >= MAX_IN_FLIGHT) {
      await Promise.race(outstanding);
      continue;
    }
    const spans = factory.batch(BATCH);
    generated += spans.length;
    startExport(spans, started++);
  }
  while (outstanding.size > 0) await Promise.all([...outstanding]);
  const drained = performance.now();
  log(`drained in ${((drained - overloadEnd) / 1000).toFixed(1)} s`);

  // 3. Huge requests, while a probe exports small batches and reads traces. The bodies are built
  // first: building them takes this process seconds, which the probe would count as the server's.
  const hugeBodies = hugeRequests(otlpUrl, zipkinUrl);
  await sample();
  phase = 'huge';
  // The probe posts small requests itself (one trace each, one attempt at a time), so that each
  // answer's time is the server's, not an exporter's retries.
  const probeWorkload = makeWorkload(13);
  // Each answer the probe got (an export attempt, refused or not, or a query), with when it ran.
  interface Answer {
    readonly start: number;
    readonly end: number;
    readonly refused: boolean;
  }
  const probe: Answer[] = [];
  const probeQueries: Answer[] = [];
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const spans = generateTrace(probeWorkload, Date.now());
      const body = encode(toExportRequest(spans));
      generated += spans.length;
      while (true) {
        const start = performance.now();
        const status = await post(otlpUrl, body);
        probe.push({ start, end: performance.now(), refused: status !== 200 });
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const id = Buffer.from(spans[0].span.traceId as Uint8Array).toString('hex');
      const start = performance.now();
      await (await fetch(`${apiUrl}/api/v1/traces/${id}`)).arrayBuffer();
      probeQueries.push({ start, end: performance.now(), refused: false });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const sent: { name: string; status: number; start: number; end: number; rssBeforeMiB: number; rssPeakMiB: number }[] =
    [];
  for (const h of hugeBodies) {
    const start = performance.now();
    // The server's resident memory before and, sampled every 20 ms, at its highest while this
    // request is taken and for a second after (its spans being written).
    const rssBefore = rssBytes(pid);
    let rssPeak = rssBefore;
    const rssSampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssBytes(pid));
    }, 20);
    let status = await post(h.url, h.body, h.contentType);
    while (status === 503) {
      await new Promise((r) => setTimeout(r, 1_000));
      status = await post(h.url, h.body, h.contentType);
    }
    // Zipkin answers 202.
    if (status === 200 || status === 202) generated += h.spans;
    const end = performance.now();
    await new Promise((r) => setTimeout(r, 1_000));
    clearInterval(rssSampler);
    const mib = (bytes: number) => Math.round(bytes / 1024 ** 2);
    sent.push({ name: h.name, status, start, end, rssBeforeMiB: mib(rssBefore), rssPeakMiB: mib(rssPeak) });
    log(`${h.name}: ${status} in ${Math.round(performance.now() - start)} ms`);
  }
  await new Promise((r) => setTimeout(r, 3_000));
  probing = false;
  await probeLoop;
  // Per huge request: the probe's slowest answers while it was being sent, and how many of its
  // exports were refused (503: the queue was full of the huge request's spans) meanwhile.
  const overlapping = (answers: Answer[], h: { start: number; end: number }) =>
    answers.filter((a) => a.start < h.end && a.end > h.start);
  const slowest = (answers: Answer[]) => Math.round(Math.max(0, ...answers.map((a) => a.end - a.start)));
  const huge = sent.map((h) => ({
    name: h.name,
    status: h.status,
    ms: Math.round(h.end - h.start),
    probeExportMaxMs: slowest(overlapping(probe, h)),
    probeExportsRefused: overlapping(probe, h).filter((a) => a.refused).length,
    probeQueryMaxMs: slowest(overlapping(probeQueries, h)),
    rssBeforeMiB: h.rssBeforeMiB,
    rssPeakMiB: h.rssPeakMiB,
  }));
  clearInterval(sampler);
  await sample();
  const rssPeak = peakRssBytes(pid);
  for (const e of [...capacityExporters, ...exporters]) await e.shutdown();
  // 4. At rest: nothing sent for 20 s (the server's idle checkpoint runs after 5–10 s of quiet).
  await new Promise((r) => setTimeout(r, 20_000));
  const rssAtRest = rssBytes(pid);
  const atRestParts = (await scrape(apiUrl)).memory;
  log(`at rest: RSS ${Math.round(rssAtRest / 1024 ** 2)} MiB`);

  // Stop the server cleanly (it commits what it acknowledged), then count the spans in its file.
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  const instance = await DuckDBInstance.create(join(dataDir, 'ariadne.duckdb'), { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  const stored = Number((await (await connection.run('SELECT count(*) FROM spans')).getRows())[0][0]);
  connection.closeSync();
  instance.closeSync();
  rmSync(dataDir, { recursive: true, force: true });

  const refusedShare =
    during.requests - before.requests > 0 ? (during.refused - before.refused) / (during.requests - before.requests) : 0;
  const result = {
    durationSeconds: DURATION_S,
    batch: BATCH,
    maxPendingSpans: Number(values['max-pending-spans']),
    memoryLimit: MEMORY_LIMIT,
    mallocArenaMax: MALLOC_ARENA_MAX === '' ? null : Number(MALLOC_ARENA_MAX),
    capacitySpansPerSecond: Math.round(capacity),
    measuredCapacitySpansPerSecond: Math.round(measuredCapacity),
    capacitySaturated: capacityRefused > 0,
    offeredSpansPerSecond: Math.round(offered / DURATION_S),
    acceptedSpansPerSecond: Math.round(accepted),
    acceptedOfCapacity: Number((accepted / capacity).toFixed(3)),
    refusedRequestShare: Number(refusedShare.toFixed(3)),
    reexports,
    drainSeconds: Number(((drained - overloadEnd) / 1000).toFixed(1)),
    memoryLimitMiB: Math.round(memoryLimitBytes / 1024 ** 2),
    rssMaxMiB: Object.fromEntries(Object.entries(rssMax).map(([k, v]) => [k, Math.round(v / 1024 ** 2)])),
    rssPeakMiB: Math.round(rssPeak / 1024 ** 2),
    // After 20 s without requests, and the server's memory by part then.
    rssAtRestMiB: Math.round(rssAtRest / 1024 ** 2),
    memoryPartsAtRestMiB: Object.fromEntries(
      Object.entries(atRestParts).map(([k, v]) => [k, Math.round((v as number) / 1024 ** 2)]),
    ),
    // The largest of each part of the server's memory at any scrape (they need not coincide).
    memoryPartsMaxMiB: Object.fromEntries(Object.entries(memoryMax).map(([k, v]) => [k, Math.round(v / 1024 ** 2)])),
    eventLoopStallMaxMs: Object.fromEntries(Object.entries(lagMax).map(([k, v]) => [k, Math.round(v * 1000)])),
    traceByIdMsDuringOverload: { p50: Math.round(percentile(queries, 50)), p99: Math.round(percentile(queries, 99)) },
    hugeRequests: huge,
    // The whole huge phase, with the 3 s after the last request (its spans being written).
    probeDuringHugeMs: {
      exportMax: slowest(probe),
      exportsRefused: probe.filter((a) => a.refused).length,
      queryMax: slowest(probeQueries),
    },
    spansGenerated: generated,
    spansStored: stored,
    everySpanDelivered: stored === generated,
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    cpus: cpus().length,
  };
  if (values.json) console.log(JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
  if (stored !== generated) process.exitCode = 1;
}

await main();
