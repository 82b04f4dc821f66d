import { type DurationNanos, durationNanos } from '../model/units.ts';
import type { Trace } from './build-trace.ts';
import { type CriticalPath, criticalPath } from './critical-path.ts';

/**
 * Where the time went, per service and per service + operation, two ways:
 * - self time: a span's duration minus the union of its children's intervals clipped to it.
 *   Concurrent children are counted once, unlike the textbook "duration minus the sum of the
 *   children", which goes negative as soon as calls overlap:
 *   ```
 *   |-----------parent (10)-----------|
 *     |---a (4)---|                      union of a and b: 2..8 = 6
 *          |-----b (5)-----|             self time of parent: 10 - 6 = 4
 *   ```
 * - critical-path time: the length of the critical-path sections each span owns. Over all
 *   services it sums exactly to the summed duration of the roots.
 */

/** Self and critical-path time of a group of spans. */
export interface TimeShare {
  readonly selfNanos: DurationNanos;
  readonly criticalPathNanos: DurationNanos;
  readonly spanCount: number;
}

/** Time of one service. */
export interface ServiceTime extends TimeShare {
  readonly service: string;
}

/** Time of one operation (span name) of one service. */
export interface OperationTime extends TimeShare {
  readonly service: string;
  readonly name: string;
}

/** Time per service and per operation, both sorted by critical-path time, then self time. */
export interface TimeBreakdown {
  readonly byService: readonly ServiceTime[];
  readonly byOperation: readonly OperationTime[];
}

/**
 * Self time of every span in nanoseconds (never negative), by a linear sweep over each span's
 * children, which `buildTrace` sorted by start.
 */
export function selfTimes(trace: Trace): Float64Array {
  const self = new Float64Array(trace.size);
  for (let i = 0; i < trace.size; i++) self[i] = selfTime(trace, i);
  return self;
}

/** The self time of span `i`: its children are sorted by start, so one sweep finds their union. */
function selfTime(trace: Trace, i: number): number {
  const { start, end, childStart, children } = trace;
  const s = start[i];
  const e = end[i];
  let covered = 0;
  let curS = 0;
  let curE = Number.NEGATIVE_INFINITY;
  for (let k = childStart[i]; k < childStart[i + 1]; k++) {
    const c = children[k];
    const cs = Math.max(start[c], s);
    const ce = Math.min(end[c], e);
    if (ce <= cs) continue;
    if (cs > curE) {
      if (curE > curS) covered += curE - curS;
      curS = cs;
      curE = ce;
    } else if (ce > curE) {
      curE = ce;
    }
  }
  if (curE > curS) covered += curE - curS;
  return e - s - covered;
}

/**
 * Aggregates self time and critical-path time by service and by service + operation. Pass the
 * critical path if it is already computed. Sums are exact while each total stays below 2^53 ns
 * (104 days), since they are accumulated as float64 integers.
 */
export function timeByService(trace: Trace, path: CriticalPath = criticalPath(trace)): TimeBreakdown {
  const nS = trace.services.length;
  const nO = trace.operations.length;
  const sSelf = new Float64Array(nS);
  const sCp = new Float64Array(nS);
  const sCount = new Int32Array(nS);
  const oSelf = new Float64Array(nO);
  const oCp = new Float64Array(nO);
  const oCount = new Int32Array(nO);
  const { serviceOf, operationOf } = trace;
  for (let i = 0; i < trace.size; i++) {
    const s = serviceOf[i];
    const o = operationOf[i];
    const self = selfTime(trace, i);
    sSelf[s] += self;
    sCount[s]++;
    oSelf[o] += self;
    oCount[o]++;
  }
  for (let k = 0; k < path.count; k++) {
    const i = path.span[k];
    const d = path.end[k] - path.start[k];
    sCp[serviceOf[i]] += d;
    oCp[operationOf[i]] += d;
  }
  const byService: ServiceTime[] = trace.services.map((service, s) => ({
    service,
    selfNanos: durationNanos(BigInt(sSelf[s])),
    criticalPathNanos: durationNanos(BigInt(sCp[s])),
    spanCount: sCount[s],
  }));
  const byOperation: OperationTime[] = trace.operations.map((op, o) => ({
    service: op.service,
    name: op.name,
    selfNanos: durationNanos(BigInt(oSelf[o])),
    criticalPathNanos: durationNanos(BigInt(oCp[o])),
    spanCount: oCount[o],
  }));
  const order = (a: TimeShare, b: TimeShare): number =>
    a.criticalPathNanos !== b.criticalPathNanos
      ? b.criticalPathNanos > a.criticalPathNanos
        ? 1
        : -1
      : b.selfNanos > a.selfNanos
        ? 1
        : b.selfNanos < a.selfNanos
          ? -1
          : 0;
  byService.sort(order);
  byOperation.sort(order);
  return { byService, byOperation };
}
