/**
 * `npm run bench:ingest`: acknowledged spans a second of one `ariadne serve` process, fed OTLP/HTTP
 * protobuf by 4 senders (batches of 512 spans, 21 attributes each), and what that costs: server
 * CPU a span, peak RSS, bytes a span on disk. Decode-only rates of the same payloads, in this
 * process, for comparison. `--json` prints one JSON object.
 *
 *   npm run bench:ingest -- [--spans 1000000] [--senders 4] [--batch 512] [--json]
 *                           [--store clickhouse://host:port/database [--keep]]
 *
 * Without `--store`, the embedded DuckDB store in a fresh data directory; disk is the whole
 * directory after a clean shutdown, and the directory and the database file are also reported at
 * rest: once the running server has checkpointed and trimmed its ingest log after ingest paused. With `--store`, ClickHouse: the server gets a database of the
 * run's own (`<database>_ingest_<timestamp>`), acknowledged already means stored, and disk is what
 * ClickHouse's active parts of that database take once `OPTIMIZE TABLE … FINAL` merged them; the
 * database is dropped at the end unless `--keep`. The CPU of a ClickHouse server on this machine
 * is reported too.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateSpans } from '@ariadne/core';
import { decodeOtlpProtobuf, spansFromOtlpProtobufLibrary } from '../src/ingest/decode-otlp.ts';
import { ExportTraceServiceRequest } from '../src/ingest/otlp-proto-schema.ts';
import {
  type ClickHouseRun,
  clickHouseDisk,
  clickHouseRun,
  clickHouseVersion,
  cpuSeconds,
  dirBytes,
  dropClickHouseRun,
  localListenerPid,
  optimizeClickHouse,
  peakRssBytes,
  startServeProcess,
} from './serve-process.ts';
import { generateTrace, makeWorkload, toExportRequest } from './workload.ts';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '1000000' },
    senders: { type: 'string', default: '4' },
    batch: { type: 'string', default: '512' },
    pool: { type: 'string', default: '48' },
    json: { type: 'boolean', default: false },
    store: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const TOTAL = Number(values.spans);
const SENDERS = Number(values.senders);
const BATCH = Number(values.batch);
const POOL = Number(values.pool);
const log = (msg: string) => {
  if (!values.json) process.stderr.write(`${msg}\n`);
};

interface Payload {
  bytes: Buffer;
  spans: number;
  /** Offsets of every trace id (16 bytes) in `bytes`, to make each resend a new trace. */
  traceIdOffsets: number[];
}

function buildPool(): Payload[] {
  const w = makeWorkload(42);
  const now = Date.now();
  const pool: Payload[] = [];
  let pending: ReturnType<typeof generateTrace> = [];
  while (pool.length < POOL) {
    while (pending.length < BATCH) pending = pending.concat(generateTrace(w, now - w.rand() * 3_600_000));
    const batch = pending.slice(0, BATCH);
    pending = pending.slice(BATCH);
    const bytes = Buffer.from(
      ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(toExportRequest(batch))).finish(),
    );
    const ids = new Set<string>();
    for (const g of batch) ids.add(Buffer.from(g.span.traceId as Uint8Array).toString('hex'));
    const traceIdOffsets: number[] = [];
    for (const id of ids) {
      const needle = Buffer.from(id, 'hex');
      for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) traceIdOffsets.push(at);
    }
    pool.push({ bytes, spans: batch.length, traceIdOffsets });
  }
  return pool;
}

function decodeRate(pool: Payload[], decode: (b: Buffer) => unknown): number {
  // Decode the whole pool repeatedly for at least ~1.5 s; report spans per second.
  const started = performance.now();
  let spans = 0;
  while (performance.now() - started < 1500) {
    for (const p of pool) {
      decode(p.bytes);
      spans += p.spans;
    }
  }
  return spans / ((performance.now() - started) / 1000);
}

async function main() {
  log(`generating ${POOL} distinct batches of ${BATCH} spans...`);
  const pool = buildPool();
  const attrsPerSpan = 21;
  const bytesPerBatch = pool.reduce((a, p) => a + p.bytes.length, 0) / pool.length;
  log(`payload: ${Math.round(bytesPerBatch / 1024)} KiB per batch (${Math.round(bytesPerBatch / BATCH)} bytes/span)`);

  const decodeHandWritten = decodeRate(pool, (b) => decodeOtlpProtobuf(b));
  const decodeProtobufjs = decodeRate(pool, (b) => validateSpans(spansFromOtlpProtobufLibrary(b)));
  log(
    `decode only: hand-written ${Math.round(decodeHandWritten)} spans/s, protobufjs ${Math.round(decodeProtobufjs)} spans/s`,
  );

  const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-bench-ingest-'));
  const clickHouse = values.store === undefined ? undefined : clickHouseRun(values.store, 'ingest');
  const clickHousePid = clickHouse && localListenerPid(clickHouse.location.url);
  if (clickHouse) log(`ClickHouse store ${clickHouse.location.display} (server pid ${clickHousePid ?? 'not local'})`);
  const { child, otlpUrl, apiUrl } = await startServeProcess(
    dataDir,
    clickHouse ? ['--store', clickHouse.storeUrl] : [],
  );
  const url = otlpUrl;
  process.on('exit', () => child.kill('SIGKILL'));
  log(`server pid ${child.pid} at ${url}; sending ${TOTAL} spans with ${SENDERS} senders...`);

  // node:http with keep-alive, as the OpenTelemetry JS OTLP/HTTP exporter sends (fetch costs the
  // senders, which share the machine's two cores with the server, about twice the CPU).
  const agent = new Agent({ keepAlive: true, maxSockets: SENDERS });
  const target = new URL(url);
  const post = (body: Buffer) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let sent = 0;
  let acked = 0;
  let rejected = 0;
  let retries = 0;
  const cpuBefore = cpuSeconds(child.pid!);
  const clickHouseCpuBefore = clickHousePid === undefined ? undefined : cpuSeconds(clickHousePid);
  const started = performance.now();
  const sender = async (id: number) => {
    const own = pool.map((p) => ({ ...p, bytes: Buffer.from(p.bytes) }));
    let round = 0;
    while (true) {
      const p = own[round % own.length];
      if (sent + p.spans > TOTAL) return;
      sent += p.spans;
      // A fresh trace id per send: sender id and round number in the first bytes.
      const tag = ((id & 0xff) << 24) | (Math.floor(round / own.length) & 0xffffff);
      for (const at of p.traceIdOffsets) p.bytes.writeUInt32BE(tag >>> 0, at);
      round++;
      while (true) {
        const response = await post(p.bytes);
        const body = response.body;
        if (response.status === 200) {
          if (body.length > 0) rejected++;
          acked += p.spans;
          break;
        }
        if (response.status === 503 || response.status === 429) {
          retries++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw new Error(`HTTP ${response.status}: ${body.toString()}`);
      }
    }
  };
  let lastLog = performance.now();
  const progress = setInterval(() => {
    const now = performance.now();
    if (now - lastLog > 5000) {
      lastLog = now;
      log(`  ${acked} spans acknowledged (${Math.round(acked / ((now - started) / 1000))}/s)`);
    }
  }, 1000);
  await Promise.all(Array.from({ length: SENDERS }, (_, i) => sender(i + 1)));
  const seconds = (performance.now() - started) / 1000;
  // Acknowledged is durable (in the ingest log); queryable is committed to the store. Poll the
  // server's count of acknowledged spans not yet in the store until it is zero.
  while (true) {
    const health = (await (await fetch(`${apiUrl}/healthz`)).json()) as { ingest?: { pendingSpans: number } };
    if (!health.ingest || health.ingest.pendingSpans === 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const queryableSeconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuSeconds(child.pid!);
  const clickHouseCpuAfter = clickHousePid === undefined ? undefined : cpuSeconds(clickHousePid);
  clearInterval(progress);
  agent.destroy();
  // A sanity check that the store answers queries (through the read-your-writes wait).
  const services = (await (await fetch(`${apiUrl}/api/v1/services`)).json()) as { services: string[] };
  if (services.services.length === 0) throw new Error('no services in the store after the drain');
  const peakRss = peakRssBytes(child.pid!);
  // At rest: once ingest pauses, the server checkpoints and trims its log by itself.
  const atRest = clickHouse ? undefined : await dataDirAtRest(dataDir);
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
  const clickHouseFigures = clickHouse ? await clickHouseResult(clickHouse, acked) : undefined;
  const diskBytes = clickHouseFigures ? clickHouseFigures.diskBytes : dirBytes(dataDir);
  const databaseBytes = clickHouse ? undefined : statSync(join(dataDir, 'ariadne.duckdb')).size;
  rmSync(dataDir, { recursive: true, force: true });
  const perSpan = (before: number | undefined, after: number | undefined) =>
    before === undefined || after === undefined ? null : Number((((after - before) * 1e6) / acked).toFixed(2));

  const result = {
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    store: clickHouse ? clickHouse.location.display : 'duckdb',
    spans: acked,
    senders: SENDERS,
    batchSpans: BATCH,
    attributesPerSpan: attrsPerSpan,
    payloadBytesPerSpan: Math.round(bytesPerBatch / BATCH),
    ackedSpansPerSecond: Math.round(acked / seconds),
    queryableSpansPerSecond: Math.round(acked / queryableSeconds),
    decodeOnlySpansPerSecond: Math.round(decodeHandWritten),
    decodeOnlyProtobufjsSpansPerSecond: Math.round(decodeProtobufjs),
    endToEndShareOfDecode: Number((acked / seconds / decodeHandWritten).toFixed(3)),
    queryableShareOfDecode: Number((acked / queryableSeconds / decodeHandWritten).toFixed(3)),
    diskBytesPerSpan: Number((diskBytes / acked).toFixed(1)),
    ...(atRest && databaseBytes !== undefined
      ? {
          // The whole data directory and the database file alone: at rest (after the server's
          // idle checkpoint and log trim, with the server still running) and after the clean stop.
          dataDirBytesPerSpanAtRest: Number((atRest.dirBytes / acked).toFixed(1)),
          databaseBytesPerSpanAtRest: Number((atRest.databaseBytes / acked).toFixed(1)),
          secondsToRest: atRest.seconds,
          dataDirBytesPerSpanStopped: Number((diskBytes / acked).toFixed(1)),
          databaseBytesPerSpanStopped: Number((databaseBytes / acked).toFixed(1)),
        }
      : {}),
    serverPeakRssBytes: peakRss,
    // CPU the server used from the first send until everything was queryable, all threads: steadier
    // than a rate when runs differ by a few percent, and what a machine with more cores would share.
    serverCpuMicrosPerSpan: perSpan(cpuBefore, cpuAfter),
    ...(clickHouse
      ? { clickHouseCpuMicrosPerSpan: perSpan(clickHouseCpuBefore, clickHouseCpuAfter), ...clickHouseFigures }
      : {}),
    retriesAfter503: retries,
    requestsWithPartialSuccess: rejected,
    seconds: Number(seconds.toFixed(2)),
    queryableSeconds: Number(queryableSeconds.toFixed(2)),
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    log('');
    for (const [k, v] of Object.entries(result))
      log(`${k.padEnd(36)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  }
}

/**
 * The data directory once the running server has settled after ingest paused: polls until the
 * WAL is folded in and the ingest log holds no record (at most 2 minutes; whatever it is then).
 */
async function dataDirAtRest(dataDir: string): Promise<{ dirBytes: number; databaseBytes: number; seconds: number }> {
  const started = performance.now();
  const logDir = join(dataDir, 'ingest-log');
  const settled = () => {
    const wal = existsSync(join(dataDir, 'ariadne.duckdb.wal'))
      ? statSync(join(dataDir, 'ariadne.duckdb.wal')).size
      : 0;
    const records = readdirSync(logDir)
      .filter((n) => n.endsWith('.log'))
      .reduce((n, name) => n + statSync(join(logDir, name)).size - 16, 0);
    return wal === 0 && records === 0;
  };
  while (!settled() && performance.now() - started < 120_000) await new Promise((r) => setTimeout(r, 500));
  const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  log(`data directory at rest after ${seconds} s`);
  return { dirBytes: dirBytes(dataDir), databaseBytes: statSync(join(dataDir, 'ariadne.duckdb')).size, seconds };
}

/**
 * After the server stopped: the run's size in ClickHouse before and after `OPTIMIZE … FINAL`, and
 * the spans it holds; drops the database unless `--keep`.
 */
async function clickHouseResult(run: ClickHouseRun, acked: number) {
  try {
    const version = await clickHouseVersion(run);
    const before = await clickHouseDisk(run);
    log(`optimizing ${run.location.database} (${before.parts} parts)...`);
    const optimizeSeconds = await optimizeClickHouse(run);
    const after = await clickHouseDisk(run);
    const [stored] = await run.executor.query<{ n: string }>(`SELECT count() AS n FROM ${run.location.database}.spans`);
    if (values.keep) log(`kept the database ${run.location.display}`);
    else await dropClickHouseRun(run);
    return {
      clickHouseVersion: version,
      storedSpans: Number(stored.n),
      diskBytes: after.bytes,
      diskBytesPerSpanBeforeOptimize: Number((before.bytes / acked).toFixed(1)),
      partsBeforeOptimize: before.parts,
      partsAfterOptimize: after.parts,
      optimizeSeconds: Number(optimizeSeconds.toFixed(1)),
      diskBytesPerSpanByTable: Object.fromEntries(
        Object.entries(after.byTable).map(([table, t]) => [table, Number((t.bytes / acked).toFixed(1))]),
      ),
    };
  } finally {
    await run.executor.close();
  }
}

await main();
