import type { UnixNanos } from '../model/units.ts';
import { type NanoOffsets, offsetToUnixNanos, type Trace } from './build-trace.ts';
import { releaseScratch, type Scratch, takeScratch } from './scratch.ts';
import { sortIndices } from './sort-indices.ts';

/**
 * The critical path: the chain of work that decided when each root span finished.
 *
 * Walking back from the end of a span, the path goes into the child that finished last at or
 * before the current point; the walk continues in the parent from that child's start:
 * ```
 * 0    5    10   15   20   25   30   35   40
 * |------------------root-------------------|   0..40
 *   |-a-|                                         2..6
 *        |--c--|                                  7..13  overlaps b: not on the path
 *           |------b------|                       10..24
 *               |-d-|                             14..18 child of b
 *                              |--e--|            29..35
 * path: root 0..2, a 2..6, root 6..10, b 10..14, d 14..18, b 18..24, root 24..29, e 29..35,
 *       root 35..40
 * ```
 * e finished last; before it, b is the last child to finish at or before e's start; c ends
 * after b starts, so it is not on the path; a is. Gaps are the parent's own time.
 *
 * Rules beyond jaeger-ui's:
 * - a child ending exactly when the current point is reached is on the path (jaeger-ui's strict
 *   comparison leaves it off, so back-to-back calls lose all but the first);
 * - among children ending at the same time, the one that started first is taken (then the first
 *   in input order), so the result does not depend on sort internals;
 * - children are clipped to their parent (a child that outlives its parent counts up to the
 *   parent's end; one outside it entirely, or of zero length, is not on the path);
 * - asynchronous children (`Trace.asyncChild`: a CONSUMER under a PRODUCER, a FOLLOWS_FROM
 *   child) are never on their parent's path;
 * - every root, including the root of an orphan subtree, gets its own path.
 *
 * The walk is iterative with an explicit stack, linear after one radix sort of the span ends.
 */

/**
 * Critical paths of all roots in flat arrays, sections in chronological order per root. Offsets
 * are nanoseconds from `Trace.startUnixNano`, in the same type as `Trace.start` (see
 * `NanoOffsets`). Use `criticalPathSections` for exact unix nanos. Treat the typed arrays as
 * read-only: they share one buffer, and with a single root `end` is a view of `start`, one
 * element further (sections are contiguous). A deep million-span trace has two million sections:
 * 8 bytes each with 32-bit offsets.
 */
export interface CriticalPath {
  /** The root of each path, as in `Trace.roots`. */
  readonly roots: Int32Array;
  /** Path `r` is sections `pathStart[r] .. pathStart[r + 1])`; length `roots.length + 1`. */
  readonly pathStart: Int32Array;
  /** Span index of each section. */
  readonly span: Int32Array;
  readonly start: NanoOffsets;
  readonly end: NanoOffsets;
  /** Number of sections. */
  readonly count: number;
}

/** One section of a critical path, in exact unix nanoseconds. */
export interface CriticalPathSection {
  readonly spanId: string;
  readonly spanIndex: number;
  readonly startUnixNano: UnixNanos;
  readonly endUnixNano: UnixNanos;
}

/** The critical path of one root span, exactly covering it. */
export interface RootCriticalPath {
  readonly rootIndex: number;
  readonly rootSpanId: string;
  readonly sections: readonly CriticalPathSection[];
}

/**
 * Computes the critical path of every root of `trace` (see the module comment for the rules).
 * The sections of one root are chronological, contiguous, non-overlapping and exactly cover the
 * root span; a root of zero duration gets one zero-length section. Does not recurse: a
 * 100,000-deep or 1,000,000-wide trace is fine.
 */
export function criticalPath(trace: Trace): CriticalPath {
  // Temporaries come from reused scratch memory (see `scratch.ts`).
  const scratch = takeScratch(trace.size * 40);
  try {
    return criticalPathWith(trace, scratch);
  } finally {
    releaseScratch(scratch);
  }
}

function criticalPathWith(trace: Trace, scratch: Scratch): CriticalPath {
  const n = trace.size;
  const { start, end, parent, childStart, asyncChild, roots, depth } = trace;
  // Children of each span sorted by end, scanned from the last one backwards.
  const kids = scratch.int32Dirty(trace.children.length);
  const fill = scratch.int32Dirty(n);
  fill.set(childStart.subarray(0, n));
  const mark = scratch.mark();
  const byEnd = sortIndices(end, scratch.int32Dirty(n), scratch);
  for (let k = 0; k < n; k++) {
    const i = byEnd[k];
    const p = parent[i];
    if (p >= 0) kids[fill[p]++] = i;
  }
  scratch.reset(mark);

  // The stack holds one frame per span on the current chain: its node, the next child to look
  // at, the current point `t` and its end `hi` clipped to its parent. Its start clipped to the
  // parent is the parent's `t` (the parent waits at the child's start), so it is not stored.
  let maxDepth = 0;
  for (let i = 0; i < n; i++) if (depth[i] > maxDepth) maxDepth = depth[i];

  // Sections are found backwards in time and written from the back of the buffers, so they come
  // out chronological. They are contiguous, so only starts are written: a section ends where the
  // next one starts, and the last section of a path ends with its root.
  // ```
  // bound: [ … free … | s0  s1  s2  … s(m-1) | end of root ]     span: [ … | a  b  a  … ]
  //                     └─ path, low .. size ─┘
  // ```
  // A path has at most two sections per span on it (one before and one after each chosen child),
  // so `limit` is never passed; the buffers start at twice the depth and double when full.
  // They are scratch memory: the result is copied out at the end, at its exact size.
  const limit = 2 * n + roots.length;
  let size = Math.min(limit, Math.max(1024, 2 * (maxDepth + 1) + roots.length));
  const frames = n === 0 ? 0 : maxDepth + 1;
  const stT = scratch.float64Dirty(frames);
  const stHi = scratch.float64Dirty(frames);
  const stNode = scratch.int32Dirty(frames);
  const stPtr = scratch.int32Dirty(frames);
  // Sections written after each root's path is done, counted from the back.
  const writtenAfter = scratch.int32(roots.length + 1);
  let bound = scratch.float64Dirty(size + 1);
  let secSpan = scratch.int32Dirty(size);
  let low = size;

  for (let r = roots.length - 1; r >= 0; r--) {
    const root = roots[r];
    const pathEnd = size - low;
    if (pathEnd === 0) bound[size] = end[root];
    const rootLo = start[root];
    stNode[0] = root;
    stHi[0] = end[root];
    stT[0] = end[root];
    stPtr[0] = childStart[root + 1] - 1;
    let top = 1;
    while (top > 0) {
      const f = top - 1;
      const node = stNode[f];
      const lo = f === 0 ? rootLo : stT[f - 1];
      const hi = stHi[f];
      const t = stT[f];
      const segStart = childStart[node];
      let p = stPtr[f];
      let chosen = -1;
      let cLo = 0;
      let cHi = 0;
      while (p >= segStart) {
        const c = kids[p];
        const ce = Math.min(end[c], hi);
        if (ce > t) {
          p--;
          continue;
        }
        const cs = Math.max(start[c], lo);
        if (ce <= cs || asyncChild[c] === 1) {
          p--;
          continue;
        }
        chosen = c;
        cLo = cs;
        cHi = ce;
        p--;
        // Equal ends: the child that started first explains more of the time.
        while (p >= segStart) {
          const c2 = kids[p];
          const ce2 = Math.min(end[c2], hi);
          if (ce2 !== ce) break;
          const cs2 = Math.max(start[c2], lo);
          if (
            asyncChild[c2] === 0 &&
            ce2 > cs2 &&
            (cs2 < cLo || (cs2 === cLo && (start[c2] < start[chosen] || (start[c2] === start[chosen] && c2 < chosen))))
          ) {
            chosen = c2;
            cLo = cs2;
          }
          p--;
        }
        break;
      }
      stPtr[f] = p;
      if (chosen >= 0) {
        if (cHi < t) {
          // The parent's own time from the child's end to t.
          if (low === 0) {
            const grown = Math.min(limit, size * 2);
            bound = moveToBack(bound, scratch.float64Dirty(grown + 1), 0, size + 1);
            secSpan = moveToBack(secSpan, scratch.int32Dirty(grown), 0, size);
            low = grown - size;
            size = grown;
          }
          secSpan[--low] = node;
          bound[low] = cHi;
        }
        stT[f] = cLo;
        stNode[top] = chosen;
        stHi[top] = cHi;
        stT[top] = cHi;
        stPtr[top] = childStart[chosen + 1] - 1;
        top++;
      } else {
        if (t > lo) {
          if (low === 0) {
            const grown = Math.min(limit, size * 2);
            bound = moveToBack(bound, scratch.float64Dirty(grown + 1), 0, size + 1);
            secSpan = moveToBack(secSpan, scratch.int32Dirty(grown), 0, size);
            low = grown - size;
            size = grown;
          }
          secSpan[--low] = node;
          bound[low] = lo;
        }
        top--;
      }
    }
    if (size - low === pathEnd) {
      // A root of zero duration: one zero-length section (a root of n = 1 fits in 1024).
      secSpan[--low] = root;
      bound[low] = rootLo;
    }
    writtenAfter[r] = size - low;
  }
  const count = size - low;
  // The result in one buffer: bounds first (8-byte aligned), then span indices and path starts.
  // With a single root, ends are the starts one further; with several, the path of one root does
  // not end where the next one starts, so ends get an array of their own.
  const wide = start instanceof Float64Array;
  const boundCount = roots.length <= 1 ? count + 1 : 2 * count;
  const boundBytes = Math.ceil((boundCount * (wide ? 8 : 4)) / 8) * 8;
  const out = new ArrayBuffer(boundBytes + (count + roots.length + 1) * 4);
  const bounds: NanoOffsets = wide ? new Float64Array(out, 0, boundCount) : new Uint32Array(out, 0, boundCount);
  const span = new Int32Array(out, boundBytes, count);
  const pathStart = new Int32Array(out, boundBytes + count * 4, roots.length + 1);
  for (let r = 0; r <= roots.length; r++) pathStart[r] = count - writtenAfter[r];
  span.set(secSpan.subarray(low, size));
  let sectionStart: NanoOffsets;
  let sectionEnd: NanoOffsets;
  if (roots.length <= 1) {
    bounds.set(bound.subarray(low, size + 1));
    sectionStart = bounds.subarray(0, count);
    sectionEnd = bounds.subarray(1, count + 1);
  } else {
    sectionStart = bounds.subarray(0, count);
    sectionEnd = bounds.subarray(count, 2 * count);
    sectionStart.set(bound.subarray(low, size));
    for (let r = 0; r < roots.length; r++) {
      const last = pathStart[r + 1] - 1;
      for (let k = pathStart[r]; k < last; k++) sectionEnd[k] = bound[low + k + 1];
      if (last >= pathStart[r]) sectionEnd[last] = end[roots[r]];
    }
  }
  return { roots, pathStart, span, start: sectionStart, end: sectionEnd, count };
}

/** Copies `from[lo .. hi)` to the back of `to` and returns `to`. */
function moveToBack<T extends Int32Array | Float64Array>(from: T, to: T, lo: number, hi: number): T {
  to.set(from.subarray(lo, hi), to.length - (hi - lo));
  return to;
}

/**
 * The critical path of every root as exact sections (`criticalPath` computes it when not given).
 * Allocates two bigints per section: for very large traces prefer the flat `CriticalPath`.
 */
export function criticalPathSections(trace: Trace, path: CriticalPath = criticalPath(trace)): RootCriticalPath[] {
  const out: RootCriticalPath[] = [];
  for (let r = 0; r < path.roots.length; r++) {
    const sections: CriticalPathSection[] = [];
    for (let k = path.pathStart[r]; k < path.pathStart[r + 1]; k++) {
      const i = path.span[k];
      sections.push({
        spanId: trace.spans[i].spanId,
        spanIndex: i,
        startUnixNano: offsetToUnixNanos(trace, path.start[k]),
        endUnixNano: offsetToUnixNanos(trace, path.end[k]),
      });
    }
    const rootIndex = path.roots[r];
    out.push({ rootIndex, rootSpanId: trace.spans[rootIndex].spanId, sections });
  }
  return out;
}

/**
 * Marks the spans that own at least one section of a critical path with a non-zero length
 * (1 in the returned array). For waterfalls and diagrams.
 */
export function criticalPathSpans(trace: Trace, path: CriticalPath): Uint8Array {
  const on = new Uint8Array(trace.size);
  for (let k = 0; k < path.count; k++) if (path.end[k] > path.start[k]) on[path.span[k]] = 1;
  return on;
}
