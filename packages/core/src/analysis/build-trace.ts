import { type Resource, type Span, SpanKind, stringAttribute } from '../model/span.ts';
import { formatDuration, type UnixNanos, unixNanos } from '../model/units.ts';
import { keepShapeAlive, releaseScratch, type Scratch, takeScratch } from './scratch.ts';
import { sortIndices } from './sort-indices.ts';
import { parseSpanId, SpanIdIndex, SpanIdLookup } from './span-id-index.ts';

/**
 * `buildTrace()`: the one function that repairs a raw trace (jaeger-ui's `transformTraceData`,
 * without mutation and without global config). Every analysis in this folder takes its output.
 *
 * The tree is kept in flat arrays indexed by span position, not as an object graph, so that a
 * million-span trace costs a few typed arrays and every walk is an iterative loop:
 * ```
 * spans:     [ root, a, b, c ]        parent:      [-1, 0, 0, 1]
 * children of span i are children[childStart[i] .. childStart[i + 1]), sorted by start
 *            root                     childStart:  [0, 2, 3, 3, 3]
 *            ├── a                    children:    [1, 2, 3]
 *            │   └── c
 *            └── b
 * ```
 * Times are also kept as offsets in nanoseconds from `startUnixNano`, as plain numbers: they make
 * the hot loops an order of magnitude faster than bigint arithmetic, and public outputs convert
 * back to exact bigints. They are stored as 32-bit integers while the trace lasts less than 2^32 ns
 * (about 4.3 s), else as float64, exact integers below 2^53 ns (about 104 days).
 *
 * The arrays of one trace share two array buffers, one for the times and one for everything else,
 * and take 38 bytes per span (46 when times need float64): a million-span trace allocates 38 MB,
 * well below the 64 MB of new array buffers after which V8 starts a full garbage collection (see
 * `scratch.ts`), which costs more than the analysis while a million span objects are alive.
 * Temporaries come from the reused scratch buffer.
 */

/**
 * Offsets in nanoseconds from the start of a trace, exact integers: a `Uint32Array` when every
 * offset of the trace is below 2^32 (4.3 s), else a `Float64Array` (exact below 2^53 ns).
 */
export type NanoOffsets = Uint32Array | Float64Array;

/** What `buildTrace` repaired or flagged. */
export type TraceWarningCode =
  | 'multiple-trace-ids'
  | 'duplicate-span'
  | 'duplicate-span-id'
  | 'shared-span-id'
  | 'missing-parent'
  | 'parent-cycle'
  | 'negative-duration'
  | 'missing-timestamp'
  | 'clock-skew'
  | 'inexact-times';

/** One repair or oddity, attached to a span (`spanIndex` into `Trace.spans`) or to the trace (-1). */
export interface TraceWarning {
  readonly code: TraceWarningCode;
  /** Index into `Trace.spans`, or -1 for a warning about the whole trace or a dropped span. */
  readonly spanIndex: number;
  readonly spanId: string;
  readonly message: string;
}

/** Options for `buildTrace`. */
export interface BuildTraceOptions {
  /** Shift children on another host into their parent when they fall outside it. Default true. */
  readonly adjustClockSkew?: boolean;
}

/** A service + operation pair, as interned in `Trace.operations`. */
export interface OperationKey {
  readonly service: string;
  readonly name: string;
}

/**
 * A repaired trace as flat arrays. All arrays are indexed by span position in `spans`.
 * Treat every typed array as read-only: they are shared with the analyses.
 */
export interface Trace {
  /** The trace id of the first span (see the `multiple-trace-ids` warning). '' when empty. */
  readonly traceId: string;
  /**
   * The repaired spans: input order, exact duplicates dropped. A span that was changed (new id,
   * shifted for clock skew, times repaired) is a new object; the others are the input objects.
   */
  readonly spans: readonly Span[];
  /** `spans.length`. */
  readonly size: number;
  /** The earliest start of any span after repair; the origin of `start` and `end`. */
  readonly startUnixNano: UnixNanos;
  /** The latest end of any span after repair. */
  readonly endUnixNano: UnixNanos;
  /**
   * Start of each span in ns from `startUnixNano` (an exact integer below 2^53). A `Uint32Array`
   * when the trace lasts less than 2^32 ns, else a `Float64Array` (see `NanoOffsets`).
   */
  readonly start: NanoOffsets;
  /** End of each span in ns from `startUnixNano`; never before `start`. Same type as `start`. */
  readonly end: NanoOffsets;
  /** Index of the parent span, or -1 for a root (true or orphan). */
  readonly parent: Int32Array;
  /** CSR offsets into `children`, length `size + 1`. */
  readonly childStart: Int32Array;
  /** Children of every span, each group sorted by start (ties keep input order). */
  readonly children: Int32Array;
  /** Root spans sorted by start: true roots and orphans (spans whose parent is missing). */
  readonly roots: Int32Array;
  /** 1 for a root whose parent id was given but is not in the trace. */
  readonly orphan: Uint8Array;
  /** The main root: the earliest true root, or the earliest orphan if there is none; -1 if empty. */
  readonly rootIndex: number;
  /** Depth of each span; roots are 0. */
  readonly depth: Int32Array;
  /** Depth-first preorder of all spans, roots and children by start: the waterfall order. */
  readonly preorder: Int32Array;
  /**
   * 1 when a span runs asynchronously from its parent: a CONSUMER under a PRODUCER, or a span
   * whose link to its parent says `opentracing.ref_type = follows_from` (Jaeger FOLLOWS_FROM).
   */
  readonly asyncChild: Uint8Array;
  /** Interned service of each span: index into `services`. */
  readonly serviceOf: Int32Array;
  readonly services: readonly string[];
  /** Interned service + span name of each span: index into `operations`. */
  readonly operationOf: Int32Array;
  readonly operations: readonly OperationKey[];
  /** Span id to index, after duplicate ids were renamed. Its table is built at the first lookup. */
  readonly indexOfSpanId: ReadonlyMap<string, number>;
  readonly warnings: readonly TraceWarning[];
}

const TWO_53 = 2 ** 53;
/** How a span names its parent, before lookup. */
const NO_PARENT = 0;
const PARSED_PARENT = 1;
const OTHER_PARENT = 2;
const TWO_32 = 2 ** 32;
const TWO_64N = 1n << 64n;

/**
 * `Number(nanos - base)` without a bigint per call: a million spans would otherwise allocate two
 * million temporary bigints, and the garbage collections they cause cost more than the
 * arithmetic. The value is stored in a `BigUint64Array` and read back as two exact 32-bit halves;
 * `hi * 2^32 + lo` is then a single correctly rounded addition, the same rounding as `Number()`.
 * Values outside [0, 2^64) take the bigint path.
 */
class NanosOffsets {
  readonly #word = new BigUint64Array(1);
  readonly #half = new Uint32Array(this.#word.buffer);
  readonly #lo: number;
  readonly #hi: number;
  readonly #base: bigint;
  readonly #baseLo: number;
  readonly #baseHi: number;
  readonly #fast: boolean;

  constructor(base: bigint) {
    this.#word[0] = 1n;
    this.#lo = this.#half[0] === 1 ? 0 : 1;
    this.#hi = 1 - this.#lo;
    this.#base = base;
    this.#fast = inUint64(base);
    this.#word[0] = this.#fast ? base : 0n;
    this.#baseLo = this.#half[this.#lo];
    this.#baseHi = this.#half[this.#hi];
  }

  /** Exactly `Number(nanos - base)`. */
  of(nanos: bigint): number {
    if (!this.#fast || !inUint64(nanos)) return Number(nanos - this.#base);
    this.#word[0] = nanos;
    return (this.#half[this.#hi] - this.#baseHi) * TWO_32 + (this.#half[this.#lo] - this.#baseLo);
  }
}

/** True when `0 <= value < 2^64`. Two bigint comparisons: three times faster than a `Number()`. */
function inUint64(value: bigint): boolean {
  return value >= 0n && value < TWO_64N;
}

/**
 * Turns the spans of one trace into a clean tree, without mutating the input:
 * - exact duplicates (same id, times, name, service, kind and parent) are dropped;
 * - a Zipkin shared span (a CLIENT and a SERVER half with one id) is split: the server half gets
 *   a new id and the client half as its parent, as Jaeger's span-id deduper does; children with
 *   the shared id go to the half of their own service (the server half if neither matches);
 *   any other repeated id is renamed (the next free 64-bit id) and flagged;
 * - a span whose parent is missing becomes an extra root, flagged `missing-parent`; parent
 *   cycles are broken and flagged;
 * - an end before the start becomes a zero duration (flagged); zero durations are valid and kept;
 * - a span with no timestamp (`startTimeUnixNano` 0, as the Zipkin importer leaves an incomplete
 *   span) is placed over its children, or at its parent's start, and flagged;
 * - clock skew, as Jaeger's backend adjuster: a child on another host (resource `host.id`, else
 *   `host.name`, else `service.instance.id`; with none of them the service name stands for the
 *   host, since distinct services nearly always run in distinct processes) that is not inside its
 *   parent but not longer than it is moved to the parent's centre, with its same-host descendants.
 *   Asynchronous children (see `asyncChild`) are never moved: they may run after their parent.
 *   Every moved span gets a `clock-skew` warning.
 *
 * Expects the spans of one trace; spans of other trace ids are kept (flagged) and linked by span id.
 * Does not validate ids: run `validateSpans` first on untrusted input.
 */
export function buildTrace(input: readonly Span[], options: BuildTraceOptions = {}): Trace {
  // Temporaries come from reused scratch memory (see `scratch.ts`); about 80 bytes per span.
  const scratch = takeScratch(input.length * 88);
  try {
    return buildTraceWith(input, options, scratch);
  } finally {
    releaseScratch(scratch);
  }
}

function buildTraceWith(input: readonly Span[], options: BuildTraceOptions, scratch: Scratch): Trace {
  const adjustSkew = options.adjustClockSkew ?? true;
  const warnings: TraceWarning[] = [];
  const traceId = input.length > 0 ? input[0].traceId : '';
  // A million span objects take tens of milliseconds just to read once: one pass reads all that
  // is needed from them (`readSpans`), including their ids, parsed for the id table. Duplicate
  // ids are found after it, so that new ids never collide with any id in the input; only when
  // some were repaired (rare) are the repaired spans read again.
  // Ids are parsed in the pass and entered in a loop of their own: see `SpanIdIndex`.
  const idHi = scratch.int32Dirty(input.length);
  const idLo = scratch.int32Dirty(input.length);
  const idParsed = scratch.uint8(input.length);
  let read = readSpans(input, traceId, adjustSkew, scratch, { hi: idHi, lo: idLo, parsed: idParsed });
  const otherTraceIds = read.otherTraceIds;
  const ids = new SpanIdIndex(input.length, scratch);
  // Hex ids and other ids never equal each other, so the two kinds can be entered apart.
  let dups: number[] | undefined = ids.addAllParsed(idHi, idLo, idParsed, input.length);
  for (let i = 0; i < input.length; i++) if (idParsed[i] === 0 && ids.add(input[i].spanId, i) >= 0) dups.push(i);
  if (dups.length === 0) dups = undefined;
  else dups.sort((a, b) => a - b);
  if (otherTraceIds > 0) {
    warnings.push({
      code: 'multiple-trace-ids',
      spanIndex: -1,
      spanId: '',
      message: `${otherTraceIds} span(s) have a trace id other than ${traceId}`,
    });
  }

  // Duplicate ids.
  let work: Span[] = input as Span[];
  const shared = new Map<string, { client: number; server: number }>();
  const pendingWarnings: { code: TraceWarningCode; inputIndex: number; message: string }[] = [];
  if (dups !== undefined) {
    work = input.slice();
    const dropped = new Uint8Array(input.length);
    for (const i of dups) {
      const span = input[i];
      const first = ids.get(span.spanId)!;
      const other = work[first];
      if (
        other.startTimeUnixNano === span.startTimeUnixNano &&
        other.endTimeUnixNano === span.endTimeUnixNano &&
        other.name === span.name &&
        other.kind === span.kind &&
        other.serviceName === span.serviceName &&
        other.parentSpanId === span.parentSpanId
      ) {
        dropped[i] = 1;
        warnings.push({
          code: 'duplicate-span',
          spanIndex: -1,
          spanId: span.spanId,
          message: `dropped an exact duplicate of span ${span.spanId} (${span.name})`,
        });
        continue;
      }
      const kinds = other.kind * 8 + span.kind;
      const isShared =
        !shared.has(span.spanId) &&
        (kinds === SpanKind.CLIENT * 8 + SpanKind.SERVER || kinds === SpanKind.SERVER * 8 + SpanKind.CLIENT);
      const newId = nextFreeId(span.spanId, ids);
      if (isShared) {
        const serverIdx = span.kind === SpanKind.SERVER ? i : first;
        const clientIdx = serverIdx === i ? first : i;
        const server = work[serverIdx];
        work[serverIdx] = { ...server, spanId: newId, parentSpanId: server.spanId };
        ids.set(span.spanId, clientIdx);
        ids.set(newId, serverIdx);
        shared.set(span.spanId, { client: clientIdx, server: serverIdx });
        pendingWarnings.push({
          code: 'shared-span-id',
          inputIndex: serverIdx,
          message: `server half of shared span ${span.spanId} renamed ${newId}, child of its client half`,
        });
      } else {
        work[i] = { ...span, spanId: newId };
        ids.set(newId, i);
        pendingWarnings.push({
          code: 'duplicate-span-id',
          inputIndex: i,
          message: `span id ${span.spanId} was used twice; this span renamed ${newId}`,
        });
      }
    }
    const kept: Span[] = [];
    const newIndex = new Int32Array(input.length);
    for (let i = 0; i < input.length; i++) {
      newIndex[i] = kept.length;
      if (!dropped[i]) kept.push(work[i]);
    }
    if (kept.length !== input.length) {
      ids.remap(newIndex);
      for (const s of shared.values()) {
        s.client = newIndex[s.client];
        s.server = newIndex[s.server];
      }
      for (const w of pendingWarnings) w.inputIndex = newIndex[w.inputIndex];
    }
    work = kept;
  }
  for (const w of pendingWarnings) {
    warnings.push({ code: w.code, spanIndex: w.inputIndex, spanId: work[w.inputIndex].spanId, message: w.message });
  }
  if (work !== input) read = readSpans(work, traceId, adjustSkew, scratch, undefined);
  for (const w of read.warnings) warnings.push(w);

  const n = work.length;
  const { start, end, missing, changed, parentRef, parentHi, parentLo, hosts, services, operations } = read;
  const { parent, serviceOf, operationOf, depth, preorder, childStart, childrenAndRoots, orphan, asyncChild } = read;
  const anyMissing = read.anyMissing;
  let base = read.base;
  if (read.maxEnd >= TWO_53) {
    warnings.push({
      code: 'inexact-times',
      spanIndex: -1,
      spanId: '',
      message: 'the trace spans more than 2^53 ns (104 days); analysis times are rounded',
    });
  }

  // Parents. Shared span ids (see above) are resolved by service, through the string path.
  if (shared.size === 0) ids.indexOfAllParsed(parentHi, parentLo, parentRef, PARSED_PARENT, n, parent);
  for (let i = 0; i < n; i++) {
    const ref = parentRef[i];
    if (ref === NO_PARENT) {
      parent[i] = -1;
      asyncChild[i] = 0;
      continue;
    }
    let p: number | undefined;
    if (ref === PARSED_PARENT && shared.size === 0) {
      p = parent[i];
      if (p < 0) p = undefined;
    } else {
      const pid = work[i].parentSpanId;
      p = ids.get(pid);
      const sh = shared.size > 0 ? shared.get(pid) : undefined;
      if (sh !== undefined && i !== sh.server) {
        p = work[i].serviceName === work[sh.client].serviceName ? sh.client : sh.server;
      }
    }
    if (p === undefined || p === i) {
      parent[i] = -1;
      orphan[i] = 1;
      asyncChild[i] = 0;
      const span = work[i];
      warnings.push({
        code: 'missing-parent',
        spanIndex: i,
        spanId: span.spanId,
        message:
          p === i
            ? 'span names itself as parent; kept as a root'
            : `parent ${span.parentSpanId} is not in the trace; kept as a root`,
      });
    } else {
      parent[i] = p;
      if (asyncChild[i] === 1 && !isAsync(work[p], work[i])) asyncChild[i] = 0;
    }
  }

  // One tree with children sorted by start. Cycle breaking, timestamp repair and skew only need
  // parents before children; unless they move a span, it is also the final tree.
  const byStart = sortIndices(start, scratch.int32Dirty(n), scratch);
  // Every tree below is built into the result arrays: only the last one is kept.
  let tree = childrenOf(parent, byStart, childStart, childrenAndRoots);
  let pre = preorderOf(tree, preorder);
  if (pre.count < n) {
    const visited = new Uint8Array(n);
    for (let k = 0; k < pre.count; k++) visited[pre.order[k]] = 1;
    const walk = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (visited[i]) continue;
      let c = i;
      while (!walk[c] && !visited[c]) {
        walk[c] = 1;
        c = parent[c];
      }
      if (!visited[c]) {
        parent[c] = -1;
        asyncChild[c] = 0;
        warnings.push({
          code: 'parent-cycle',
          spanIndex: c,
          spanId: work[c].spanId,
          message: `parent ${work[c].parentSpanId} leads back to this span; cycle broken here`,
        });
      }
      // Mark everything reachable from the new root so later walks stop there.
      tree = childrenOf(parent, byStart, childStart, childrenAndRoots);
      pre = preorderOf(tree, preorder);
      for (let k = 0; k < pre.count; k++) visited[pre.order[k]] = 1;
    }
  }

  if (anyMissing) repairMissingTimes(work, parent, tree, pre.order, start, end, missing, changed, warnings);

  const shift =
    hosts === undefined
      ? undefined
      : adjustClockSkew(work, hosts, parent, pre.order, start, end, missing, asyncChild, changed, warnings);

  // Rebase so that the earliest start is offset 0.
  let minStart = Number.POSITIVE_INFINITY;
  let maxEnd = 0;
  for (let i = 0; i < n; i++) {
    if (start[i] < minStart) minStart = start[i];
    if (end[i] > maxEnd) maxEnd = end[i];
  }
  if (n === 0) minStart = 0;
  if (minStart !== 0) {
    for (let i = 0; i < n; i++) {
      start[i] -= minStart;
      end[i] -= minStart;
    }
    base += BigInt(minStart);
    maxEnd -= minStart;
  }

  let anyChanged = false;
  for (let i = 0; i < n && !anyChanged; i++) anyChanged = changed[i] === 1;
  const spans: Span[] = work === input && anyChanged ? input.slice() : work;
  for (let i = 0; anyChanged && i < n; i++) {
    if (!changed[i]) continue;
    const span = spans[i];
    const delta = shift === undefined ? 0n : BigInt(shift[i]);
    spans[i] = {
      ...span,
      startTimeUnixNano: unixNanos(base + BigInt(start[i])),
      endTimeUnixNano: unixNanos(base + BigInt(end[i])),
      events:
        delta === 0n || missing[i]
          ? span.events
          : span.events.map((e) => ({ ...e, timeUnixNano: unixNanos(e.timeUnixNano + delta) })),
    };
  }

  // The final tree: children and roots sorted by start (rebasing kept the order).
  if (anyMissing || shift !== undefined) {
    sortIndices(start, byStart, scratch);
    tree = childrenOf(parent, byStart, childStart, childrenAndRoots);
    pre = preorderOf(tree, preorder);
  }
  for (let k = 0; k < n; k++) {
    const i = pre.order[k];
    depth[i] = parent[i] < 0 ? 0 : depth[parent[i]] + 1;
  }
  let rootIndex = -1;
  for (let r = 0; r < tree.roots.length; r++) {
    const i = tree.roots[r];
    if (!orphan[i]) {
      rootIndex = i;
      break;
    }
  }
  if (rootIndex < 0 && tree.roots.length > 0) rootIndex = tree.roots[0];

  // After renaming and dropping, ids are unique and `ids` maps each to its span (a shared id to
  // its client half): exactly `spans[i].spanId → i`, which the lookup rebuilds when first used.
  const indexOfSpanId: ReadonlyMap<string, number> = new SpanIdLookup(spans);

  // The times in their final type, in a buffer of their own.
  let startOut: NanoOffsets;
  let endOut: NanoOffsets;
  if (maxEnd < TWO_32) {
    const times = new Uint32Array(2 * n);
    startOut = times.subarray(0, n);
    endOut = times.subarray(n);
  } else {
    const times = new Float64Array(2 * n);
    startOut = times.subarray(0, n);
    endOut = times.subarray(n);
  }
  startOut.set(start);
  endOut.set(end);

  return {
    traceId,
    spans,
    size: n,
    startUnixNano: unixNanos(base),
    endUnixNano: unixNanos(base + BigInt(maxEnd)),
    start: startOut,
    end: endOut,
    parent,
    childStart: tree.childStart,
    children: tree.children,
    roots: tree.roots,
    orphan,
    rootIndex,
    depth,
    preorder: pre.order,
    asyncChild,
    serviceOf,
    services,
    operationOf,
    operations,
    indexOfSpanId,
    warnings,
  };
}

/** Converts an offset of `trace` (as in `trace.start`) back to exact unix nanoseconds. */
export function offsetToUnixNanos(trace: Trace, offset: number): UnixNanos {
  return unixNanos(trace.startUnixNano + BigInt(offset));
}

/** The span ids from span `index` up to its root, the span itself first. Iterative. */
export function ancestorChain(trace: Trace, index: number): number[] {
  if (index < 0) return [];
  // Sized from the depth up front: a chain can be a million spans long.
  const chain = new Array<number>(trace.depth[index] + 1);
  let k = 0;
  for (let i = index; i >= 0; i = trace.parent[i]) chain[k++] = i;
  return chain;
}

/**
 * True when `child` runs asynchronously from `parent`: a CONSUMER under a PRODUCER, or a link to
 * the parent marked `opentracing.ref_type = follows_from` (as the Jaeger importer writes it).
 */
export function isAsync(parent: Span, child: Span): boolean {
  if (parent.kind === SpanKind.PRODUCER && child.kind === SpanKind.CONSUMER) return true;
  for (const link of child.links) {
    if (link.spanId === parent.spanId && stringAttribute(link.attributes, 'opentracing.ref_type') === 'follows_from') {
      return true;
    }
  }
  return false;
}

/** What one pass over the span objects reads (see `readSpans`). */
interface SpanColumns {
  /** Offsets from `base`, the earliest start: float64 until they are final (scratch). */
  readonly start: Float64Array;
  readonly end: Float64Array;
  /** The earliest start of a span with a timestamp; 0 when none has one. */
  readonly base: bigint;
  /** The latest end, as an offset from `base`. */
  readonly maxEnd: number;
  /** 1 for a span without a timestamp (placed later). */
  readonly missing: Uint8Array;
  readonly anyMissing: boolean;
  /** 1 for a span whose times were repaired. */
  readonly changed: Uint8Array;
  /** How each span names its parent; parsed parent ids in `parentHi` and `parentLo`. */
  readonly parentRef: Uint8Array;
  readonly parentHi: Int32Array;
  readonly parentLo: Int32Array;
  readonly hosts: HostInterner | undefined;
  readonly services: string[];
  readonly operations: OperationKey[];
  readonly otherTraceIds: number;
  /** `negative-duration` warnings. */
  readonly warnings: TraceWarning[];
  // The result arrays (one buffer); the pass fills `serviceOf`, `operationOf` and the candidates
  // in `asyncChild`.
  readonly parent: Int32Array;
  readonly serviceOf: Int32Array;
  readonly operationOf: Int32Array;
  readonly depth: Int32Array;
  readonly preorder: Int32Array;
  readonly childStart: Int32Array;
  /** Children, then roots: there are exactly n of them together. */
  readonly childrenAndRoots: Int32Array;
  readonly orphan: Uint8Array;
  readonly asyncChild: Uint8Array;
}

/**
 * The one pass over the span objects: times as offsets, parent ids, asynchronous children,
 * hosts (for clock skew), services and operations; with `ids`, span ids parsed into it too.
 * Times are read as offsets from the first span's start, since the earliest start is not known
 * yet, and moved to the earliest start at the end (exact: both are below 2^53 ns apart, or the
 * trace is flagged `inexact-times` and read again from the earliest start).
 */
function readSpans(
  spans: readonly Span[],
  traceId: string,
  adjustSkew: boolean,
  scratch: Scratch,
  ids: { hi: Int32Array; lo: Int32Array; parsed: Uint8Array } | undefined,
  from?: bigint,
): SpanColumns {
  const n = spans.length;
  // The result arrays other than the times, in one buffer (times: see the end of `buildTrace`).
  const out = new ArrayBuffer((7 * n + 1) * 4 + 2 * n);
  let at = 0;
  const int32s = (length: number): Int32Array => {
    const array = new Int32Array(out, at, length);
    at += length * 4;
    return array;
  };
  const parent = int32s(n);
  const serviceOf = int32s(n);
  const operationOf = int32s(n);
  const depth = int32s(n);
  const preorder = int32s(n);
  const childStart = int32s(n + 1);
  const childrenAndRoots = int32s(n);
  const orphan = new Uint8Array(out, at, n);
  const asyncChild = new Uint8Array(out, at + n, n);

  const start = scratch.float64Dirty(n);
  const end = scratch.float64Dirty(n);
  const missing = scratch.uint8(n);
  const changed = scratch.uint8(n);
  const parentRef = scratch.uint8(n);
  const parentHi = scratch.int32Dirty(n);
  const parentLo = scratch.int32Dirty(n);
  const hosts = adjustSkew ? new HostInterner(scratch.int32Dirty(n)) : undefined;
  const services: string[] = [];
  const operations: OperationKey[] = [];
  const serviceIds = new Map<string, number>();
  const opIds: Map<string, number>[] = [];
  const warnings: TraceWarning[] = [];
  let lastService = '';
  let lastServiceId = -1;
  let anyMissing = false;
  let otherTraceIds = 0;
  let origin = from;
  for (let i = 0; origin === undefined && i < n; i++) {
    if (spans[i].startTimeUnixNano !== 0n) origin = spans[i].startTimeUnixNano;
  }
  origin ??= 0n;
  let earliest = origin;
  let minStart = Number.POSITIVE_INFINITY;
  let maxEnd = Number.NEGATIVE_INFINITY;
  const offsets = new NanosOffsets(origin);
  for (let i = 0; i < n; i++) {
    const span = spans[i];
    if (span.traceId !== traceId) otherTraceIds++;
    if (ids !== undefined && parseSpanId(span.spanId, ids.hi, ids.lo, i)) ids.parsed[i] = 1;
    const startNanos = span.startTimeUnixNano;
    if (startNanos === 0n) {
      missing[i] = 1;
      anyMissing = true;
      start[i] = 0;
      end[i] = 0;
    } else {
      const s = offsets.of(startNanos);
      let e = offsets.of(span.endTimeUnixNano);
      if (e < s) {
        e = s;
        changed[i] = 1;
        warnings.push({
          code: 'negative-duration',
          spanIndex: i,
          spanId: span.spanId,
          message: `end is ${formatDuration(startNanos - span.endTimeUnixNano)} before start; duration set to 0`,
        });
      }
      start[i] = s;
      end[i] = e;
      if (s < minStart) {
        minStart = s;
        earliest = startNanos;
      }
      if (e > maxEnd) maxEnd = e;
    }

    // Parent ids are parsed here and looked up once the id table is complete.
    const pid = span.parentSpanId;
    parentRef[i] = pid === '' ? NO_PARENT : parseSpanId(pid, parentHi, parentLo, i) ? PARSED_PARENT : OTHER_PARENT;
    // Only a CONSUMER or a span with links can be asynchronous (see `isAsync`); checked later.
    if (span.kind === SpanKind.CONSUMER || span.links.length > 0) asyncChild[i] = 1;

    hosts?.add(i, span);

    // Intern services and operations; consecutive spans usually share them.
    let sid: number;
    if (span.serviceName === lastService && lastServiceId >= 0) {
      sid = lastServiceId;
    } else {
      const found = serviceIds.get(span.serviceName);
      if (found === undefined) {
        sid = services.length;
        services.push(span.serviceName);
        serviceIds.set(span.serviceName, sid);
        opIds.push(new Map());
      } else {
        sid = found;
      }
      lastService = span.serviceName;
      lastServiceId = sid;
    }
    serviceOf[i] = sid;
    const ops = opIds[sid];
    let oid = ops.get(span.name);
    if (oid === undefined) {
      oid = operations.length;
      operations.push({ service: span.serviceName, name: span.name });
      ops.set(span.name, oid);
    }
    operationOf[i] = oid;
  }
  if (minStart === Number.POSITIVE_INFINITY) {
    minStart = 0;
    maxEnd = 0;
  }
  // Offsets far from the first span may be rounded: read again from the earliest start, where
  // the only rounded ones are those the `inexact-times` warning is about.
  if (from === undefined && maxEnd - minStart >= TWO_53 && earliest !== origin) {
    return readSpans(spans, traceId, adjustSkew, scratch, undefined, earliest);
  }
  // Rebase so that the earliest start is offset 0: the radix sorts need non-negative keys.
  if (minStart !== 0) {
    for (let i = 0; i < n; i++) {
      if (missing[i]) continue;
      start[i] -= minStart;
      end[i] -= minStart;
    }
    maxEnd -= minStart;
  }
  return {
    start,
    end,
    base: earliest,
    maxEnd,
    missing,
    anyMissing,
    changed,
    parentRef,
    parentHi,
    parentLo,
    hosts,
    services,
    operations,
    otherTraceIds,
    warnings,
    parent,
    serviceOf,
    operationOf,
    depth,
    preorder,
    childStart,
    childrenAndRoots,
    orphan,
    asyncChild,
  };
}

function nextFreeId(id: string, ids: ReadonlyMap<string, number>): string {
  let value = /^[0-9a-f]{1,16}$/.test(id) ? BigInt(`0x${id}`) : 0n;
  for (;;) {
    value = (value + 1n) & 0xffffffffffffffffn;
    const candidate = value.toString(16).padStart(16, '0');
    if (!ids.has(candidate) && value !== 0n) return candidate;
  }
}

interface Tree {
  readonly childStart: Int32Array;
  readonly children: Int32Array;
  readonly roots: Int32Array;
}

/**
 * Children grouped by parent (CSR), each group in `order`; roots in `order` too. Written into
 * `childStart` (length n + 1) and `childrenAndRoots` (length n: the children, then the roots).
 */
function childrenOf(parent: Int32Array, order: Int32Array, childStart: Int32Array, childrenAndRoots: Int32Array): Tree {
  const n = parent.length;
  // childStart[p] counts up to the end of p's group, then placing children from the back counts
  // it down to the group's start: no separate fill array.
  childStart.fill(0);
  let rootCount = 0;
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0) childStart[p]++;
    else rootCount++;
  }
  for (let i = 1; i < n; i++) childStart[i] += childStart[i - 1];
  const total = n > 0 ? childStart[n - 1] : 0;
  childStart[n] = total;
  const children = childrenAndRoots.subarray(0, total);
  const roots = childrenAndRoots.subarray(total, n);
  let r = rootCount;
  for (let k = n - 1; k >= 0; k--) {
    const i = order[k];
    const p = parent[i];
    if (p >= 0) children[--childStart[p]] = i;
    else roots[--r] = i;
  }
  return { childStart, children, roots };
}

/**
 * Depth-first preorder from the roots; `count < n` when some spans are not reachable (a cycle).
 * The stack lives at the back of the output: visited and stacked spans are distinct, so the two
 * never meet.
 * ```
 * order: [ visited … → count        free        top ← … stacked ]
 * ```
 */
function preorderOf(tree: Tree, order: Int32Array): { order: Int32Array; count: number } {
  const n = order.length;
  let count = 0;
  const { childStart, children, roots } = tree;
  for (let r = 0; r < roots.length; r++) {
    let top = n - 1;
    order[top] = roots[r];
    while (top < n) {
      const i = order[top++];
      order[count++] = i;
      for (let c = childStart[i + 1] - 1; c >= childStart[i]; c--) order[--top] = children[c];
    }
  }
  return { order, count };
}

function repairMissingTimes(
  spans: readonly Span[],
  parent: Int32Array,
  tree: Tree,
  order: Int32Array,
  start: Float64Array,
  end: Float64Array,
  missing: Uint8Array,
  changed: Uint8Array,
  warnings: TraceWarning[],
): void {
  const n = spans.length;
  const placed = new Uint8Array(n);
  const from = new Uint8Array(n);
  // Children first: a span with no time covers its timed children.
  for (let k = n - 1; k >= 0; k--) {
    const i = order[k];
    if (!missing[i]) continue;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let c = tree.childStart[i]; c < tree.childStart[i + 1]; c++) {
      const child = tree.children[c];
      if (missing[child] && !placed[child]) continue;
      if (start[child] < lo) lo = start[child];
      if (end[child] > hi) hi = end[child];
    }
    if (lo !== Number.POSITIVE_INFINITY) {
      start[i] = lo;
      end[i] = hi;
      placed[i] = 1;
      from[i] = 1;
    }
  }
  // Then parents: a leaf with no time is an instant at its parent's start.
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (!missing[i] || placed[i]) continue;
    const p = parent[i];
    const at = p >= 0 ? start[p] : 0;
    start[i] = at;
    end[i] = at;
    placed[i] = 1;
  }
  for (let i = 0; i < n; i++) {
    if (!missing[i]) continue;
    changed[i] = 1;
    warnings.push({
      code: 'missing-timestamp',
      spanIndex: i,
      spanId: spans[i].spanId,
      message: from[i]
        ? 'span has no timestamp; placed over its children'
        : "span has no timestamp; placed at its parent's start with zero duration",
    });
  }
}

function hostKeyOf(resource: Resource, serviceName: string): string {
  const attrs = resource.attributes;
  const hostId = stringAttribute(attrs, 'host.id');
  if (hostId) return `host.id=${hostId}`;
  const hostName = stringAttribute(attrs, 'host.name');
  if (hostName) return `host.name=${hostName}`;
  const instance = stringAttribute(attrs, 'service.instance.id');
  if (instance) return `service.instance.id=${instance}`;
  return `service.name=${serviceName}`;
}

/** The host of every span (see `hostKeyOf`), interned; worked out once per resource and service. */
class HostInterner {
  /** Filled by `add` for every span. */
  readonly host: Int32Array;
  readonly names: string[] = [];
  #ids = new Map<string, number>();
  #byResource = new Map<Resource, { service: string; host: number }>();
  #lastResource: Resource | undefined;
  #lastService = '';
  #lastHost = -1;

  constructor(host: Int32Array) {
    this.host = host;
  }

  add(i: number, span: Span): void {
    if (span.resource === this.#lastResource && span.serviceName === this.#lastService) {
      this.host[i] = this.#lastHost;
      return;
    }
    const known = this.#byResource.get(span.resource);
    let id: number;
    if (known !== undefined && known.service === span.serviceName) {
      id = known.host;
    } else {
      const key = hostKeyOf(span.resource, span.serviceName);
      const found = this.#ids.get(key);
      if (found === undefined) {
        id = this.names.length;
        this.names.push(key);
        this.#ids.set(key, id);
      } else {
        id = found;
      }
      this.#byResource.set(span.resource, { service: span.serviceName, host: id });
    }
    this.host[i] = id;
    this.#lastResource = span.resource;
    this.#lastService = span.serviceName;
    this.#lastHost = id;
  }
}

/**
 * Moves children on another host into their parent (see `buildTrace`). Returns the shift of every
 * span, or undefined when nothing moved.
 */
function adjustClockSkew(
  spans: readonly Span[],
  hosts: HostInterner,
  parent: Int32Array,
  order: Int32Array,
  start: Float64Array,
  end: Float64Array,
  missing: Uint8Array,
  asyncChild: Uint8Array,
  changed: Uint8Array,
  warnings: TraceWarning[],
): Float64Array | undefined {
  const n = spans.length;
  const { host, names: hostNames } = hosts;
  if (hostNames.length < 2) return undefined;
  // Nearly every trace needs no move: find out in span order, which reads the arrays in order,
  // before walking the tree, which reads them scattered. The check is the walk's own test before
  // its first move, so it finds a move exactly when the walk would.
  let anyMove = false;
  for (let i = 0; i < n && !anyMove; i++) {
    const p = parent[i];
    if (p < 0 || host[i] === host[p] || asyncChild[i] || missing[i] || missing[p]) continue;
    const ps = start[p];
    const pe = end[p];
    const cs = start[i];
    const ce = end[i];
    anyMove = pe - ps >= ce - cs && !(cs >= ps && ce <= pe) && ps + Math.trunc((pe - ps - (ce - cs)) / 2) - cs !== 0;
  }
  if (!anyMove) return undefined;
  // Allocated at the first move; until then every shift is 0 and every origin -1.
  let shift: Float64Array | undefined;
  let origin: Int32Array | undefined;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const p = parent[i];
    if (p < 0) continue;
    if (host[i] === host[p]) {
      if (shift !== undefined && origin !== undefined) {
        shift[i] = shift[p];
        origin[i] = origin[p];
      }
    } else if (!asyncChild[i] && !missing[i] && !missing[p]) {
      const ps = shift === undefined ? start[p] : start[p] + shift[p];
      const pe = shift === undefined ? end[p] : end[p] + shift[p];
      const cs = start[i];
      const ce = end[i];
      if (pe - ps >= ce - cs && !(cs >= ps && ce <= pe)) {
        const d = ps + Math.trunc((pe - ps - (ce - cs)) / 2) - cs;
        if (shift === undefined || origin === undefined) {
          if (d === 0) continue;
          shift = new Float64Array(n);
          // origin[i]: the span whose skew span i inherited (itself when computed here), -1 for none.
          origin = new Int32Array(n).fill(-1);
        }
        shift[i] = d;
        origin[i] = d === 0 ? -1 : i;
      }
    }
  }
  if (shift === undefined || origin === undefined) return undefined;
  for (let i = 0; i < n; i++) {
    const d = shift[i];
    if (d === 0) continue;
    start[i] += d;
    end[i] += d;
    changed[i] = 1;
    const o = origin[i];
    const by = `${d > 0 ? '+' : ''}${formatDuration(BigInt(d))}`;
    const p = parent[o];
    warnings.push({
      code: 'clock-skew',
      spanIndex: i,
      spanId: spans[i].spanId,
      message:
        o === i
          ? `clock skew: shifted ${by} to centre it in parent ${spans[p].spanId} (${hostNames[host[i]]} vs ${hostNames[host[p]]})`
          : `clock skew: shifted ${by} with ancestor ${spans[o].spanId} on the same host (${hostNames[host[i]]})`,
    });
  }
  return shift;
}

// Built per call: keep one of each alive so that optimized code survives full collections.
keepShapeAlive(new NanosOffsets(1n));
keepShapeAlive(new HostInterner(new Int32Array(0)));
