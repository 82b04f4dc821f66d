import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScatterScaleInput } from './scatter-scales.ts';
import { MIN_TIME_SPAN_MS, scatterScales } from './scatter-scales.ts';

// The box ScatterPlot draws into: plot area x 58..884, y 12..164.
const BOX = { width: 900, height: 190, pad: { left: 58, right: 16, top: 12, bottom: 26 } } as const;
const LEFT = 58;
const RIGHT = 884;
const TOP = 12;
const BOTTOM = 164;
const MIDDLE = (LEFT + RIGHT) / 2;
// 2025-03-14T09:26:53.589Z, a trace start as the search API returns it (ms).
const T0 = 1_741_944_413_589;
const MS = 1_000_000;

const scales = (startsMs: number[], durationsNanos: number[]) =>
  scatterScales({ ...BOX, startsMs, durationsNanos } satisfies ScatterScaleInput);
const inPlot = (s: ReturnType<typeof scales>, ms: number, nanos: number) => {
  const x = s.x(ms);
  const y = s.y(nanos);
  return Number.isFinite(x) && Number.isFinite(y) && x >= LEFT && x <= RIGHT && y >= TOP && y <= BOTTOM;
};

describe('scatterScales', () => {
  it('puts a single trace in the middle of a time axis widened to 10 s around it', () => {
    const s = scales([T0], [180 * MS]);
    assert.equal(s.minMs, T0 - MIN_TIME_SPAN_MS / 2);
    assert.equal(s.maxMs, T0 + MIN_TIME_SPAN_MS / 2);
    assert.equal(s.x(T0), MIDDLE);
    assert.ok(inPlot(s, T0, 180 * MS), `dot at (${s.x(T0)}, ${s.y(180 * MS)})`);
  });

  it('gives several traces starting at the same instant one x in the middle, each inside the plot', () => {
    const durations = [3 * MS, 47 * MS, 180 * MS, 950 * MS];
    const s = scales([T0, T0, T0, T0], durations);
    assert.equal(s.maxMs - s.minMs, MIN_TIME_SPAN_MS);
    for (const d of durations) {
      assert.equal(s.x(T0), MIDDLE);
      assert.ok(inPlot(s, T0, d), `${d} ns at y ${s.y(d)}`);
    }
  });

  it('spaces the time ticks of a single trace 2 s apart, so their second labels differ', () => {
    const s = scales([T0], [MS]);
    assert.deepEqual(
      s.xTicks.map((t) => t - T0),
      [-5000, -3000, -1000, 1000, 3000, 5000],
    );
  });

  it('widens a cluster narrower than 10 s around its centre and keeps every dot inside', () => {
    const starts = [T0, T0 + 120, T0 + 2_400];
    const s = scales(starts, [MS, MS, MS]);
    assert.equal(s.maxMs - s.minMs, MIN_TIME_SPAN_MS);
    assert.equal((s.minMs + s.maxMs) / 2, T0 + 1_200);
    for (const t of starts) assert.ok(inPlot(s, t, MS));
  });

  it('uses the data range as it is when it spans 10 s or more', () => {
    const s = scales([T0 + 60_000, T0, T0 + 30_000], [MS, MS, MS]);
    assert.equal(s.minMs, T0);
    assert.equal(s.maxMs, T0 + 60_000);
    assert.equal(s.x(T0), LEFT);
    assert.equal(s.x(T0 + 60_000), RIGHT);
  });

  it('ends the duration axis on a round tick at or above the longest duration', () => {
    // 1.1 × 180 ms = 198 ms, where round ticks of 50 ms used to stop at 150 ms and put the dot
    // above the chart.
    for (const longest of [180 * MS, 1_080_579, 1_152_667, 9_999_999_999, 100 * MS, 1]) {
      const s = scales([T0], [longest]);
      assert.ok(s.yMax >= longest * 1.1, `${longest} ns: axis ends at ${s.yMax}`);
      assert.equal(s.yTicks[s.yTicks.length - 1], s.yMax);
      assert.equal(s.yTicks[0], 0);
      assert.ok(inPlot(s, T0, longest), `${longest} ns at y ${s.y(longest)}`);
    }
  });

  it('keeps a readable axis when every trace took 0 ns, with the dots on the baseline', () => {
    const s = scales([T0, T0], [0, 0]);
    assert.ok(s.yMax > 0);
    assert.equal(s.y(0), BOTTOM);
  });
});
