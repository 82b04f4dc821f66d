/**
 * `npm run bench:query`: the store at scale. Loads N spans (default 10,000,000) of the realistic
 * workload (workload.ts), spread over 7 days of timestamps in time order, through the real ingest
 * path (OTLP/HTTP protobuf into a real `ariadne serve`, 4 senders, batches of 512 spans); then, in
 * a fresh process on the same data directory, measures p50/p99 over `--queries` queries per shape,
 * warm (buffer pool primed by a pass over other parameters) and cold (database reopened before
 * every query, so DuckDB's buffer pool is empty; the OS page cache is not dropped). Also reports
 * bytes on disk per span, the ingest rate while loading and the peak RSS of the server (loading)
 * and of the query process. `--json` prints one JSON object (latencies in milliseconds).
 *
 * With `--store clickhouse://host:port/database`, the same load goes through `ariadne serve
 * --store` into a database of the run's own (`<database>_query_<timestamp>`), whose MergeTree
 * tables are then merged with `OPTIMIZE TABLE … FINAL` (bytes on disk are ClickHouse's active
 * parts), and the same query shapes run on a `ClickHouseSpanStore` over that database. Cold means
 * a new connection after `SYSTEM DROP MARK CACHE` and `SYSTEM DROP UNCOMPRESSED CACHE` (the OS page
 * cache is not dropped). The database is dropped at the end unless `--keep`; `--reuse-store URL`
 * runs the query phase again on a kept one (the load's figures and query parameters are kept in
 * its `bench_load` table).
 *
 *   npm run bench:query -- [--spans 10000000] [--queries 200] [--memory-limit 2GiB] [--json]
 *                          [--data DIR --keep] [--reuse DIR]
 *                          [--store clickhouse://host:port/database [--keep]] [--reuse-store URL]
 *                          [--shapes traceql,traceById]   (only the query shapes whose names contain one)
 *                          [--while-ingesting [--ingest-rate SPANS_PER_SECOND]]
 *
 * `--reuse DIR` runs on a copy of a directory loaded before (`--data DIR --keep`), deleted at the
 * end: DIR itself is never written, so repeated runs (an A/B of two commits) measure the same store.
 *
 * `--while-ingesting` (DuckDB) adds a second phase: `ariadne serve` on the loaded directory, spans
 * streamed into it at half the load's ingest rate (or half of `--ingest-rate`) while trace-by-id
 * and search queries go through its HTTP API, with the default consistency (reads do not wait for
 * the write queue): see `whileIngestingPhase`.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compileTraceQL, unixNanos } from '@ariadne/core';
import { ExportTraceServiceRequest } from '../src/ingest/otlp-proto-schema.ts';
import { searchForm } from '../src/query/form-search.ts';
import type { SpanStore, TraceQuery } from '../src/query/span-store.ts';
import { searchTraceQL } from '../src/query/traceql-search.ts';
import { ClickHouseSpanStore } from '../src/store/clickhouse/clickhouse-store.ts';
import { HttpExecutor } from '../src/store/clickhouse/executor.ts';
import { sqlIdentifier, sqlString } from '../src/store/clickhouse/sql.ts';
import { DuckDbSpanStore } from '../src/store/duckdb-store.ts';
import { databaseMemoryLimit, parseMemorySize } from '../src/store/memory-budget.ts';
import {
  type ClickHouseRun,
  clickHouseDisk,
  clickHouseRun,
  clickHouseVersion,
  dirBytes,
  dropClickHouseRun,
  localListenerPid,
  optimizeClickHouse,
  peakRssBytes,
  reuseClickHouseRun,
  startServeProcess,
} from './serve-process.ts';
import { type GeneratedSpan, generateTrace, makeWorkload, prng, toExportRequest } from './workload.ts';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '10000000' },
    queries: { type: 'string', default: '200' },
    'cold-queries': { type: 'string' },
    senders: { type: 'string', default: '4' },
    batch: { type: 'string', default: '512' },
    days: { type: 'string', default: '7' },
    'memory-limit': { type: 'string', default: '2GiB' },
    data: { type: 'string' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'string' },
    'query-phase': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    store: { type: 'string' },
    'reuse-store': { type: 'string' },
    shapes: { type: 'string' },
    'while-ingesting': { type: 'boolean', default: false },
    'ingest-rate': { type: 'string' },
  },
});
const log = (msg: string) => {
  if (!values.json) process.stderr.write(`${msg}\n`);
};
const DAY_MS = 86_400_000;
const MS = 1_000_000n;

/** What the load remembers to build queries from: a sample of traces and the time span. */
interface LoadInfo {
  readonly endMs: number;
  readonly days: number;
  readonly spans: number;
  readonly services: { name: string; operations: string[] }[];
  readonly samples: { traceId: string; orderId: string; startMs: number }[];
}

/**
 * Loads `total` spans in time order over `days` days ending now into `ariadne serve --data dataDir`
 * with `serverArgs`; returns what queries need and the load's figures (without the disk's).
 */
async function load(
  dataDir: string,
  total: number,
  serverArgs: readonly string[],
): Promise<{ info: LoadInfo; figures: Record<string, unknown> }> {
  const days = Number(values.days);
  const batch = Number(values.batch);
  const w = makeWorkload(42);
  // Average trace size, from a separate sample, to space traces evenly over the days.
  const probe = makeWorkload(7);
  let probeSpans = 0;
  for (let i = 0; i < 3000; i++) probeSpans += generateTrace(probe, 0).length;
  const avg = probeSpans / 3000;
  const endMs = Date.now();
  const startMs = endMs - days * DAY_MS;
  const stepMs = (days * DAY_MS) / (total / avg);
  const pick = prng(99);
  const samples: LoadInfo['samples'] = [];
  const sampleEvery = Math.max(1, Math.floor(total / avg / 5000));
  let t = startMs;
  let traces = 0;
  let produced = 0;
  let pending: GeneratedSpan[] = [];
  /** The next request body (about `batch` spans, whole traces), or undefined when done. */
  const next = (): { bytes: Uint8Array; spans: number } | undefined => {
    while (pending.length < batch && produced < total) {
      const trace = generateTrace(w, Math.min(t, endMs - 1));
      t += stepMs * (0.5 + pick());
      if (traces++ % sampleEvery === 0) {
        const orderId = (trace[0].span.attributes as { key: string; value: { stringValue?: string } }[]).find(
          (a) => a.key === 'order.id',
        )?.value.stringValue;
        samples.push({
          traceId: Buffer.from(trace[0].span.traceId as Uint8Array).toString('hex'),
          orderId: orderId ?? '',
          startMs: Math.min(t, endMs - 1),
        });
      }
      pending = pending.concat(trace);
      produced += trace.length;
    }
    if (pending.length === 0) return undefined;
    const spans = pending;
    pending = [];
    const bytes = ExportTraceServiceRequest.encode(
      ExportTraceServiceRequest.fromObject(toExportRequest(spans)),
    ).finish();
    return { bytes, spans: spans.length };
  };

  const { child, otlpUrl } = await startServeProcess(dataDir, serverArgs);
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  log(`server pid ${child.pid}; loading ${total} spans (avg ${avg.toFixed(1)} per trace) over ${days} days...`);
  let acked = 0;
  let retries = 0;
  const started = performance.now();
  let lastLog = started;
  const sender = async () => {
    for (let body = next(); body; body = next()) {
      while (true) {
        const response = await fetch(otlpUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: Buffer.from(body.bytes),
        });
        await response.arrayBuffer();
        if (response.status === 200) break;
        if (response.status === 503 || response.status === 429) {
          retries++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw new Error(`HTTP ${response.status}`);
      }
      acked += body.spans;
      const now = performance.now();
      if (now - lastLog > 10_000) {
        lastLog = now;
        log(`  ${acked} spans acknowledged (${Math.round(acked / ((now - started) / 1000))}/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: Number(values.senders) }, () => sender()));
  const seconds = (performance.now() - started) / 1000;
  const serverPeakRss = peakRssBytes(child.pid!);
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
  process.off('exit', kill);
  const info: LoadInfo = {
    endMs,
    days,
    spans: acked,
    services: w.services.map((s) => ({ name: s.name, operations: s.operations.map((o) => o.name) })),
    samples,
  };
  return {
    info,
    figures: {
      spans: acked,
      traces,
      loadSeconds: Number(seconds.toFixed(1)),
      ingestSpansPerSecond: Math.round(acked / seconds),
      retriesAfter503: retries,
      serverPeakRssBytes: serverPeakRss,
    },
  };
}

/** One query shape: builds its i-th query and runs it. */
interface Shape {
  readonly name: string;
  readonly run: (store: SpanStore, i: number) => Promise<number>;
}

function shapes(info: LoadInfo): Shape[] {
  const end = BigInt(info.endMs) * MS;
  const day = BigInt(DAY_MS) * MS;
  const hour = day / 24n;
  const rand = prng(1234);
  const n = 4096;
  const pickService = Array.from({ length: n }, () => info.services[Math.floor(rand() * info.services.length)]);
  const pickOp = pickService.map((s) => s.operations[Math.floor(rand() * s.operations.length)]);
  const pickSample = Array.from({ length: n }, () => info.samples[Math.floor(rand() * info.samples.length)]);
  const pickHour = Array.from({ length: n }, () => end - BigInt(Math.floor(rand() * (info.days * 24 - 1)) + 1) * hour);
  const search = (q: TraceQuery) => (store: SpanStore) => searchForm(store, q).then((r) => r.traces.length);
  const traceql = (text: string, width: bigint) => (store: SpanStore) =>
    searchTraceQL(store, compileTraceQL(text), {
      startUnixNano: unixNanos(end - width),
      endUnixNano: unixNanos(end),
      limit: 20,
      source: text,
    }).then((r) => r.traces.length);
  return [
    { name: 'traceById', run: (s, i) => s.getTrace(pickSample[i % n].traceId).then((r) => r.length) },
    { name: 'searchByService', run: (s, i) => search({ service: pickService[i % n].name, limit: 20 })(s) },
    {
      name: 'serviceOperationMinDuration24h',
      run: (s, i) =>
        search({
          service: pickService[i % n].name,
          operation: pickOp[i % n],
          minDurationNanos: 10n * MS,
          startUnixNano: (end - day) as TraceQuery['startUnixNano'],
          endUnixNano: end as TraceQuery['endUnixNano'],
          limit: 20,
        })(s),
    },
    {
      name: 'statusError24h',
      run: (s) =>
        search({
          status: 'error',
          startUnixNano: (end - day) as TraceQuery['startUnixNano'],
          endUnixNano: end as TraceQuery['endUnixNano'],
          limit: 20,
        })(s),
    },
    {
      name: 'attributeNearlyUnique7d',
      run: (s, i) =>
        search({
          attributes: [{ key: 'order.id', value: pickSample[i % n].orderId }],
          startUnixNano: (end - 7n * day) as TraceQuery['startUnixNano'],
          endUnixNano: end as TraceQuery['endUnixNano'],
          limit: 20,
        })(s),
    },
    {
      name: 'attributeStatusCode1h',
      run: (s, i) =>
        search({
          attributes: [{ key: 'http.status_code', value: '500' }],
          startUnixNano: pickHour[i % n] as TraceQuery['startUnixNano'],
          endUnixNano: (pickHour[i % n] + hour) as TraceQuery['endUnixNano'],
          limit: 20,
        })(s),
    },
    { name: 'listServices', run: (s) => s.listServices().then((r) => r.length) },
    { name: 'listOperations', run: (s, i) => s.listOperations(pickService[i % n].name).then((r) => r.length) },
    {
      name: 'dependencies24h',
      run: (s) =>
        s
          .dependencies({
            startUnixNano: (end - day) as TraceQuery['startUnixNano'],
            endUnixNano: end as TraceQuery['endUnixNano'],
          })
          .then((r) => r.length),
    },
    {
      name: 'traceqlOrderId7d',
      run: (s, i) => traceql(`{ span.order.id = "${pickSample[i % n].orderId}" }`, 7n * day)(s),
    },
    {
      name: 'traceqlServiceDuration24h',
      run: (s, i) => traceql(`{ resource.service.name = "${pickService[i % n].name}" && duration > 500ms }`, day)(s),
    },
    {
      name: 'traceqlFrontendDescendantError24h',
      run: (s) => traceql('{ resource.service.name = "frontend" } >> { status = error }', day)(s),
    },
    { name: 'traceqlErrorCount24h', run: (s) => traceql('{ status = error } | count() > 2', day)(s) },
    {
      name: 'operationPercentiles24h',
      run: (s, i) =>
        s
          .operationStats(pickService[i % n].name, {
            startUnixNano: (end - day) as TraceQuery['startUnixNano'],
            endUnixNano: end as TraceQuery['endUnixNano'],
          })
          .then((r) => r.length),
    },
  ];
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function summary(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Number(x.toFixed(2));
  return { p50: r(percentile(sorted, 0.5)), p99: r(percentile(sorted, 0.99)), max: r(sorted[sorted.length - 1]) };
}

/** How the query phase opens the store under test, and empties its caches for a cold query. */
interface StoreUnderTest {
  open(): Promise<SpanStore>;
  /** Runs between closing the store and opening it again before each cold query. */
  emptyCaches(): Promise<void>;
  /** Figures of the store's process or server, after the queries. */
  figures(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

function duckDbUnderTest(dataDir: string): StoreUnderTest {
  const memoryLimit = databaseMemoryLimit(parseSizeBytes(values['memory-limit']!));
  return {
    open: () => DuckDbSpanStore.open({ dataDir, memoryLimit }),
    emptyCaches: async () => undefined,
    figures: async () => ({}),
    close: async () => undefined,
  };
}

function clickHouseUnderTest(run: ClickHouseRun): StoreUnderTest {
  const pid = localListenerPid(run.location.url);
  const status = () => (pid === undefined ? '' : readFileSync(`/proc/${pid}/status`, 'utf8'));
  const kB = (text: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) * 1024;
  return {
    open: () => ClickHouseSpanStore.open({ executor: new HttpExecutor(run.location), database: run.location.database }),
    async emptyCaches() {
      await run.executor.command('SYSTEM DROP MARK CACHE');
      await run.executor.command('SYSTEM DROP UNCOMPRESSED CACHE');
    },
    async figures() {
      const text = status();
      const [parts] = await run.executor.query<{ n: string }>(
        `SELECT count() AS n FROM system.parts WHERE database = ${sqlString(run.location.database)} AND active`,
      );
      return {
        activeParts: Number(parts.n),
        clickHouseRssBytes: pid === undefined ? null : kB(text, 'VmRSS'),
        clickHousePeakRssBytesSinceStart: pid === undefined ? null : kB(text, 'VmHWM'),
      };
    },
    close: () => run.executor.close(),
  };
}

/** The query phase, in its own process: prints one JSON object on stdout. */
async function queryPhase(target: StoreUnderTest, info: LoadInfo): Promise<void> {
  const queries = Number(values.queries);
  const coldQueries = Number(values['cold-queries'] ?? values.queries);
  const open = () => target.open();
  const results: Record<string, unknown> = {};
  const empties: Record<string, number> = {};
  let store = await open();
  const only = values.shapes?.split(',').filter((x) => x !== '');
  for (const shape of shapes(info)) {
    if (only !== undefined && !only.some((o) => shape.name.includes(o))) continue;
    // Warm: a pass with other parameters primes the buffer pool, then the measured queries.
    for (let i = 0; i < Math.min(queries, 50); i++) await shape.run(store, 2048 + i);
    const warm: number[] = [];
    let empty = 0;
    for (let i = 0; i < queries; i++) {
      const t0 = performance.now();
      const count = await shape.run(store, i);
      warm.push(performance.now() - t0);
      if (count === 0) empty++;
    }
    // Cold: the database is reopened before every query (an empty buffer pool).
    const cold: number[] = [];
    for (let i = 0; i < coldQueries; i++) {
      await store.close();
      await target.emptyCaches();
      store = await open();
      const t0 = performance.now();
      await shape.run(store, 1024 + i);
      cold.push(performance.now() - t0);
    }
    results[shape.name] = { warm: summary(warm), cold: summary(cold) };
    empties[shape.name] = empty;
    process.stderr.write(`  ${shape.name}: ${JSON.stringify(results[shape.name])}\n`);
  }
  await store.close();
  const figures = await target.figures();
  await target.close();
  process.stdout.write(
    `${JSON.stringify({ queries, coldQueries, latencyMs: results, emptyResults: empties, queryPeakRssBytes: peakRssBytes(process.pid), ...figures })}\n`,
  );
}

function parseSizeBytes(text: string): number {
  const parsed = parseMemorySize(text);
  if (parsed === undefined) throw new Error(`cannot parse size ${text}`);
  return parsed;
}

/** A loaded store, ready for the query phase. */
interface PreparedBench {
  /** The load's figures (and the disk's). */
  readonly figures: Record<string, unknown>;
  /** What tells the query phase's process where the store is. */
  readonly queryArgs: string[];
  /** Removes what the run made, unless it is to be kept. */
  done(): Promise<void>;
}

/** The DuckDB benchmark: load into a data directory (or reuse one), then the query phase. */
async function mainDuckDb(): Promise<PreparedBench> {
  let dataDir: string;
  let loadFigures: Record<string, unknown>;
  if (values.reuse) {
    // A copy: the query phase opens the database and `--while-ingesting` streams spans into it, so
    // runs on the directory itself would each measure a larger store than the one before.
    dataDir = mkdtempSync(join(tmpdir(), 'ariadne-bench-query-reuse-'));
    cpSync(values.reuse, dataDir, { recursive: true });
    loadFigures = JSON.parse(readFileSync(join(dataDir, 'bench-figures.json'), 'utf8'));
    log(`reusing a copy of ${values.reuse} (${loadFigures.spans} spans) in ${dataDir}`);
  } else {
    dataDir = values.data ?? mkdtempSync(join(tmpdir(), 'ariadne-bench-query-'));
    const loaded = await load(dataDir, Number(values.spans), ['--memory-limit', values['memory-limit']!]);
    const diskBytes = dirBytes(dataDir);
    loadFigures = {
      ...loaded.figures,
      diskBytes,
      diskBytesPerSpan: Number((diskBytes / (loaded.figures.spans as number)).toFixed(1)),
    };
    writeFileSync(join(dataDir, 'bench-load.json'), JSON.stringify(loaded.info));
    writeFileSync(join(dataDir, 'bench-figures.json'), JSON.stringify(loadFigures));
    log(`loaded: ${JSON.stringify(loadFigures)}`);
  }
  return {
    figures: loadFigures,
    queryArgs: ['--data', dataDir, '--memory-limit', values['memory-limit']!],
    async done() {
      if (values.reuse || (!values.keep && !values.data)) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The ClickHouse benchmark: load through `ariadne serve --store` into the run's database and
 * merge it (or reuse a loaded one), then the query phase on that database.
 */
async function mainClickHouse(): Promise<PreparedBench> {
  const reuse = values['reuse-store'];
  const run = reuse ? reuseClickHouseRun(reuse) : clickHouseRun(values.store!, 'query');
  let loadFigures: Record<string, unknown>;
  if (reuse) {
    loadFigures = (await readBenchRecord(run)).figures;
    log(`reusing ${run.location.display} (${loadFigures.spans} spans)`);
  } else {
    log(`ClickHouse store ${run.location.display}`);
    const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-bench-query-'));
    const loaded = await load(dataDir, Number(values.spans), ['--store', run.storeUrl]);
    rmSync(dataDir, { recursive: true, force: true });
    const spans = loaded.figures.spans as number;
    const before = await clickHouseDisk(run);
    log(`loaded: ${JSON.stringify(loaded.figures)}; optimizing ${before.parts} parts...`);
    const optimizeSeconds = await optimizeClickHouse(run);
    const after = await clickHouseDisk(run);
    const perSpan = (bytes: number) => Number((bytes / spans).toFixed(1));
    loadFigures = {
      store: run.location.display,
      clickHouseVersion: await clickHouseVersion(run),
      ...loaded.figures,
      diskBytes: after.bytes,
      diskBytesPerSpan: perSpan(after.bytes),
      diskBytesPerSpanBeforeOptimize: perSpan(before.bytes),
      partsBeforeOptimize: before.parts,
      partsAfterOptimize: after.parts,
      optimizeSeconds: Number(optimizeSeconds.toFixed(1)),
      diskBytesPerSpanByTable: Object.fromEntries(Object.entries(after.byTable).map(([t, f]) => [t, perSpan(f.bytes)])),
    };
    await writeBenchRecord(run, loaded.info, loadFigures);
    log(`merged: ${JSON.stringify(loadFigures)}`);
  }
  return {
    figures: loadFigures,
    queryArgs: ['--reuse-store', run.storeUrl],
    async done() {
      try {
        if (!values.keep && !reuse) await dropClickHouseRun(run);
        else log(`kept the database ${run.location.display} (--reuse-store to query it again)`);
      } finally {
        await run.executor.close();
      }
    },
  };
}

const BENCH_TABLE = 'bench_load';

/** Keeps the load's query parameters and figures in the run's database, for `--reuse-store`. */
async function writeBenchRecord(run: ClickHouseRun, info: LoadInfo, figures: Record<string, unknown>) {
  const table = `${sqlIdentifier(run.location.database)}.${BENCH_TABLE}`;
  await run.executor.command(`CREATE TABLE IF NOT EXISTS ${table} (info String, figures String) ENGINE = TinyLog`);
  await run.executor.command(
    `INSERT INTO ${table} (info, figures) VALUES (${sqlString(JSON.stringify(info))}, ${sqlString(JSON.stringify(figures))})`,
  );
}

async function readBenchRecord(run: ClickHouseRun): Promise<{ info: LoadInfo; figures: Record<string, unknown> }> {
  const rows = await run.executor.query<{ info: string; figures: string }>(
    `SELECT info, figures FROM ${sqlIdentifier(run.location.database)}.${BENCH_TABLE}`,
  );
  if (rows.length === 0) throw new Error(`${run.location.display} holds no bench:query load (${BENCH_TABLE})`);
  return { info: JSON.parse(rows[0].info) as LoadInfo, figures: JSON.parse(rows[0].figures) };
}

/**
 * The server's event-loop delay since the last scrape (prom-client resets it at each), in ms:
 * p50, p99 and max.
 */
async function eventLoopDelay(apiUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const read = (name: string) =>
    Number((Number(new RegExp(`^nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(text)?.[1]) * 1000).toFixed(1));
  return { p50: read('p50'), p99: read('p99'), max: read('max') };
}

/**
 * The second phase: reads while spans stream in. Starts `ariadne serve` on the loaded data
 * directory, streams fresh traces (the workload's, timestamped now) over OTLP/HTTP at half the
 * ingest capacity (the load's acknowledged rate, or `--ingest-rate`), and meanwhile runs
 * `--queries` trace-by-id lookups (traces of the load) and searches by service through the query
 * API, one at a time, after a warm-up of 20 each; the same queries run first without ingest, as
 * the baseline (the first phase reads the store in process, without HTTP). Reports p50/p99 per
 * shape, the server's event-loop delay in each half, the rate actually streamed, and the spans
 * still waiting for the store at the end. Queries use the default consistency (what is
 * committed), as a user's would.
 */
async function whileIngestingPhase(dataDir: string, figures: Record<string, unknown>) {
  const capacity = Number(values['ingest-rate'] ?? figures.ingestSpansPerSecond);
  if (!(capacity > 0)) throw new Error('--while-ingesting needs the ingest capacity: --ingest-rate');
  const rate = capacity / 2;
  const info = JSON.parse(readFileSync(join(dataDir, 'bench-load.json'), 'utf8')) as LoadInfo;
  const queries = Number(values.queries);
  // Payloads of about `batch` spans, built once; each send gets fresh trace ids (first 4 bytes).
  const w = makeWorkload(4242);
  const pool: { bytes: Buffer; spans: number; offsets: number[] }[] = [];
  let pending: GeneratedSpan[] = [];
  while (pool.length < 48) {
    while (pending.length < Number(values.batch)) pending = pending.concat(generateTrace(w, Date.now()));
    const batch = pending;
    pending = [];
    const bytes = Buffer.from(
      ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(toExportRequest(batch))).finish(),
    );
    const offsets: number[] = [];
    for (const id of new Set(batch.map((g) => Buffer.from(g.span.traceId as Uint8Array).toString('hex')))) {
      const needle = Buffer.from(id, 'hex');
      for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) offsets.push(at);
    }
    pool.push({ bytes, spans: batch.length, offsets });
  }
  const { child, otlpUrl, apiUrl } = await startServeProcess(dataDir, ['--memory-limit', values['memory-limit']!]);
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  log(
    `while ingesting: streaming at ${Math.round(rate)} spans/s (half of ${Math.round(capacity)}) into pid ${child.pid}`,
  );
  let streaming = true;
  let streamed = 0;
  let refused = 0;
  let streamStart = performance.now();
  // Paced: the n-th span is due at n / rate seconds; two senders so one slow answer does not stall it.
  const sender = async (id: number) => {
    for (let round = 0; streaming; round++) {
      const p = pool[(round * 2 + id) % pool.length];
      const due = streamStart + (streamed / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!streaming) return;
      const tag = ((id + 1) << 24) | (round & 0xffffff);
      for (const at of p.offsets) p.bytes.writeUInt32BE(tag >>> 0, at);
      streamed += p.spans;
      const response = await fetch(otlpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: new Uint8Array(p.bytes),
      });
      await response.arrayBuffer();
      if (response.status !== 200) {
        streamed -= p.spans;
        refused++;
      }
    }
  };
  const rand = prng(777);
  const timed = async (url: string) => {
    const t0 = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    if (response.status !== 200 && response.status !== 404) throw new Error(`${url}: HTTP ${response.status}`);
    return performance.now() - t0;
  };
  const traceById = () =>
    timed(`${apiUrl}/api/v1/traces/${info.samples[Math.floor(rand() * info.samples.length)].traceId}`);
  const search = () =>
    timed(
      `${apiUrl}/api/v1/search?service=${encodeURIComponent(info.services[Math.floor(rand() * info.services.length)].name)}&limit=20`,
    );
  const measure = async () => {
    const latencies: Record<string, number[]> = { traceById: [], searchByService: [] };
    for (let i = 0; i < queries; i++) {
      latencies.traceById.push(await traceById());
      latencies.searchByService.push(await search());
    }
    return Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, summary(v)]));
  };
  for (let i = 0; i < 20; i++) {
    await traceById();
    await search();
  }
  // The same queries through the same server without ingest first: the baseline to compare with.
  await eventLoopDelay(apiUrl);
  const idleLatency = await measure();
  const idleEventLoop = await eventLoopDelay(apiUrl);
  streamStart = performance.now();
  const senders = [sender(0), sender(1)];
  let latencyMs: Record<string, unknown>;
  let eventLoop: Record<string, number>;
  try {
    latencyMs = await measure();
    eventLoop = await eventLoopDelay(apiUrl);
  } finally {
    streaming = false;
    await Promise.all(senders);
  }
  const seconds = (performance.now() - streamStart) / 1000;
  const health = (await (await fetch(`${apiUrl}/healthz`)).json()) as { ingest?: { pendingSpans: number } };
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
  process.off('exit', kill);
  const result = {
    targetSpansPerSecond: Math.round(rate),
    streamedSpansPerSecond: Math.round(streamed / seconds),
    refusedRequests: refused,
    pendingSpansAtEnd: health.ingest?.pendingSpans ?? null,
    queries,
    latencyMs,
    latencyMsWithoutIngest: idleLatency,
    // The server's event-loop delay over each phase (10 ms resolution): how long a request that
    // arrived at a bad moment waited for the thread that answers it.
    eventLoopDelayMs: eventLoop,
    eventLoopDelayMsWithoutIngest: idleEventLoop,
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  };
  log(`while ingesting: ${JSON.stringify(result)}`);
  return result;
}

async function main() {
  if (values['query-phase']) {
    const reuse = values['reuse-store'];
    if (reuse) {
      const run = reuseClickHouseRun(reuse);
      await queryPhase(clickHouseUnderTest(run), (await readBenchRecord(run)).info);
    } else {
      const dataDir = values.data!;
      const info = JSON.parse(readFileSync(join(dataDir, 'bench-load.json'), 'utf8')) as LoadInfo;
      await queryPhase(duckDbUnderTest(dataDir), info);
    }
    return;
  }
  const bench = values.store || values['reuse-store'] ? await mainClickHouse() : await mainDuckDb();
  // Queries run in a fresh process, so its peak RSS is the store's, not the load generator's.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL(import.meta.url).pathname,
      '--query-phase',
      ...bench.queryArgs,
      '--queries',
      values.queries!,
      '--cold-queries',
      values['cold-queries'] ?? values.queries!,
      ...(values.shapes === undefined ? [] : ['--shapes', values.shapes]),
    ],
    { stdio: ['ignore', 'pipe', values.json ? 'ignore' : 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`query phase exited with ${code}`);
  const queryFigures = JSON.parse(out) as Record<string, unknown>;
  if (values['while-ingesting']) {
    if (values.store || values['reuse-store']) log('--while-ingesting: DuckDB only; skipped');
    else queryFigures.whileIngesting = await whileIngestingPhase(bench.queryArgs[1], bench.figures);
  }
  const result = {
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version },
    memoryLimit: values['memory-limit'],
    ...bench.figures,
    ...queryFigures,
  };
  await bench.done();
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else log(JSON.stringify(result, null, 2));
}

await main();
