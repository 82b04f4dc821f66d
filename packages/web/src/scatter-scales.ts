import { niceTicks } from './format.ts';

/** Space around the plot area, in SVG units. */
export interface ScatterPadding {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/** What {@link scatterScales} needs: one start time and one duration per dot, and the SVG box. */
export interface ScatterScaleInput {
  /** Start time of each dot, unix milliseconds. */
  readonly startsMs: readonly number[];
  /** Duration of each dot, nanoseconds, in the same order as `startsMs`. */
  readonly durationsNanos: readonly number[];
  readonly width: number;
  readonly height: number;
  readonly pad: ScatterPadding;
}

/** Axis domains, ticks and the two mappings from data to SVG coordinates. */
export interface ScatterScales {
  /** Time domain, unix milliseconds; `maxMs - minMs` is at least {@link MIN_TIME_SPAN_MS}. */
  readonly minMs: number;
  readonly maxMs: number;
  /** Top of the duration axis, nanoseconds: the last y tick, never below the longest duration. */
  readonly yMax: number;
  /** Six evenly spaced times from `minMs` to `maxMs`. */
  readonly xTicks: readonly number[];
  /** Round durations from 0 to `yMax`. */
  readonly yTicks: readonly number[];
  /** SVG x of a start time. */
  x(ms: number): number;
  /** SVG y of a duration. */
  y(nanos: number): number;
}

/**
 * Narrowest time axis. A single trace, or several starting in the same instant, would make
 * min == max and divide by zero; a few starting within milliseconds would give six tick labels
 * reading the same second. Ten seconds gives a tick every two seconds.
 */
export const MIN_TIME_SPAN_MS = 10_000;
/** Narrowest duration axis, so that traces of 0 ns still get a readable axis. */
const MIN_DURATION_NANOS = 1_000;
/** Room above the longest duration, so that its dot is not cut by the top edge. */
const HEADROOM = 1.1;
const X_TICKS = 6;
const Y_TICKS = 4;

/**
 * Scales of the duration-over-time scatter plot. The time axis spans the data, widened around
 * its centre to at least {@link MIN_TIME_SPAN_MS}:
 * ```
 * one trace at t:       |-----------------●-----------------|
 *                      t-5s               t                t+5s
 * traces at t, t+30s:   ●-----------------------------------●
 * ```
 * The duration axis starts at 0 and ends on a round tick at or above 1.1 × the longest
 * duration, so the highest dot is always inside the plot. It does not handle empty input (the
 * chart renders nothing then) or negative durations.
 */
export function scatterScales(input: ScatterScaleInput): ScatterScales {
  const { startsMs, durationsNanos, width, height, pad } = input;
  let minMs = Math.min(...startsMs);
  let maxMs = Math.max(...startsMs);
  if (maxMs - minMs < MIN_TIME_SPAN_MS) {
    const centre = (minMs + maxMs) / 2;
    minMs = centre - MIN_TIME_SPAN_MS / 2;
    maxMs = centre + MIN_TIME_SPAN_MS / 2;
  }
  const yTicks = ticksReaching(Math.max(Math.max(...durationsNanos) * HEADROOM, MIN_DURATION_NANOS));
  const yMax = yTicks[yTicks.length - 1];
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  return {
    minMs,
    maxMs,
    yMax,
    xTicks: Array.from({ length: X_TICKS }, (_, i) => minMs + ((maxMs - minMs) * i) / (X_TICKS - 1)),
    yTicks,
    x: (ms) => pad.left + ((ms - minMs) / (maxMs - minMs)) * plotW,
    y: (nanos) => pad.top + plotH - (nanos / yMax) * plotH,
  };
}

// niceTicks stops at the last round value not above `top`, which can be well below it
// (top 198 gives 0, 50, 100, 150): add one more step so the axis covers `top`.
function ticksReaching(top: number): number[] {
  const ticks = niceTicks(top, Y_TICKS);
  const step = ticks[1] - ticks[0];
  while (ticks[ticks.length - 1] < top) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}
