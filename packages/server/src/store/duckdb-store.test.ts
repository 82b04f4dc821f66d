import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Span, unixNanos } from '@ariadne/core';
import { searchFormSummaries } from '../query/form-search.ts';
import { BatchPreparer } from './batch-preparer.ts';
import { DuckDbSpanStore, StalePreparedBatchError } from './duckdb-store.ts';
import { runSpanStoreContract } from './span-store.contract.ts';
import { runTraceQLContract } from './traceql.contract.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ariadne-duckdb-'));
}

describe('DuckDbSpanStore', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));
  runSpanStoreContract({
    open: () => DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' }),
    reopen: () => DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' }),
  });
  runTraceQLContract(() => DuckDbSpanStore.open({ dataDir: join(dir, 'traceql'), memoryLimit: '512MB' }));
});

describe('DuckDbSpanStore without the attribute index, widening from a 1 ms window', () => {
  // Every value counts as frequent at once, so every attribute search scans; and every search
  // starts from a tiny window, so the widening loop runs many times.
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));
  const options = { memoryLimit: '512MB', attributeIndexThreshold: 1, firstSearchWindowNanos: 1_000_000n };
  const open = () => DuckDbSpanStore.open({ ...options, dataDir: dir });
  runSpanStoreContract({ open, reopen: open });
  runTraceQLContract(() => DuckDbSpanStore.open({ ...options, dataDir: join(dir, 'traceql') }));
});

const MINUTE = 60_000_000_000n;

describe('DuckDbSpanStore huge traces', () => {
  it('returns every field of a 4,500-span trace exactly, in start order, also with separators in strings', async () => {
    const dir = tempDir();
    const store = await DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' });
    try {
      const base = BigInt(Date.now()) * 1_000_000n;
      const spans: Span[] = Array.from({ length: 4500 }, (_, i) => {
        const s = span(0, base + BigInt((i * 7919) % 4500) * 1000n, true);
        return {
          ...s,
          spanId: (i + 1).toString(16).padStart(16, '0'),
          parentSpanId: i === 0 ? '' : '0000000000000001',
          name: `op-${i % 17}`,
          serviceName: `svc-${i % 5}`,
          traceState: i % 100 === 0 ? 'k=v' : '',
          status: i % 50 === 0 ? { code: 2, message: 'broken\x1cseparator' } : { code: 0, message: '' },
          attributes: [
            { key: 'i', value: { type: 'int', value: BigInt(i) } },
            { key: 'same', value: { type: 'string', value: i === 4499 ? 'x\x1cy' : 'x' } },
          ],
          events:
            i % 10 === 0
              ? [{ timeUnixNano: unixNanos(base), name: 'e', attributes: [], droppedAttributesCount: 0 }]
              : [],
        };
      });
      await store.writeSpans(spans.slice(0, 2500));
      await store.writeSpans(spans.slice(2500));
      const expected = [...spans].sort((a, b) =>
        a.startTimeUnixNano === b.startTimeUnixNano
          ? a.spanId.localeCompare(b.spanId)
          : a.startTimeUnixNano < b.startTimeUnixNano
            ? -1
            : 1,
      );
      assert.deepEqual(await store.getTrace(spans[0].traceId), expected);
      // Without the separator in any string, the packed read is taken.
      const clean = spans.map((s) => ({
        ...s,
        traceId: 'f'.repeat(32),
        status: { code: 0, message: 'fine' },
        attributes: s.attributes.slice(0, 1),
      }));
      await store.writeSpans(clean);
      const got = await store.getTrace('f'.repeat(32));
      assert.equal(got.length, 4500);
      assert.deepEqual(
        got,
        expected.map((s) => ({
          ...s,
          traceId: 'f'.repeat(32),
          status: { code: 0, message: 'fine' },
          attributes: s.attributes.slice(0, 1),
        })),
      );
      // The separator only inside one attribute value: still exact.
      const attrOnly = spans.map((s) => ({ ...s, traceId: 'e'.repeat(32), status: { code: 0, message: 'fine' } }));
      await store.writeSpans(attrOnly);
      assert.deepEqual(
        await store.getTrace('e'.repeat(32)),
        expected.map((s) => ({ ...s, traceId: 'e'.repeat(32), status: { code: 0, message: 'fine' } })),
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DuckDbSpanStore trace order', () => {
  it('returns a trace written in several batches ordered by start, then span id', async () => {
    const dir = tempDir();
    const store = await DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' });
    try {
      const base = BigInt(Date.now()) * 1_000_000n;
      // Starts repeat (ties broken by span id) and later batches hold earlier spans.
      const starts = [5n, 3n, 3n, 9n, 0n, 3n, 7n, 0n, 5n, 1n, 8n, 2n];
      const spans = starts.map((offset, i) => ({
        ...span(0, base + offset * 1000n),
        spanId: (((i * 7) % 12) + 1).toString(16).padStart(16, '0'),
      }));
      await store.writeSpans(spans.slice(8));
      await store.writeSpans(spans.slice(0, 4));
      await store.writeSpans(spans.slice(4, 8));
      const expected = [...spans].sort((a, b) =>
        a.startTimeUnixNano !== b.startTimeUnixNano
          ? a.startTimeUnixNano < b.startTimeUnixNano
            ? -1
            : 1
          : a.spanId.localeCompare(b.spanId),
      );
      assert.deepEqual(
        (await store.getTrace(spans[0].traceId)).map((s) => s.spanId),
        expected.map((s) => s.spanId),
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DuckDbSpanStore pages of traces', () => {
  it('reads a page of traces as getTrace reads each, also a trace written in two parts and an unknown id', async () => {
    const dir = tempDir();
    const store = await DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' });
    try {
      const base = BigInt(Date.now()) * 1_000_000n;
      const str = (key: string, value: string) => ({ key, value: { type: 'string' as const, value } });
      const child = (traceNo: number, n: number, offset: bigint, service: string): Span => {
        const s = span(traceNo, base + offset);
        return {
          ...s,
          spanId: (traceNo * 100 + n).toString(16).padStart(16, '0'),
          parentSpanId: n === 0 ? '' : (traceNo * 100).toString(16).padStart(16, '0'),
          name: `op-${n % 3}`,
          serviceName: service,
          attributes: [str('http.method', n % 2 === 0 ? 'GET' : 'POST'), str(`k${n}`, `v${traceNo}`)],
          events:
            n === 1 ? [{ timeUnixNano: unixNanos(base), name: 'e', attributes: [], droppedAttributesCount: 0 }] : [],
          resource: { ...s.resource, attributes: [str('service.name', service)] },
        };
      };
      // Trace 1 in two parts, the second holding earlier spans and a tie on start; trace 2 in one
      // part; trace 3 (not asked for) in the same time range; trace 4 with the packed read's separator.
      const first = [child(1, 0, 50n, 'a'), child(1, 1, 60n, 'b'), child(1, 2, 70n, 'a')];
      const second = [child(1, 3, 10n, 'c'), child(1, 4, 60n, 'b')];
      const other = [child(2, 0, 20n, 'a'), child(2, 1, 5n, 'b'), child(3, 0, 30n, 'a')];
      const separator = [{ ...child(4, 0, 40n, 'a'), name: 'op\x1cname' }, child(4, 1, 45n, 'b')];
      await store.writeSpans([...first, ...other]);
      await store.writeSpans([...second, ...separator]);
      const ids = [1, 2, 4].map((no) => span(no, 0n).traceId);
      const unknown = 'abc'.padStart(32, '0');
      const check = async (page: string[]) => {
        const got = await store.getTraces(page);
        assert.deepEqual([...got.keys()], page);
        for (const id of page) assert.deepEqual(got.get(id), await store.getTrace(id), `trace ${id}`);
      };
      assert.equal((await store.getTrace(ids[0])).length, 5);
      assert.deepEqual(await store.getTrace(unknown), []);
      await check([ids[0], unknown, ids[1]]);
      await check([...ids, unknown]);
      await check([unknown]);
      await check([]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DuckDbSpanStore attribute columns', () => {
  it('keeps attributes beyond the slot columns and repeated keys exactly, searchable, across a restart', async () => {
    const dir = tempDir();
    let store = await DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' });
    try {
      const base = BigInt(Date.now()) * 1_000_000n;
      const str = (key: string, value: string) => ({ key, value: { type: 'string' as const, value } });
      // 45 distinct keys in the first span (more than there are slot columns), a key twice in the second.
      const wide: Span = {
        ...span(1, base),
        attributes: Array.from({ length: 45 }, (_, i) => str(`key.${i}`, `value-${i}`)),
      };
      const repeated: Span = {
        ...span(2, base + 1n),
        attributes: [str('key.3', 'first'), str('late.key', 'z'), str('key.3', 'second'), str('key.44', 'w')],
      };
      // The separator of packed reads inside a name and an attribute value of a small trace.
      const separators: Span = {
        ...span(4, base + 3n),
        name: 'op\x1cname',
        attributes: [str('key.0', 'v\x1cw'), str('sep\x1ckey', 'x')],
      };
      await store.writeSpans([wide]);
      await store.writeSpans([repeated, separators]);
      const check = async () => {
        assert.deepEqual(await store.getTrace(wide.traceId), [wide]);
        assert.deepEqual(await store.getTrace(repeated.traceId), [repeated]);
        assert.deepEqual(await store.getTrace(separators.traceId), [separators]);
        const find = async (key: string, value: string) =>
          (await searchFormSummaries(store, { attributes: [{ key, value }], limit: 10 })).map((t) => t.traceId);
        assert.deepEqual(await find('key.0', 'value-0'), [wide.traceId]); // a slot column
        assert.deepEqual(await find('key.40', 'value-40'), [wide.traceId]); // the rest list
        // A repeated key (invalid in OTLP, kept as sent): TraceQL reads its first value.
        assert.deepEqual(await find('key.3', 'second'), []);
        assert.deepEqual(await find('key.3', 'first'), [repeated.traceId]);
        assert.deepEqual(await find('key.44', 'w'), [repeated.traceId]);
        assert.deepEqual(await find('key.3', 'value-3'), [wide.traceId]);
        assert.deepEqual(await find('key.3', 'nothing'), []);
      };
      await check();
      await store.close();
      store = await DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' });
      await check();
      // After the restart, new spans use the same slots.
      const again: Span = { ...span(3, base + 2n), attributes: [str('key.1', 'again'), str('key.40', 'r')] };
      await store.writeSpans([again]);
      assert.deepEqual(await store.getTrace(again.traceId), [again]);
      assert.deepEqual(
        (await searchFormSummaries(store, { attributes: [{ key: 'key.1', value: 'again' }], limit: 10 })).map(
          (t) => t.traceId,
        ),
        [again.traceId],
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function span(traceNo: number, startNs: bigint, attrs = true): Span {
  return {
    traceId: (traceNo + 1).toString(16).padStart(32, '0'),
    spanId: (traceNo + 1).toString(16).padStart(16, '0'),
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'op',
    kind: 2,
    startTimeUnixNano: unixNanos(startNs),
    endTimeUnixNano: unixNanos(startNs + 1000n),
    attributes: attrs ? [{ key: 'n', value: { type: 'int', value: BigInt(traceNo) } }] : [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    serviceName: 'svc',
    resource: {
      attributes: [{ key: 'service.name', value: { type: 'string', value: 'svc' } }],
      droppedAttributesCount: 0,
      schemaUrl: '',
    },
    scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  };
}

describe('DuckDbSpanStore writes prepared elsewhere', () => {
  /** Runs `fn` on a store (with `options`) in a fresh directory, then closes and removes it. */
  async function withStore(
    options: { attributeIndexThreshold?: number },
    fn: (store: DuckDbSpanStore) => Promise<void>,
  ): Promise<void> {
    const dir = tempDir();
    const store = await DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB', ...options });
    try {
      await fn(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const base = BigInt(Date.now()) * 1_000_000n;
  const variant = (traceNo: number, service: string, key: string): Span => {
    const s = span(traceNo, base + BigInt(traceNo) * 1000n);
    return {
      ...s,
      name: `op-${key}`,
      serviceName: service,
      attributes: [
        { key, value: { type: 'string', value: `${key}-value` } },
        { key: 'n', value: { type: 'int', value: BigInt(traceNo) } },
      ],
      resource: { ...s.resource, attributes: [{ key: 'service.name', value: { type: 'string', value: service } }] },
    };
  };
  it('keeps slots, resources and operations consistent when prepared and direct writes alternate', async () => {
    await withStore({}, async (store) => {
      // The store's own preparer sees batch 1; another preparer (as on the ingest worker) batch 2;
      // the store's preparer must then start from the database, not from what it saw before.
      await store.writeSpans([variant(1, 'alpha', 'first.key')]);
      const elsewhere = new BatchPreparer(await store.preparerState());
      await store.writePrepared(elsewhere.prepare([variant(2, 'beta', 'second.key')]));
      await store.writeSpans([variant(3, 'gamma', 'third.key')]);
      await store.writePrepared(
        new BatchPreparer(await store.preparerState()).prepare([variant(4, 'delta', 'first.key')]),
      );
      for (const [no, service, key] of [
        [1, 'alpha', 'first.key'],
        [2, 'beta', 'second.key'],
        [3, 'gamma', 'third.key'],
        [4, 'delta', 'first.key'],
      ] as const) {
        const want = variant(no, service, key);
        const [got] = await store.getTrace(want.traceId);
        assert.deepEqual(got.attributes, want.attributes, `attributes of trace ${no}`);
        assert.equal(got.serviceName, service);
        assert.deepEqual(got.resource.attributes, want.resource.attributes, `resource of trace ${no}`);
        assert.deepEqual(await store.listOperations(service), [`op-${key}`]);
        const found = await searchFormSummaries(store, { attributes: [{ key, value: `${key}-value` }], limit: 10 });
        assert.ok(
          found.some((t) => t.traceId === want.traceId),
          `search by ${key} finds trace ${no}`,
        );
      }
      assert.deepEqual(await store.listServices(), ['alpha', 'beta', 'delta', 'gamma']);
      // A batch prepared before a write it did not see is refused, not stored with stale numbers.
      const stale = new BatchPreparer(await store.preparerState()).prepare([variant(5, 'epsilon', 'fifth.key')]);
      await store.writeSpans([variant(6, 'zeta', 'sixth.key')]);
      await assert.rejects(
        store.writePrepared(stale),
        (e: Error) =>
          e instanceof StalePreparedBatchError && /prepared as write 5, the store's next write is 6/.test(e.message),
      );
      assert.deepEqual(await store.getTrace(variant(5, 'epsilon', 'fifth.key').traceId), []);
    });
  });

  it('marks a value frequent once, however many parts prepared before the mark hold it', async () => {
    // Threshold 1: a value is frequent as soon as one batch holds it.
    await withStore({ attributeIndexThreshold: 1 }, async (store) => {
      const preparer = new BatchPreparer(await store.preparerState());
      const early = preparer.preparePart([variant(1, 'svc', 'k')]);
      const late = preparer.preparePart([variant(2, 'svc', 'k')]);
      const marking = preparer.combine([late]);
      assert.ok(marking.frequentMarks.length > 0);
      await store.writePrepared(marking);
      const again = preparer.combine([early]);
      // k=k-value was marked by the batch before; only early's own n=1 is new.
      assert.equal(again.frequentMarks.length, 1);
      assert.ok(!marking.frequentMarks.includes(again.frequentMarks[0]));
      await store.writePrepared(again);
      for (const no of [1, 2]) {
        const found = await searchFormSummaries(store, { attributes: [{ key: 'k', value: 'k-value' }], limit: 10 });
        assert.ok(found.some((t) => t.traceId === variant(no, 'svc', 'k').traceId));
      }
    });
  });

  it('after a write that fails inside its transaction, takes the next one', async () => {
    await withStore({ attributeIndexThreshold: 1 }, async (store) => {
      await store.writeSpans([variant(1, 'svc', 'k')]);
      const preparer = new BatchPreparer(await store.preparerState());
      const batch = preparer.prepare([variant(2, 'svc', 'other')]);
      // A resource without a service: its insert, after the span chunks, fails on NOT NULL.
      const broken = { id: 1n, no: 999, service: null as unknown as string, attributes: '', body: '{}' };
      await assert.rejects(
        store.writePrepared({ ...batch, resources: [...batch.resources, broken] }),
        /NOT NULL constraint/,
      );
      await store.writeSpans([variant(3, 'svc', 'third')]);
      assert.equal((await store.getTrace(variant(3, 'svc', 'third').traceId)).length, 1);
      assert.deepEqual(await store.getTrace(variant(2, 'svc', 'other').traceId), []);
    });
  });

  it('does not reuse what another preparer derived from the same attribute objects', async () => {
    await withStore({}, async (store) => {
      const shared: Span['attributes'] = [
        { key: 'a.key', value: { type: 'string', value: 'a-value' } },
        { key: 'x.key', value: { type: 'string', value: 'x-value' } },
      ];
      const withShared = (traceNo: number): Span => ({ ...variant(traceNo, 'svc', 'a.key'), attributes: shared });
      // A preparer whose batch is never written gives a.key and x.key slots in that order ...
      new BatchPreparer(await store.preparerState()).prepare([withShared(1)]);
      // ... while the store commits them in the other order.
      await store.writeSpans([
        {
          ...variant(2, 'svc', 'x.key'),
          attributes: [
            { key: 'x.key', value: { type: 'string', value: 'other' } },
            { key: 'a.key', value: { type: 'string', value: 'other' } },
          ],
        },
      ]);
      // A preparer from the store's state, given the very same attribute objects.
      await store.writePrepared(new BatchPreparer(await store.preparerState()).prepare([withShared(3)]));
      const [got] = await store.getTrace(withShared(3).traceId);
      assert.deepEqual(got.attributes, shared);
      const found = await searchFormSummaries(store, { attributes: [{ key: 'x.key', value: 'x-value' }], limit: 10 });
      assert.deepEqual(
        found.map((t) => t.traceId),
        [withShared(3).traceId],
      );
    });
  });

  it('commits with each batch every assignment its parts rely on, also those made for parts never written', async () => {
    await withStore({}, async (store) => {
      // As on the ingest worker: each request prepared as a part when it arrives, parts combined
      // into batches later, in another order, and a refused request's part dropped.
      const preparer = new BatchPreparer(await store.preparerState());
      const dropped = preparer.preparePart([variant(1, 'alpha', 'new.key')]); // gives new.key its slot
      const later = preparer.preparePart([variant(2, 'beta', 'new.key'), variant(3, 'beta', 'other.key')]);
      const first = preparer.preparePart([variant(4, 'gamma', 'new.key')]);
      assert.equal(dropped.spanCount, 1);
      await store.writePrepared(preparer.combine([first]));
      await store.writePrepared(preparer.combine([later]));
      for (const [no, service, key] of [
        [2, 'beta', 'new.key'],
        [3, 'beta', 'other.key'],
        [4, 'gamma', 'new.key'],
      ] as const) {
        const want = variant(no, service, key);
        const [got] = await store.getTrace(want.traceId);
        assert.deepEqual(got.attributes, want.attributes, `attributes of trace ${no}`);
        assert.equal(got.serviceName, service);
        const found = await searchFormSummaries(store, { attributes: [{ key, value: `${key}-value` }], limit: 10 });
        assert.ok(
          found.some((t) => t.traceId === want.traceId),
          `search by ${key} finds trace ${no}`,
        );
      }
      assert.deepEqual(await store.getTrace(variant(1, 'alpha', 'new.key').traceId), []);
      assert.deepEqual(await store.listOperations('beta'), ['op-new.key', 'op-other.key']);
      // The store's state now holds what the batches committed: a new preparer agrees.
      const fresh = new BatchPreparer(await store.preparerState());
      await store.writePrepared(fresh.prepare([variant(5, 'gamma', 'other.key')]));
      const [fifth] = await store.getTrace(variant(5, 'gamma', 'other.key').traceId);
      assert.deepEqual(fifth.attributes, variant(5, 'gamma', 'other.key').attributes);
    });
  });
});

describe('DuckDbSpanStore retention', () => {
  it('deletes spans older than the cutoff, keeps newer ones, and frees their space', async () => {
    const dir = tempDir();
    const store = await DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' });
    try {
      const now = BigInt(Date.now()) * 1_000_000n;
      const old = now - 180n * MINUTE;
      // Enough old spans for whole row groups (DuckDB frees a row group once all its rows are gone).
      const OLD = 300_000;
      for (let first = 0; first < OLD; first += 50_000) {
        await store.writeSpans(
          Array.from({ length: 50_000 }, (_, i) => span(first + i, old + BigInt(first + i) * 10_000n)),
        );
      }
      await store.writeSpans([span(OLD, now - MINUTE), span(OLD + 1, now)]);
      await store.checkpoint();
      const before = await store.databaseBytes();
      await store.deleteBefore(now - 60n * MINUTE);
      const afterBytes = await store.databaseBytes();
      // The last row group also holds the two new spans, so it stays; and DuckDB packs small
      // column segments of several row groups into one block, freed only once all are gone.
      assert.ok(afterBytes < before * 0.7, `used bytes ${before} → ${afterBytes}`);
      assert.deepEqual(await store.getTrace(span(5, 0n).traceId), []);
      assert.equal((await store.getTrace(span(OLD, 0n).traceId)).length, 1);
      const found = await searchFormSummaries(store, { service: 'svc', limit: 10 });
      assert.deepEqual(
        found.map((t) => t.traceId),
        [span(OLD + 1, 0n).traceId, span(OLD, 0n).traceId],
      );
      assert.equal(
        (await searchFormSummaries(store, { attributes: [{ key: 'n', value: String(OLD) }], limit: 5 })).length,
        1,
      );
      // New data reuses the freed blocks instead of growing the file.
      await store.writeSpans(Array.from({ length: 50_000 }, (_, i) => span(OLD + 2 + i, now + BigInt(i), false)));
      await store.checkpoint();
      assert.ok((await store.databaseBytes()) < before, 'freed blocks are reused');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops listing services and operations whose spans retention deleted, and lists them again when they return', async () => {
    const dir = tempDir();
    const store = await DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' });
    const named = (no: number, start: bigint, service: string, name: string): Span => {
      const s = span(no, start);
      return { ...s, serviceName: service, name, resource: { ...s.resource, attributes: [] } };
    };
    try {
      const now = BigInt(Date.now()) * 1_000_000n;
      const old = now - 180n * MINUTE;
      // A long name (stored in the string heap) and one that comes back after three hours.
      const longName = 'GET /a/route/name/longer/than/twelve/bytes';
      await store.writeSpans([
        named(1, old, 'retired', longName),
        named(2, old, 'aging', 'old-op'),
        named(3, old + MINUTE, 'aging', 'kept-op'),
        named(4, old, 'returning', 'op'),
      ]);
      await store.writeSpans([named(5, now - MINUTE, 'aging', 'kept-op'), named(6, now, 'returning', 'op')]);
      // A preparer started now believes every pair stored; retention deletes some of them.
      const earlier = new BatchPreparer(await store.preparerState());
      await store.deleteBefore(now - 60n * MINUTE);
      assert.deepEqual(await store.listServices(), ['aging', 'returning']);
      assert.deepEqual(await store.listOperations('aging'), ['kept-op']);
      assert.deepEqual(await store.listOperations('retired'), []);
      // Spans of a deleted pair, prepared by that earlier preparer (which takes the pairs for
      // stored): listed again.
      await store.writePrepared(
        earlier.prepare([named(7, now, 'retired', longName), named(8, now, 'aging', 'old-op')]),
      );
      assert.deepEqual(await store.listServices(), ['aging', 'retired', 'returning']);
      assert.deepEqual(await store.listOperations('retired'), [longName]);
      assert.deepEqual(await store.listOperations('aging'), ['kept-op', 'old-op']);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs continuously with a short retention while writes go on (mock timers)', async (t) => {
    const NOW_MS = 1_700_000_000_000;
    const INTERVAL_MS = 1_000;
    // The timer's clock and interval are mocked; every run is recorded, also the one at the start.
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: NOW_MS });
    const runs = t.mock.method(DuckDbSpanStore.prototype, 'deleteBefore').mock;
    const dir = tempDir();
    const store = await DuckDbSpanStore.open({
      dataDir: dir,
      memoryLimit: '512MB',
      retentionNanos: 10n * MINUTE,
      retentionIntervalMs: INTERVAL_MS,
    });
    const stored = async () =>
      (await searchFormSummaries(store, { service: 'svc', limit: 100 }))
        .map((trace) => Number.parseInt(trace.traceId, 16) - 1)
        .sort((a, b) => a - b);
    /** Resolves once run `n` has ended, for the timer too (it notes the end a few promise steps later). */
    const runEnded = async (n: number) => {
      await runs.calls[n].result;
      await new Promise((resolve) => setImmediate(resolve));
    };
    try {
      assert.equal(runs.callCount(), 1, 'retention runs once at the start');
      await runEnded(0);
      const now = BigInt(NOW_MS) * 1_000_000n;
      const fresh: number[] = [];
      for (let i = 0; i < 40; i++) {
        // Alternately a span from an hour ago (to be deleted) and a fresh one (to be kept); the
        // interval passes while its write is under way.
        const old = i % 2 === 0;
        const written = store.writeSpans([span(i, old ? now - 60n * MINUTE : now)]);
        t.mock.timers.tick(INTERVAL_MS);
        const started = runs.callCount() === i + 2;
        await Promise.all([written, started && runEnded(i + 1)]);
        assert.ok(started, `retention runs at every interval: ${runs.callCount() - 1} runs after ${i + 1} intervals`);
        if (!old) fresh.push(i);
        // The run deleted every span that was older than its cutoff when it began; the one
        // written beside it may be there still.
        assert.deepEqual(
          (await stored()).filter((no) => no !== i),
          fresh.filter((no) => no !== i),
          `after run ${i + 1}: no old span but the one written beside it, every fresh one`,
        );
      }
      assert.deepEqual(await stored(), fresh, 'only the 20 fresh (odd-numbered) spans remain');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
