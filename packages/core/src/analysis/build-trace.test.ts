import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Span } from '../model/span.ts';
import { buildTrace, type Trace } from './build-trace.ts';
import { BASE_NANOS, testId, testSpan } from './test-support.ts';

function names(trace: Trace, list: ArrayLike<number>): string[] {
  return Array.from(list, (i) => trace.spans[i].name);
}

function childrenNames(trace: Trace, name: string): string[] {
  const i = trace.spans.findIndex((s) => s.name === name);
  return names(trace, trace.children.subarray(trace.childStart[i], trace.childStart[i + 1]));
}

function offsets(trace: Trace, name: string): [bigint, bigint] {
  const span = trace.spans.find((s) => s.name === name)!;
  return [span.startTimeUnixNano - BASE_NANOS, span.endTimeUnixNano - BASE_NANOS];
}

function codes(trace: Trace): string[] {
  return trace.warnings.map((w) => w.code);
}

describe('buildTrace', () => {
  it('sorts children by start and keeps input order for ties', () => {
    // root |--------------|
    //   c        |--|
    //   a   |--|
    //   b   |----|
    const trace = buildTrace([
      testSpan({ id: 'c', parent: 'root', start: 6, end: 8 }),
      testSpan({ id: 'root', start: 0, end: 10 }),
      testSpan({ id: 'a', parent: 'root', start: 1, end: 3 }),
      testSpan({ id: 'b', parent: 'root', start: 1, end: 5 }),
    ]);
    assert.deepEqual(childrenNames(trace, 'root'), ['a', 'b', 'c']);
    assert.deepEqual(names(trace, trace.preorder), ['root', 'a', 'b', 'c']);
    assert.equal(trace.spans[trace.rootIndex].name, 'root');
    assert.deepEqual(trace.warnings, []);
  });

  it('never mutates its input', () => {
    const input = [
      testSpan({ id: 'root', start: 0, end: 10, host: 'h1' }),
      testSpan({ id: 'a', parent: 'root', start: 50, end: 54, host: 'h2' }),
      testSpan({ id: 'a', parent: 'root', start: 2, end: 1 }),
    ];
    const frozen = input.map((s) => Object.freeze({ ...s }));
    Object.freeze(frozen);
    const before = JSON.stringify(frozen, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    buildTrace(frozen);
    assert.equal(
      JSON.stringify(frozen, (_, v) => (typeof v === 'bigint' ? v.toString() : v)),
      before,
    );
  });

  it('drops exact duplicates and renames other repeated ids', () => {
    const trace = buildTrace([
      testSpan({ id: 'root', start: 0, end: 10 }),
      testSpan({ id: 'a', parent: 'root', start: 1, end: 2 }),
      testSpan({ id: 'a', parent: 'root', start: 1, end: 2 }),
      testSpan({ id: 'a', parent: 'root', start: 3, end: 4, name: 'again' }),
    ]);
    assert.equal(trace.size, 3);
    assert.deepEqual(codes(trace), ['duplicate-span', 'duplicate-span-id']);
    const again = trace.spans.find((s) => s.name === 'again')!;
    assert.notEqual(again.spanId, testId('a'));
    assert.equal(trace.indexOfSpanId.get(again.spanId), trace.spans.indexOf(again));
    assert.deepEqual(childrenNames(trace, 'root'), ['a', 'again']);
  });

  it('splits a Zipkin shared span: the server half becomes a child of the client half', () => {
    // frontend client  |-------shared-------|
    // backend  server     |----shared----|         same span id
    // backend  query        |-q-|                  parent: the shared id
    const trace = buildTrace(
      [
        testSpan({ id: 'srv', start: 2, end: 18, kind: 2, service: 'backend', name: 'server' }),
        testSpan({ id: 'root', start: 0, end: 30, service: 'frontend' }),
        testSpan({ id: 'q', parent: 'srv', start: 4, end: 6, service: 'backend', name: 'query' }),
        { ...testSpan({ id: 'srv', parent: 'root', start: 1, end: 20, kind: 3, service: 'frontend' }), name: 'client' },
      ],
      { adjustClockSkew: false },
    );
    assert.deepEqual(childrenNames(trace, 'client'), ['server']);
    assert.deepEqual(childrenNames(trace, 'server'), ['query']);
    const server = trace.spans.find((s) => s.name === 'server')!;
    assert.equal(server.parentSpanId, testId('srv'));
    assert.deepEqual(codes(trace), ['shared-span-id']);
  });

  it('keeps spans with a missing parent as flagged extra roots', () => {
    // root   |-----|
    // orphan    ?  |---|   parent "gone" is not in the trace
    // second |--|          a second true root
    const trace = buildTrace([
      testSpan({ id: 'root', start: 0, end: 10 }),
      testSpan({ id: 'orphan', parent: 'gone', start: 5, end: 9 }),
      testSpan({ id: 'second', start: 0, end: 3 }),
    ]);
    assert.deepEqual(names(trace, trace.roots), ['root', 'second', 'orphan']);
    assert.deepEqual(codes(trace), ['missing-parent']);
    assert.equal(trace.orphan[trace.spans.findIndex((s) => s.name === 'orphan')], 1);
    assert.equal(trace.spans[trace.rootIndex].name, 'root');
  });

  it('breaks parent cycles', () => {
    const trace = buildTrace([
      testSpan({ id: 'a', parent: 'b', start: 0, end: 10 }),
      testSpan({ id: 'b', parent: 'a', start: 1, end: 5 }),
      testSpan({ id: 'c', parent: 'c', start: 2, end: 3 }),
    ]);
    assert.equal(trace.preorder.length, 3);
    assert.equal(new Set(trace.preorder).size, 3);
    assert.deepEqual(codes(trace).sort(), ['missing-parent', 'parent-cycle']);
  });

  it('turns negative durations into zero and keeps zero durations', () => {
    const trace = buildTrace([
      testSpan({ id: 'root', start: 0, end: 10 }),
      testSpan({ id: 'neg', parent: 'root', start: 6, end: 4 }),
      testSpan({ id: 'zero', parent: 'root', start: 5, end: 5 }),
    ]);
    assert.deepEqual(offsets(trace, 'neg'), [6n, 6n]);
    assert.deepEqual(offsets(trace, 'zero'), [5n, 5n]);
    assert.deepEqual(codes(trace), ['negative-duration']);
  });

  it('places spans without timestamps over their children or at their parent', () => {
    // root     |----------|
    // nostamp     ?          no time; children b and c
    //   b           |--|
    //   c              |--|
    // leaf       ?           no time, no children: an instant at its parent's start
    const missing = (span: Span): Span => ({
      ...span,
      startTimeUnixNano: 0n as Span['startTimeUnixNano'],
      endTimeUnixNano: 0n as Span['endTimeUnixNano'],
    });
    const trace = buildTrace([
      testSpan({ id: 'root', start: 0, end: 20 }),
      missing(testSpan({ id: 'nostamp', parent: 'root', start: 0, end: 0 })),
      testSpan({ id: 'b', parent: 'nostamp', start: 4, end: 7 }),
      testSpan({ id: 'c', parent: 'nostamp', start: 7, end: 12 }),
      missing(testSpan({ id: 'leaf', parent: 'root', start: 0, end: 0 })),
    ]);
    assert.deepEqual(offsets(trace, 'nostamp'), [4n, 12n]);
    assert.deepEqual(offsets(trace, 'leaf'), [0n, 0n]);
    assert.deepEqual(codes(trace), ['missing-timestamp', 'missing-timestamp']);
  });

  it('centres a child on another host that falls outside its parent, with its same-host descendants', () => {
    // host h1: client |----------| 100..120
    // host h2: server                        |------| 140..150  (clock 35 ns ahead)
    // host h2:   db                            |--|   142..146  moves with the server
    // host h3:   cache                          |-|   143..145  other host, inside after the move: kept
    // after: server 105..115 (centred: (20 - 10) / 2 = 5 after the client start), db 107..111
    const trace = buildTrace([
      testSpan({ id: 'client', start: 100, end: 120, host: 'h1', kind: 3 }),
      testSpan({ id: 'server', parent: 'client', start: 140, end: 150, host: 'h2', kind: 2 }),
      testSpan({ id: 'db', parent: 'server', start: 142, end: 146, host: 'h2' }),
      testSpan({ id: 'cache', parent: 'server', start: 108, end: 110, host: 'h3' }),
    ]);
    assert.deepEqual(offsets(trace, 'server'), [105n, 115n]);
    assert.deepEqual(offsets(trace, 'db'), [107n, 111n]);
    assert.deepEqual(offsets(trace, 'cache'), [108n, 110n]);
    assert.deepEqual(codes(trace), ['clock-skew', 'clock-skew']);
    assert.match(trace.warnings[0].message, /shifted -35ns/);
  });

  it('leaves skew alone when disabled, on the same host, for async children and for longer children', () => {
    const spans = [
      testSpan({ id: 'root', start: 100, end: 120, host: 'h1' }),
      testSpan({ id: 'same', parent: 'root', start: 130, end: 135, host: 'h1' }),
      testSpan({ id: 'long', parent: 'root', start: 90, end: 140, host: 'h2' }),
      testSpan({ id: 'pub', parent: 'root', start: 101, end: 102, host: 'h1', kind: 4 }),
      testSpan({ id: 'con', parent: 'pub', start: 300, end: 301, host: 'h3', kind: 5 }),
    ];
    assert.deepEqual(buildTrace(spans).warnings, []);
    const skewed = [
      testSpan({ id: 'root', start: 100, end: 120, host: 'h1' }),
      testSpan({ id: 'x', parent: 'root', start: 0, end: 10, host: 'h2' }),
    ];
    assert.deepEqual(codes(buildTrace(skewed)), ['clock-skew']);
    const off = buildTrace(skewed, { adjustClockSkew: false });
    assert.deepEqual(off.warnings, []);
    assert.deepEqual(offsets(off, 'x'), [0n, 10n]);
  });

  it('treats different services without host attributes as different hosts', () => {
    const trace = buildTrace([
      testSpan({ id: 'root', start: 100, end: 120, service: 'a' }),
      testSpan({ id: 'x', parent: 'root', start: 0, end: 10, service: 'b' }),
    ]);
    assert.deepEqual(offsets(trace, 'x'), [105n, 115n]);
  });

  it('measures times from the earliest start whichever span comes first, exactly to the nanosecond', () => {
    // The earliest span is not the first one read: offsets are taken from the first span, then
    // moved. 2^52 + 1 ns is exact in float64 only as an offset from the earliest start.
    const far = 2 ** 52 + 1;
    const spans = [
      testSpan({ id: 'b', parent: 'a', start: 7, end: far }),
      testSpan({ id: 'c', parent: 'a', start: 3, end: 5 }),
      testSpan({ id: 'a', start: 1, end: far + 2 }),
    ];
    const trace = buildTrace(spans);
    assert.equal(trace.startUnixNano, BASE_NANOS + 1n);
    assert.equal(trace.endUnixNano, BASE_NANOS + BigInt(far) + 2n);
    assert.deepEqual(Array.from(trace.start), [6, 2, 0]);
    assert.deepEqual(Array.from(trace.end), [far - 1, 4, far + 1]);
    assert.ok(trace.start instanceof Float64Array);
    assert.deepEqual(
      trace.warnings.map((w) => w.code),
      [],
    );
  });

  it('flags traces longer than 2^53 ns, and still starts at the exact earliest start', () => {
    const spans = [
      testSpan({ id: 'b', parent: 'a', start: 2 ** 54 + 3, end: 2 ** 54 + 5 }),
      testSpan({ id: 'a', start: 11, end: 2 ** 54 + 9 }),
      testSpan({ id: 'c', parent: 'a', start: 13, end: 14 }),
    ];
    const trace = buildTrace(spans);
    assert.equal(trace.startUnixNano, BASE_NANOS + 11n);
    assert.deepEqual(Array.from(trace.start).slice(1), [0, 2]);
    assert.deepEqual(Array.from(trace.end).slice(2), [3]);
    assert.deepEqual(
      trace.warnings.map((w) => w.code),
      ['inexact-times'],
    );
  });

  it('returns an empty trace for no spans', () => {
    const trace = buildTrace([]);
    assert.equal(trace.size, 0);
    assert.equal(trace.rootIndex, -1);
  });
});
