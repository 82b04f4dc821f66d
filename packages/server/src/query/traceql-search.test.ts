import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileTraceQL, type Span, unixNanos } from '@ariadne/core';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import type { SpanReader, TraceCandidateQuery } from './span-store.ts';
import { searchTraceQL } from './traceql-search.ts';

const T0 = 1_770_000_000_000_000_000n;

const resource = (service: string) => ({
  attributes: [{ key: 'service.name', value: { type: 'string' as const, value: service } }],
  droppedAttributesCount: 0,
  schemaUrl: '',
});

/** Trace i: a root and a child, all 300 starting at the same instant; every tenth child fails. */
function trace(i: number): Span[] {
  const traceId = i.toString(16).padStart(32, '0');
  const base = {
    traceId,
    traceState: '',
    flags: 1,
    kind: 2,
    startTimeUnixNano: unixNanos(T0),
    endTimeUnixNano: unixNanos(T0 + 5_000_000n),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    scope: { name: 's', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  };
  return [
    {
      ...base,
      spanId: `${(i + 1).toString(16).padStart(12, '0')}0001`,
      parentSpanId: '',
      name: 'root',
      attributes: [{ key: 'n', value: { type: 'int', value: BigInt(i) } }],
      status: { code: 0, message: '' },
      serviceName: 'front',
      resource: resource('front'),
    },
    {
      ...base,
      spanId: `${(i + 1).toString(16).padStart(12, '0')}0002`,
      parentSpanId: `${(i + 1).toString(16).padStart(12, '0')}0001`,
      name: `child-${i}`,
      attributes: [],
      status: { code: i % 10 === 0 ? 2 : 0, message: '' },
      serviceName: 'back',
      resource: resource('back'),
    },
  ];
}

describe('TraceQL search over a store', () => {
  let dir: string;
  let store: DuckDbSpanStore;
  const pages: TraceCandidateQuery[] = [];
  let reader: SpanReader;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-traceql-'));
    store = await DuckDbSpanStore.open({ dataDir: dir });
    await store.writeSpans(Array.from({ length: 300 }, (_, i) => trace(i)).flat());
    // The store as the engine sees it, recording each candidate page asked for.
    reader = Object.assign(Object.create(store) as DuckDbSpanStore, {
      findTraceCandidates: (q: TraceCandidateQuery) => {
        pages.push(q);
        return store.findTraceCandidates(q);
      },
    });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const search = (q: string, limit: number, maxTracesEvaluated?: number) =>
    searchTraceQL(reader, compileTraceQL(q), { limit, source: q, maxTracesEvaluated });

  it('pages through candidates that share one instant until enough traces match, none twice', async () => {
    pages.length = 0;
    // The regex is not pushed down: every trace is a candidate, in pages of 20, 40, 80 and 160;
    // matches are the children named child-2x (x one digit), found on whichever page holds them.
    const result = await search('{ name =~ "child-2[0-9]" }', 20);
    assert.deepEqual(
      result.traces.map((t) => t.summary.traceId),
      Array.from({ length: 10 }, (_, k) => (20 + k).toString(16).padStart(32, '0')),
    );
    assert.equal(result.tracesInspected, 300);
    assert.equal(result.truncated, false);
    assert.deepEqual(
      pages.map((p) => p.limit),
      [20, 40, 80, 160, 320],
      'pages double until one comes back short (here empty)',
    );
  });

  it('stops at the limit, and at the evaluation budget with truncated set', async () => {
    const first = await search('{ status = error }', 3);
    assert.deepEqual(
      first.traces.map((t) => t.summary.traceId),
      ['0', 'a', '14'].map((h) => h.padStart(32, '0')),
    );
    assert.equal(first.tracesInspected, 3, 'status is pushed down: only failing traces are read');
    const capped = await search('{ name =~ "child-29[0-9]" }', 10, 100);
    assert.equal(capped.truncated, true);
    assert.equal(capped.traces.length, 0);
    assert.equal(capped.tracesInspected, 150, 'stops after the page that reached the budget: 10 + 20 + 40 + 80');
  });

  it('evaluates the whole trace: structure across spans, and counts', async () => {
    const r = await search('{ resource.service.name = "front" } > { status = error } | count() = 1', 100);
    assert.equal(r.traces.length, 30);
    assert.deepEqual(
      r.traces[0].match.spansets[0].spans.map((s) => s.name),
      ['child-0'],
    );
  });
});
