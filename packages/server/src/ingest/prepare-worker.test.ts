import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { spansToApiJson, spansToTracesData, spansToZipkin, unixNanos } from '@ariadne/core';
import { generateTrace, makeWorkload, toExportRequest } from '../../bench/workload.ts';
import { silentLogger } from '../logger.ts';
import type { PreparedWriter, SpanReader, WriteProgress } from '../query/span-store.ts';
import type { PreparedBatch } from '../store/batch-preparer.ts';
import { ClickHouseSpanStore } from '../store/clickhouse/clickhouse-store.ts';
import type { ClickHousePreparerState, PreparedRows } from '../store/clickhouse/preparer.ts';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import { chdbExecutor, loadChdb } from '../store/testdata/chdb-executor.ts';
import { DECODE_SLICE_BYTES, decodeOtlpProtobuf, OtlpDecodeError } from './decode-otlp.ts';
import { decodeRecord } from './decode-record.ts';
import { decodeZipkin, ZipkinDecodeError, zipkinRecord } from './decode-zipkin.ts';
import { INGEST_LOG_SOURCE, IngestLog, LogFormat } from './ingest-log.ts';
import { ExportTraceServiceRequest } from './otlp-proto-schema.ts';
import { PrepareWorker } from './prepare-worker.ts';
import { type DecodedRequest, type RawRequest, WriteQueue } from './write-queue.ts';

/** Realistic export requests (the bench workload: ~20 attributes a span, several services). */
function requests(seed: number, count: number, spansEach: number): RawRequest[] {
  const w = makeWorkload(seed);
  const out: RawRequest[] = [];
  let pending: ReturnType<typeof generateTrace> = [];
  while (out.length < count) {
    while (pending.length < spansEach) pending = pending.concat(generateTrace(w, 1_750_000_000_000 + out.length));
    const batch = pending.slice(0, spansEach);
    pending = pending.slice(spansEach);
    const body = Buffer.from(
      ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(toExportRequest(batch))).finish(),
    );
    out.push({ format: LogFormat.OTLP_PROTOBUF, body });
  }
  return out;
}

/** Every stored trace of the requests, as the API returns it. */
async function storedTraces(store: SpanReader, raws: readonly RawRequest[]) {
  const ids = new Set(raws.flatMap((r) => decodeOtlpProtobuf(r.body).spans.map((s) => s.traceId)));
  const out: Record<string, unknown> = {};
  for (const id of [...ids].sort()) out[id] = spansToApiJson(await store.getTrace(id));
  return out;
}

async function withStores<T>(fn: (dirs: { a: string; b: string }) => Promise<T>): Promise<T> {
  const a = mkdtempSync(join(tmpdir(), 'ariadne-prepare-a-'));
  const b = mkdtempSync(join(tmpdir(), 'ariadne-prepare-b-'));
  try {
    return await fn({ a, b });
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
}

/** A store fed by a write queue through a prepare worker, and a reference store fed directly. */
interface Pipeline {
  readonly store: DuckDbSpanStore;
  readonly reference: DuckDbSpanStore;
  readonly log: IngestLog;
  readonly queue: WriteQueue;
  /** Write errors the queue reported (and retried). */
  readonly errors: unknown[];
  /** Decodes, logs and acknowledges a request through the queue. */
  submit(raw: RawRequest): Promise<void>;
}

async function withPipeline(
  maxBatchSpans: number,
  setUp: (store: DuckDbSpanStore) => void,
  fn: (p: Pipeline) => Promise<void>,
): Promise<void> {
  await withStores(async ({ a, b }) => {
    const store = await DuckDbSpanStore.open({ dataDir: a });
    const reference = await DuckDbSpanStore.open({ dataDir: b });
    const log = await IngestLog.open({ dir: join(a, 'ingest-log') });
    setUp(store);
    const worker = await PrepareWorker.start(store);
    const errors: unknown[] = [];
    const queue = new WriteQueue({
      writer: store,
      staged: worker,
      log,
      maxPendingSpans: 100_000,
      maxBatchSpans,
      onWriteError: (e) => errors.push(e),
    });
    const submit = async (raw: RawRequest) => queue.enqueueDecoded(await queue.decode(raw), raw);
    try {
      await fn({ store, reference, log, queue, errors, submit });
    } finally {
      await queue.close();
      await worker.close();
      await log.close();
      await store.close();
      await reference.close();
    }
  });
}

/**
 * Sends `requests.huge` and then `requests.small` to a worker at once: the small one's verdict
 * must come first (the huge one is prepared in slices, with pauses between), and both are stored
 * through the worker exactly as a store stores the spans of `protobuf` (the same requests in
 * protobuf) written directly.
 */
async function assertSmallBeforeHuge(
  requests: { huge: RawRequest; small: RawRequest },
  protobuf: { huge: RawRequest; small: RawRequest },
): Promise<void> {
  await withStores(async ({ a, b }) => {
    const direct = await DuckDbSpanStore.open({ dataDir: a });
    const viaWorker = await DuckDbSpanStore.open({ dataDir: b });
    const worker = await PrepareWorker.start(viaWorker);
    try {
      const answered: string[] = [];
      const noting = async (name: string, raw: RawRequest) => {
        const verdict = await worker.decode(raw);
        answered.push(name);
        return verdict;
      };
      const [hugeVerdict, smallVerdict] = await Promise.all([
        noting('huge', requests.huge),
        noting('small', requests.small),
      ]);
      assert.deepEqual(answered, ['small', 'huge']);
      const raws = [protobuf.huge, protobuf.small];
      assert.equal(hugeVerdict.accepted, decodeOtlpProtobuf(protobuf.huge.body).spans.length);
      const prepared = await worker.prepare([
        { raw: requests.huge, ticket: hugeVerdict.ticket },
        { raw: requests.small, ticket: smallVerdict.ticket },
      ]);
      await prepared.write({ source: INGEST_LOG_SOURCE, position: 2n });
      for (const raw of raws) await direct.writeSpans(decodeOtlpProtobuf(raw.body).spans);
      assert.deepEqual(await storedTraces(viaWorker, raws), await storedTraces(direct, raws));
    } finally {
      await worker.close();
      await direct.close();
      await viaWorker.close();
    }
  });
}

describe('PrepareWorker', () => {
  it('stores through the worker exactly what the store stores from decoded spans', async () => {
    await withStores(async ({ a, b }) => {
      const raws = requests(7, 6, 300);
      const direct = await DuckDbSpanStore.open({ dataDir: a });
      const viaWorker = await DuckDbSpanStore.open({ dataDir: b });
      const worker = await PrepareWorker.start(viaWorker);
      try {
        for (const raw of raws) await direct.writeSpans(decodeOtlpProtobuf(raw.body).spans);
        // Two batches, the second one prepared from bodies only (as after a restart of the worker).
        const decoded: DecodedRequest[] = [];
        for (const raw of raws.slice(0, 3)) decoded.push(await worker.decode(raw));
        assert.deepEqual(
          decoded.map((d) => d.accepted),
          [300, 300, 300],
        );
        const first = await worker.prepare(raws.slice(0, 3).map((raw, i) => ({ raw, ticket: decoded[i].ticket })));
        await first.write({ source: INGEST_LOG_SOURCE, position: 3n });
        const second = await worker.prepare(raws.slice(3).map((raw) => ({ raw })));
        await second.write({ source: INGEST_LOG_SOURCE, position: 6n });
        assert.equal(await viaWorker.readProgress(INGEST_LOG_SOURCE), 6n);
        assert.deepEqual(await storedTraces(viaWorker, raws), await storedTraces(direct, raws));
        assert.deepEqual(await viaWorker.listServices(), await direct.listServices());
      } finally {
        await worker.close();
        await direct.close();
        await viaWorker.close();
      }
    });
  });

  it('answers a small request while it still decodes a huge one, and stores both whole', async () => {
    const [huge] = requests(29, 1, 12_000);
    const [small] = requests(31, 1, 20);
    assert.ok(huge.body.length > 4 * DECODE_SLICE_BYTES, `a huge request: ${huge.body.length} bytes`);
    await assertSmallBeforeHuge({ huge, small }, { huge, small });
  });

  it('prepares a huge OTLP/JSON request in slices of spans, answering a small request meanwhile, and stores both whole', async () => {
    const sent = { huge: requests(37, 1, 3_000)[0], small: requests(41, 1, 20)[0] };
    const asJson = (raw: RawRequest): RawRequest => ({
      format: LogFormat.OTLP_JSON,
      body: Buffer.from(JSON.stringify(spansToTracesData(decodeOtlpProtobuf(raw.body).spans))),
    });
    const json = { huge: asJson(sent.huge), small: asJson(sent.small) };
    assert.ok(json.huge.body.length > 2 * DECODE_SLICE_BYTES, `a huge request: ${json.huge.body.length} bytes`);
    await assertSmallBeforeHuge(json, sent);
  });

  it('converts Zipkin requests as the receiver would on its own thread, keeps their prepared spans, and refuses an unreadable one', async () => {
    await withStores(async ({ a, b }) => {
      const direct = await DuckDbSpanStore.open({ dataDir: a });
      const viaWorker = await DuckDbSpanStore.open({ dataDir: b });
      const worker = await PrepareWorker.start(viaWorker);
      try {
        const at = unixNanos(1_750_000_000_000_000_000n);
        const sent = requests(43, 3, 1_200);
        const zipkinBodies = sent.map((raw) =>
          Buffer.from(JSON.stringify(spansToZipkin(decodeOtlpProtobuf(raw.body).spans))),
        );
        // Records in buffers of their own (as the receiver reads them) move to the worker and back.
        const given = zipkinBodies.map((body) => {
          const { format, body: record } = zipkinRecord(body, 'json-v2', at);
          const own = Buffer.allocUnsafeSlow(record.byteLength);
          record.copy(own);
          return { format, body: own };
        });
        const converted = await Promise.all(given.map((record) => worker.convertZipkin(record)));
        assert.ok(
          given.every((r) => r.body.byteLength === 0),
          'moved, not copied: the records given are empty',
        );
        const raws: RawRequest[] = [];
        for (const [i, conversion] of converted.entries()) {
          assert.equal(conversion.spans, 1_200);
          assert.ok(conversion.decoded);
          assert.equal(conversion.decoded.accepted, 1_200);
          assert.deepEqual(conversion.record, zipkinRecord(zipkinBodies[i], 'json-v2', at), 'the record back');
          raws.push(conversion.record);
          await direct.writeSpans(decodeZipkin(zipkinBodies[i], 'json-v2', { receivedUnixNano: at }));
        }
        // The first two from what the worker kept as it converted (no body sent back to it), the
        // third from its record, as a replay of the ingest log or a retry prepares it.
        const tickets = converted.map((c) => c.decoded?.ticket);
        const prepared = await worker.prepare([
          { raw: { format: raws[0].format, body: Buffer.alloc(0) }, ticket: tickets[0] },
          { raw: { format: raws[1].format, body: Buffer.alloc(0) }, ticket: tickets[1] },
          { raw: raws[2] },
        ]);
        worker.release(tickets[2] as number);
        await prepared.write({ source: INGEST_LOG_SOURCE, position: 3n });
        const ids = new Set(raws.flatMap((r) => decodeRecord(r.format, r.body).spans.map((s) => s.traceId)));
        assert.ok(ids.size > 10, `${ids.size} traces`);
        for (const id of ids) {
          assert.deepEqual(spansToApiJson(await viaWorker.getTrace(id)), spansToApiJson(await direct.getTrace(id)), id);
        }
        const empty = zipkinRecord(Buffer.from('[]'), 'json-v2', at);
        assert.deepEqual(await worker.convertZipkin(empty), { spans: 0, record: empty });
        await assert.rejects(
          worker.convertZipkin(zipkinRecord(Buffer.from('[{"traceId": '), 'json-v2', at)),
          (e: Error) => e instanceof ZipkinDecodeError && /cannot parse the body as JSON/.test(e.message),
        );
      } finally {
        await worker.close();
        await direct.close();
        await viaWorker.close();
      }
    });
  });

  it('gives the receivers its verdict: spans rejected with reasons, or an undecodable body', async () => {
    await withStores(async ({ a }) => {
      const store = await DuckDbSpanStore.open({ dataDir: a });
      const worker = await PrepareWorker.start(store);
      try {
        const request = ExportTraceServiceRequest.fromObject({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: Buffer.alloc(16, 1),
                      spanId: Buffer.alloc(8, 2),
                      name: 'ok',
                      startTimeUnixNano: 5,
                      endTimeUnixNano: 6,
                    },
                    { traceId: Buffer.alloc(15, 1), spanId: Buffer.alloc(8, 3), name: 'short-trace-id' },
                  ],
                },
              ],
            },
          ],
        });
        const body = Buffer.from(ExportTraceServiceRequest.encode(request).finish());
        const verdict = await worker.decode({ format: LogFormat.OTLP_PROTOBUF, body });
        assert.equal(verdict.accepted, 1);
        assert.equal(verdict.rejectedSpans, 1);
        assert.match(verdict.errorMessage, /short-trace-id.*trace id must be 16 bytes, got 15/);
        await assert.rejects(
          worker.decode({ format: LogFormat.OTLP_PROTOBUF, body: body.subarray(0, body.length - 3) }),
          (e: Error) => e instanceof OtlpDecodeError && /exceeds the \d+ bytes left/.test(e.message),
        );
        await assert.rejects(
          worker.decode({ format: LogFormat.OTLP_JSON, body: Buffer.from('{"resourceSpans": [') }),
          (e: Error) => e instanceof OtlpDecodeError && /invalid JSON/.test(e.message),
        );
      } finally {
        await worker.close();
        await store.close();
      }
    });
  });

  it('after a failed write, resets to what the store committed and writes every span exactly once', async () => {
    const raws = requests(11, 8, 200);
    let calls = 0;
    // The store refuses the second prepared batch once (a disk error, say): the batch prepared
    // ahead of it assumed it would commit, so both must be prepared again from the store's state.
    const failSecondWrite = (store: DuckDbSpanStore) => {
      const writePrepared = store.writePrepared.bind(store);
      store.writePrepared = (batch: PreparedBatch, progress?: WriteProgress) => {
        calls++;
        if (calls === 2) return Promise.reject(new Error('disk full'));
        return writePrepared(batch, progress);
      };
    };
    await withPipeline(400, failSecondWrite, async ({ store, reference, log, queue, errors, submit }) => {
      await Promise.all(raws.map(submit));
      assert.equal(await queue.waitForCommitted(10_000), true);
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /disk full/);
      assert.ok(calls > 2);
      for (const raw of raws) await reference.writeSpans(decodeOtlpProtobuf(raw.body).spans);
      assert.deepEqual(await storedTraces(store, raws), await storedTraces(reference, raws));
      assert.equal(await store.readProgress(INGEST_LOG_SOURCE), log.end);
    });
  });

  it('prepares again when the store took a write the worker did not see', async () => {
    const raws = requests(17, 4, 150);
    await withPipeline(
      150,
      () => undefined,
      async ({ store, reference, queue, errors, submit }) => {
        await submit(raws[0]);
        assert.equal(await queue.waitForCommitted(10_000), true);
        // A direct write (new services, keys and resources) behind the worker's back.
        await store.writeSpans(decodeOtlpProtobuf(raws[1].body).spans);
        await submit(raws[2]);
        await submit(raws[3]);
        assert.equal(await queue.waitForCommitted(10_000), true);
        // A stale batch is no failure: prepared again at once, nothing reported.
        assert.deepEqual(errors, []);
        for (const raw of raws) await reference.writeSpans(decodeOtlpProtobuf(raw.body).spans);
        assert.deepEqual(await storedTraces(store, raws), await storedTraces(reference, raws));
      },
    );
  });

  it('starts a new worker when the old one died, without mixing up what either one kept', async () => {
    await withStores(async ({ a, b }) => {
      const raws = requests(13, 4, 100);
      const store = await DuckDbSpanStore.open({ dataDir: a });
      const reference = await DuckDbSpanStore.open({ dataDir: b });
      const worker = await PrepareWorker.start(store);
      try {
        const released = await worker.decode(raws[0]);
        worker.release(released.ticket as number);
        const lost = await worker.decode(raws[1]);
        // Kill the thread under it, with a request pending: that one fails, and the next call
        // brings up a new worker. Its tickets must not collide with the old worker's: raws[1]'s
        // kept spans died with it.
        const thread = (worker as unknown as { worker: { terminate(): Promise<number> } }).worker;
        const pending = worker.decode(raws[0]);
        await thread.terminate();
        await assert.rejects(pending, /prepare worker exited/);
        const again = await worker.decode(raws[2]);
        const more = await worker.decode(raws[3]);
        assert.equal(again.accepted, 100);
        assert.notEqual(again.ticket, lost.ticket);
        const prepared = await worker.prepare([
          { raw: raws[1], ticket: lost.ticket },
          { raw: raws[2], ticket: again.ticket },
          { raw: raws[3], ticket: more.ticket },
        ]);
        await prepared.write({ source: INGEST_LOG_SOURCE, position: 1n });
        for (const raw of raws.slice(1)) await reference.writeSpans(decodeOtlpProtobuf(raw.body).spans);
        assert.deepEqual(await storedTraces(store, raws.slice(1)), await storedTraces(reference, raws.slice(1)));
      } finally {
        await worker.close();
        await store.close();
        await reference.close();
      }
    });
  });
});

const chdb = loadChdb();

describe('PrepareWorker on ClickHouse (chdb), without an ingest log', {
  skip: typeof chdb === 'string' && process.env.CI !== 'true' ? chdb : false,
}, () => {
  if (typeof chdb === 'string') {
    it('needs chdb', () => assert.fail(chdb));
    return;
  }
  // Holds the process's one chdb session open across the stores of these tests.
  const keeper = chdbExecutor(chdb);
  after(() => keeper.close());
  let databases = 0;
  const open = () =>
    ClickHouseSpanStore.open({
      executor: chdbExecutor(chdb),
      database: `prepare_worker_${process.pid}_${++databases}`,
      logger: silentLogger,
    });

  it('acknowledges a request once its rows, built on the worker, are inserted; a failed insert fails its requests only', async () => {
    const raws = requests(23, 4, 250);
    const store = await open();
    const reference = await open();
    let failNext = false;
    // The store's own preparer module, with one insert that fails (ClickHouse down, say).
    const writer: PreparedWriter<ClickHousePreparerState, PreparedRows | undefined> = {
      preparerModule: store.preparerModule,
      preparerState: () => store.preparerState(),
      writePrepared: (rows, progress) => {
        if (!failNext) return store.writePrepared(rows, progress);
        failNext = false;
        return Promise.reject(new Error('ClickHouse is unavailable'));
      },
    };
    const worker = await PrepareWorker.start(writer);
    const queue = new WriteQueue({ writer: store, staged: worker, maxPendingSpans: 100_000, maxBatchSpans: 500 });
    const submit = async (raw: RawRequest) => {
      const decoded = await queue.decode(raw);
      // Decoded on the worker, which keeps the spans: only the verdict crosses over.
      assert.equal(decoded.spans, undefined);
      assert.equal(decoded.accepted, 250);
      return queue.enqueueDecoded(decoded, raw);
    };
    try {
      await Promise.all(raws.slice(0, 4).map(submit));
      // Nothing kept on this node: once acknowledged, the spans are in ClickHouse.
      for (const raw of raws.slice(0, 4)) await reference.writeSpans(decodeOtlpProtobuf(raw.body).spans);
      assert.deepEqual(await storedTraces(store, raws.slice(0, 4)), await storedTraces(reference, raws.slice(0, 4)));

      // A resource no earlier request had, first in an insert that fails: the worker took its
      // text for stored, so it must start afresh and write the text with the next request.
      const fresh = (name: string, spanByte: number): RawRequest => ({
        format: LogFormat.OTLP_PROTOBUF,
        body: Buffer.from(
          ExportTraceServiceRequest.encode(
            ExportTraceServiceRequest.fromObject({
              resourceSpans: [
                {
                  resource: { attributes: [{ key: 'service.name', value: { stringValue: 'afresh' } }] },
                  scopeSpans: [
                    {
                      spans: [
                        {
                          traceId: Buffer.alloc(16, spanByte),
                          spanId: Buffer.alloc(8, spanByte),
                          name,
                          startTimeUnixNano: 1_750_000_000_000_000_000,
                          endTimeUnixNano: 1_750_000_000_001_000_000,
                        },
                      ],
                    },
                  ],
                },
              ],
            }),
          ).finish(),
        ),
      });
      failNext = true;
      await assert.rejects(queue.enqueueDecoded(await queue.decode(fresh('lost', 7)), fresh('lost', 7)), /unavailable/);
      assert.equal(queue.pending, 0);
      const kept = fresh('kept', 8);
      await queue.enqueueDecoded(await queue.decode(kept), kept);
      const [span] = await store.getTrace('08'.repeat(16));
      assert.equal(span?.serviceName, 'afresh');
      assert.deepEqual(
        span.resource.attributes.map((a) => a.key),
        ['service.name'],
        "the resource's text was written with the request after the failed insert",
      );
    } finally {
      await queue.close();
      await worker.close();
      await store.close();
      await reference.close();
    }
  });
});
