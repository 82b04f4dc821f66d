import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTrace, type Trace } from './build-trace.ts';
import { criticalPath, criticalPathSections } from './critical-path.ts';
import { BASE_NANOS, type TestSpanInit, testId, testSpan } from './test-support.ts';

/** The critical path of every root as `name start..end` strings, offsets from BASE_NANOS. */
function pathOf(trace: Trace): string[][] {
  return criticalPathSections(trace).map((p) =>
    p.sections.map(
      (s) => `${trace.spans[s.spanIndex].name} ${s.startUnixNano - BASE_NANOS}..${s.endUnixNano - BASE_NANOS}`,
    ),
  );
}

function build(spans: TestSpanInit[]): Trace {
  return buildTrace(spans.map(testSpan));
}

describe('critical path', () => {
  it('takes the last-finishing child and leaves out siblings that overlap it', () => {
    // 0    5    10   15   20   25   30   35   40
    // |------------------root-------------------|   0..40
    //   |-a-|                                         2..6
    //        |--c--|                                  7..13  overlaps b
    //           |------b------|                       10..24
    //               |-d-|                             14..18 child of b
    //                              |--e--|            29..35
    const trace = build([
      { id: 'root', start: 0, end: 40 },
      { id: 'a', parent: 'root', start: 2, end: 6 },
      { id: 'c', parent: 'root', start: 7, end: 13 },
      { id: 'b', parent: 'root', start: 10, end: 24 },
      { id: 'd', parent: 'b', start: 14, end: 18 },
      { id: 'e', parent: 'root', start: 29, end: 35 },
    ]);
    assert.deepEqual(pathOf(trace), [
      [
        'root 0..2',
        'a 2..6',
        'root 6..10',
        'b 10..14',
        'd 14..18',
        'b 18..24',
        'root 24..29',
        'e 29..35',
        'root 35..40',
      ],
    ]);
  });

  it('keeps a call that ends exactly when the next one starts', () => {
    // |--------root--------|   0..30
    // |---a---|                0..10
    //         |---b---|        10..20
    //                 |--c--|  20..30
    const trace = build([
      { id: 'root', start: 0, end: 30 },
      { id: 'a', parent: 'root', start: 0, end: 10 },
      { id: 'b', parent: 'root', start: 10, end: 20 },
      { id: 'c', parent: 'root', start: 20, end: 30 },
    ]);
    assert.deepEqual(pathOf(trace), [['a 0..10', 'b 10..20', 'c 20..30']]);
  });

  it('clips a child that outlives its parent', () => {
    // |----root----|          0..20
    //      |-----a-----|      5..25   counts 5..20
    //         |-b-|           8..12
    const trace = build([
      { id: 'root', start: 0, end: 20 },
      { id: 'a', parent: 'root', start: 5, end: 25 },
      { id: 'b', parent: 'a', start: 8, end: 12 },
    ]);
    assert.deepEqual(pathOf(trace), [['root 0..5', 'a 5..8', 'b 8..12', 'a 12..20']]);
  });

  it('prefers the longer child when two end together', () => {
    // |-----root-----|   0..20
    //   |-----a----|     2..18
    //        |--b--|     8..18
    const trace = build([
      { id: 'root', start: 0, end: 20 },
      { id: 'b', parent: 'root', start: 8, end: 18 },
      { id: 'a', parent: 'root', start: 2, end: 18 },
    ]);
    assert.deepEqual(pathOf(trace), [['root 0..2', 'a 2..18', 'root 18..20']]);
  });

  it('leaves an asynchronous consumer off its producer path', () => {
    // |-----------root-----------|           0..30
    //   |--publish (producer)--|             2..10
    //         |--------consume (consumer)--------|  6..40
    //   ...and a FOLLOWS_FROM child:
    //               |--audit (follows from)--|      12..28
    const trace = build([
      { id: 'root', start: 0, end: 30, kind: 2 },
      { id: 'pub', parent: 'root', start: 2, end: 10, kind: 4, name: 'publish' },
      { id: 'con', parent: 'pub', start: 6, end: 40, kind: 5, name: 'consume', service: 'worker' },
      {
        id: 'audit',
        parent: 'root',
        start: 12,
        end: 28,
        links: [
          {
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: testId('root'),
            traceState: '',
            attributes: [{ key: 'opentracing.ref_type', value: { type: 'string', value: 'follows_from' } }],
            droppedAttributesCount: 0,
            flags: 0,
          },
        ],
      },
    ]);
    assert.equal(trace.asyncChild[trace.indexOfSpanId.get(testId('con'))!], 1);
    assert.equal(trace.asyncChild[trace.indexOfSpanId.get(testId('audit'))!], 1);
    assert.deepEqual(pathOf(trace), [['root 0..2', 'publish 2..10', 'root 10..30']]);
  });

  it('gives an orphan subtree its own path', () => {
    // |----root----|            0..10
    //        ?--lost parent--?
    //          |---orphan---|   8..20
    //            |-x-|          10..12
    const trace = build([
      { id: 'root', start: 0, end: 10 },
      { id: 'orphan', parent: 'gone', start: 8, end: 20 },
      { id: 'x', parent: 'orphan', start: 10, end: 12 },
    ]);
    assert.deepEqual(pathOf(trace), [['root 0..10'], ['orphan 8..10', 'x 10..12', 'orphan 12..20']]);
  });

  it('gives a zero-duration root one empty section', () => {
    const trace = build([{ id: 'root', start: 5, end: 5 }]);
    assert.deepEqual(pathOf(trace), [['root 5..5']]);
  });

  it('skips zero-length children and children outside their parent', () => {
    // |----root----|        0..10
    //    |                  3..3 zero length
    //                 |-z-| 12..14 after the parent (same host, not adjusted)
    const trace = build([
      { id: 'root', start: 0, end: 10 },
      { id: 'zero', parent: 'root', start: 3, end: 3 },
      { id: 'z', parent: 'root', start: 12, end: 14 },
    ]);
    assert.deepEqual(pathOf(trace), [['root 0..10']]);
  });

  it('walks a 100,000-deep chain without overflowing the stack', () => {
    const n = 100_000;
    const spans = [];
    for (let i = 0; i < n; i++) {
      spans.push(testSpan({ id: `d${i}`, parent: i === 0 ? undefined : `d${i - 1}`, start: i, end: 2 * n - i }));
    }
    const trace = buildTrace(spans);
    const path = criticalPath(trace);
    assert.equal(trace.depth[trace.indexOfSpanId.get(spans[n - 1].spanId)!], n - 1);
    assert.equal(path.count, 2 * n - 1);
    assert.equal(path.start[0], 0);
    assert.equal(path.end[path.count - 1], 2 * n);
  });

  it('walks a 300,000-wide trace in linear time', () => {
    const n = 300_000;
    const spans = [testSpan({ id: 'root', start: 0, end: 3 * n })];
    for (let i = 1; i < n; i++) spans.push(testSpan({ id: `w${i}`, parent: 'root', start: 3 * i, end: 3 * i + 2 }));
    const trace = buildTrace(spans.reverse());
    const path = criticalPath(trace);
    assert.equal(path.count, 2 * (n - 1) + 1);
  });
});
