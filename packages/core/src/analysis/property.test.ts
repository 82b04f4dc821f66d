import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Span } from '../model/span.ts';
import { buildTrace, type Trace } from './build-trace.ts';
import { criticalPath } from './critical-path.ts';
import { seededRandom, testSpan } from './test-support.ts';
import { selfTimes, timeByService } from './time-by-service.ts';

/**
 * A random tree: parents before children, times that may overlap, outlive or precede the parent.
 * Times are multiplied by `scale` (the same tree, longer).
 */
function randomSpans(seed: number, scale = 1): Span[] {
  const random = seededRandom(seed);
  const n = 1 + Math.floor(random() * 60);
  const spans: Span[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = i === 0 ? -1 : Math.floor(random() * i);
    const ps = p < 0 ? 0 : starts[p];
    const pe = p < 0 ? 1000 : ends[p];
    const s = Math.floor(ps + (random() * 1.2 - 0.1) * (pe - ps));
    const e = s + Math.floor(random() * random() * (pe - ps + 20));
    starts.push(s);
    ends.push(e);
    spans.push(
      testSpan({
        id: `s${i}`,
        parent: p < 0 ? (random() < 0.1 ? 'gone' : undefined) : `s${p}`,
        start: s * scale,
        end: e * scale,
        kind: Math.floor(random() * 6),
        service: `svc${Math.floor(random() * 4)}`,
        host: random() < 0.8 ? 'h' : `h${Math.floor(random() * 3)}`,
        name: `op${Math.floor(random() * 3)}`,
      }),
    );
  }
  // Shuffle: the input order must not matter.
  for (let i = spans.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [spans[i], spans[j]] = [spans[j], spans[i]];
  }
  return spans;
}

/** The definition, recursively and slowly: the reference the fast walk must agree with. */
function referencePath(trace: Trace, node: number, lo: number, hi: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  let t = hi;
  const kids = Array.from(trace.children.subarray(trace.childStart[node], trace.childStart[node + 1]));
  for (;;) {
    let best = -1;
    let bs = 0;
    let be = Number.NEGATIVE_INFINITY;
    for (const c of kids) {
      if (trace.asyncChild[c]) continue;
      const cs = Math.max(trace.start[c], lo);
      const ce = Math.min(trace.end[c], hi);
      if (ce <= cs || ce > t) continue;
      if (ce > be || (ce === be && cs < bs)) {
        best = c;
        bs = cs;
        be = ce;
      }
    }
    if (best < 0) {
      if (t > lo) out.unshift([node, lo, t]);
      return out;
    }
    if (be < t) out.unshift([node, be, t]);
    out.unshift(...referencePath(trace, best, bs, be));
    t = bs;
  }
}

describe('analysis properties on random trees', () => {
  for (const skew of [true, false]) {
    it(`hold for 500 seeded random trees (clock skew ${skew ? 'on' : 'off'})`, () => {
      for (let seed = 1; seed <= 500; seed++) {
        const trace = buildTrace(randomSpans(seed), { adjustClockSkew: skew });
        const path = criticalPath(trace);
        const self = selfTimes(trace);
        for (let i = 0; i < trace.size; i++) {
          assert.ok(self[i] >= 0, `seed ${seed}: negative self time`);
          assert.ok(self[i] <= trace.end[i] - trace.start[i], `seed ${seed}: self time above duration`);
          assert.ok(trace.end[i] >= trace.start[i]);
        }
        let rootTotal = 0;
        for (let r = 0; r < path.roots.length; r++) {
          const root = path.roots[r];
          rootTotal += trace.end[root] - trace.start[root];
          const from = path.pathStart[r];
          const to = path.pathStart[r + 1];
          assert.ok(to > from, `seed ${seed}: empty path`);
          assert.equal(path.start[from], trace.start[root], `seed ${seed}: path does not start at the root`);
          assert.equal(path.end[to - 1], trace.end[root], `seed ${seed}: path does not end at the root`);
          for (let k = from; k < to; k++) {
            assert.ok(path.end[k] >= path.start[k]);
            if (k > from) assert.equal(path.start[k], path.end[k - 1], `seed ${seed}: sections not contiguous`);
          }
          const expected = referencePath(trace, root, trace.start[root], trace.end[root]);
          if (expected.length === 0) expected.push([root, trace.start[root], trace.start[root]]);
          const actual = [];
          for (let k = from; k < to; k++) actual.push([path.span[k], path.start[k], path.end[k]]);
          assert.deepEqual(actual, expected, `seed ${seed}: differs from the reference`);
        }
        const time = timeByService(trace, path);
        const cpSum = time.byService.reduce((a, t) => a + t.criticalPathNanos, 0n);
        assert.equal(cpSum, BigInt(rootTotal), `seed ${seed}: critical-path times do not sum to the roots`);
        const opSum = time.byOperation.reduce((a, t) => a + t.criticalPathNanos, 0n);
        assert.equal(opSum, BigInt(rootTotal));
        const seen = new Set(trace.preorder);
        assert.equal(seen.size, trace.size, `seed ${seed}: preorder misses spans`);
      }
    });
  }

  it('are the same, scaled, when the trace lasts past 2^32 ns and offsets are stored as float64', () => {
    // 2^24 times longer: most of these traces last more than 2^32 ns (4.3 s). Clock-skew shifts
    // halve differences of lengths; with both traces' times even these halves are exact, and every
    // time of the long analysis is exactly 2^24 times the short one's.
    const scale = 2 ** 24;
    let long = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const short = buildTrace(randomSpans(seed, 2));
      const scaled = buildTrace(randomSpans(seed, 2 * scale));
      assert.ok(short.start instanceof Uint32Array && short.end instanceof Uint32Array, `seed ${seed}`);
      const lasts = scaled.endUnixNano - scaled.startUnixNano;
      assert.equal(scaled.start instanceof Float64Array, lasts >= 2n ** 32n, `seed ${seed}: offset type`);
      assert.equal(scaled.end.constructor, scaled.start.constructor);
      if (lasts >= 2n ** 32n) long++;
      assert.deepEqual(
        Array.from(scaled.start),
        Array.from(short.start, (x) => x * scale),
        `seed ${seed}: starts`,
      );
      assert.deepEqual(
        Array.from(scaled.end),
        Array.from(short.end, (x) => x * scale),
        `seed ${seed}: ends`,
      );
      assert.equal(
        scaled.endUnixNano - scaled.startUnixNano,
        (short.endUnixNano - short.startUnixNano) * BigInt(scale),
      );
      assert.deepEqual(Array.from(scaled.preorder), Array.from(short.preorder), `seed ${seed}: preorder`);

      const path = criticalPath(short);
      const scaledPath = criticalPath(scaled);
      assert.equal(scaledPath.start.constructor, scaled.start.constructor, `seed ${seed}: section offset type`);
      assert.deepEqual(Array.from(scaledPath.span), Array.from(path.span), `seed ${seed}: path spans`);
      assert.deepEqual(Array.from(scaledPath.pathStart), Array.from(path.pathStart), `seed ${seed}: path starts`);
      assert.deepEqual(
        Array.from(scaledPath.start),
        Array.from(path.start, (x) => x * scale),
        `seed ${seed}: section starts`,
      );
      assert.deepEqual(
        Array.from(scaledPath.end),
        Array.from(path.end, (x) => x * scale),
        `seed ${seed}: section ends`,
      );
      assert.deepEqual(
        Array.from(selfTimes(scaled)),
        Array.from(selfTimes(short), (x) => x * scale),
        `seed ${seed}: self times`,
      );
      const time = timeByService(short, path).byOperation.map((t) => [
        t.service,
        t.name,
        t.selfNanos * BigInt(scale),
        t.criticalPathNanos * BigInt(scale),
      ]);
      const scaledTime = timeByService(scaled, scaledPath).byOperation.map((t) => [
        t.service,
        t.name,
        t.selfNanos,
        t.criticalPathNanos,
      ]);
      assert.deepEqual(scaledTime, time, `seed ${seed}: time by operation`);
    }
    assert.ok(long > 200, `only ${long} of 300 traces last past 2^32 ns`);
  });
});
