import { type Resource, type Span, SpanKind, stringAttribute } from '../model/span.ts';
import { formatDuration, type UnixNanos, unixNanos } from '../model/units.ts';
import { sortIndicesByKey } from './sort-indices.ts';

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
 * Times are also kept as float64 offsets in nanoseconds from `startUnixNano`: they are exact
 * integers while a trace lasts less than 2^53 ns (about 104 days), and they make the hot loops
 * an order of magnitude faster than bigint arithmetic. Public outputs convert back to exact bigints.
 */

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
  /** Start of each span in ns from `startUnixNano` (an exact integer below 2^53). */
  readonly start: Float64Array;
  /** End of each span in ns from `startUnixNano`; never before `start`. */
  readonly end: Float64Array;
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
  /** Span id to index, after duplicate ids were renamed. */
  readonly indexOfSpanId: ReadonlyMap<string, number>;
  readonly warnings: readonly TraceWarning[];
}

const TWO_53 = 2 ** 53;

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
  const adjustSkew = options.adjustClockSkew ?? true;
  const warnings: TraceWarning[] = [];
  const traceId = input.length > 0 ? input[0].traceId : '';
  let otherTraceIds = 0;
  for (let i = 0; i < input.length; i++) if (input[i].traceId !== traceId) otherTraceIds++;
  if (otherTraceIds > 0) {
    warnings.push({
      code: 'multiple-trace-ids',
      spanIndex: -1,
      spanId: '',
      message: `${otherTraceIds} span(s) have a trace id other than ${traceId}`,
    });
  }

  // Duplicate ids. Pass 1 finds them, so that new ids never collide with any id in the input.
  const ids = new Map<string, number>();
  let dups: number[] | undefined;
  for (let i = 0; i < input.length; i++) {
    const id = input[i].spanId;
    if (!ids.has(id)) ids.set(id, i);
    else if (dups === undefined) dups = [i];
    else dups.push(i);
  }
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
      for (const [id, i] of ids) ids.set(id, newIndex[i]);
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

  const n = work.length;
  const changed = new Uint8Array(n);

  // Times as offsets from the earliest known start.
  let base = 0n;
  let haveBase = false;
  for (let i = 0; i < n; i++) {
    const s = work[i].startTimeUnixNano;
    if (s !== 0n && (!haveBase || s < base)) {
      base = s;
      haveBase = true;
    }
  }
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const missing = new Uint8Array(n);
  let anyMissing = false;
  let maxOffset = 0;
  for (let i = 0; i < n; i++) {
    const span = work[i];
    if (span.startTimeUnixNano === 0n) {
      missing[i] = 1;
      anyMissing = true;
      continue;
    }
    const s = Number(span.startTimeUnixNano - base);
    let e = Number(span.endTimeUnixNano - base);
    if (e < s) {
      e = s;
      changed[i] = 1;
      warnings.push({
        code: 'negative-duration',
        spanIndex: i,
        spanId: span.spanId,
        message: `end is ${formatDuration(span.startTimeUnixNano - span.endTimeUnixNano)} before start; duration set to 0`,
      });
    }
    start[i] = s;
    end[i] = e;
    if (e > maxOffset) maxOffset = e;
  }
  if (maxOffset >= TWO_53) {
    warnings.push({
      code: 'inexact-times',
      spanIndex: -1,
      spanId: '',
      message: 'the trace spans more than 2^53 ns (104 days); analysis times are rounded',
    });
  }

  // Parents.
  const parent = new Int32Array(n);
  const orphan = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const span = work[i];
    const pid = span.parentSpanId;
    if (pid === '') {
      parent[i] = -1;
      continue;
    }
    let p = ids.get(pid);
    const sh = shared.size > 0 ? shared.get(pid) : undefined;
    if (sh !== undefined && i !== sh.server) {
      p = span.serviceName === work[sh.client].serviceName ? sh.client : sh.server;
    }
    if (p === undefined || p === i) {
      parent[i] = -1;
      orphan[i] = 1;
      warnings.push({
        code: 'missing-parent',
        spanIndex: i,
        spanId: span.spanId,
        message:
          p === i ? 'span names itself as parent; kept as a root' : `parent ${pid} is not in the trace; kept as a root`,
      });
    } else {
      parent[i] = p;
    }
  }

  // An unsorted tree first: cycle breaking, timestamp repair and skew only need some order.
  let tree = childrenOf(parent, undefined);
  let pre = preorderOf(parent, tree);
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
        warnings.push({
          code: 'parent-cycle',
          spanIndex: c,
          spanId: work[c].spanId,
          message: `parent ${work[c].parentSpanId} leads back to this span; cycle broken here`,
        });
      }
      // Mark everything reachable from the new root so later walks stop there.
      tree = childrenOf(parent, undefined);
      pre = preorderOf(parent, tree);
      for (let k = 0; k < pre.count; k++) visited[pre.order[k]] = 1;
    }
  }

  if (anyMissing) repairMissingTimes(work, parent, tree, pre.order, start, end, missing, changed, warnings);

  const shift = new Float64Array(n);
  const asyncChild = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0 && isAsync(work[p], work[i])) asyncChild[i] = 1;
  }
  if (adjustSkew) adjustClockSkew(work, parent, pre.order, start, end, missing, asyncChild, shift, changed, warnings);

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
    const delta = BigInt(shift[i]);
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

  // The final tree: children and roots sorted by start.
  const byStart = sortIndicesByKey(start);
  tree = childrenOf(parent, byStart);
  pre = preorderOf(parent, tree);
  const depth = new Int32Array(n);
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

  // Intern services and operations; consecutive spans usually share them.
  const serviceOf = new Int32Array(n);
  const operationOf = new Int32Array(n);
  const services: string[] = [];
  const operations: OperationKey[] = [];
  const serviceIds = new Map<string, number>();
  const opIds: Map<string, number>[] = [];
  let lastService = '';
  let lastServiceId = -1;
  for (let i = 0; i < n; i++) {
    const span = spans[i];
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

  // After renaming and dropping, `ids` maps every id (a shared id to its client half) to its index.
  const indexOfSpanId: ReadonlyMap<string, number> = ids;

  return {
    traceId,
    spans,
    size: n,
    startUnixNano: unixNanos(base),
    endUnixNano: unixNanos(base + BigInt(maxEnd)),
    start,
    end,
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
  const chain: number[] = [];
  for (let i = index; i >= 0; i = trace.parent[i]) chain.push(i);
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

function childrenOf(parent: Int32Array, order: Int32Array | undefined): Tree {
  const n = parent.length;
  const childStart = new Int32Array(n + 1);
  let rootCount = 0;
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0) childStart[p + 1]++;
    else rootCount++;
  }
  for (let i = 0; i < n; i++) childStart[i + 1] += childStart[i];
  const fill = childStart.slice(0, n);
  const children = new Int32Array(childStart[n]);
  const roots = new Int32Array(rootCount);
  let r = 0;
  for (let k = 0; k < n; k++) {
    const i = order === undefined ? k : order[k];
    const p = parent[i];
    if (p >= 0) children[fill[p]++] = i;
    else roots[r++] = i;
  }
  return { childStart, children, roots };
}

function preorderOf(parent: Int32Array, tree: Tree): { order: Int32Array; count: number } {
  const n = parent.length;
  const order = new Int32Array(n);
  const stack = new Int32Array(n);
  let count = 0;
  const { childStart, children, roots } = tree;
  for (let r = 0; r < roots.length; r++) {
    let top = 0;
    stack[top++] = roots[r];
    while (top > 0) {
      const i = stack[--top];
      order[count++] = i;
      for (let c = childStart[i + 1] - 1; c >= childStart[i]; c--) stack[top++] = children[c];
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

function adjustClockSkew(
  spans: readonly Span[],
  parent: Int32Array,
  order: Int32Array,
  start: Float64Array,
  end: Float64Array,
  missing: Uint8Array,
  asyncChild: Uint8Array,
  shift: Float64Array,
  changed: Uint8Array,
  warnings: TraceWarning[],
): void {
  const n = spans.length;
  const hostIds = new Map<string, number>();
  const hostNames: string[] = [];
  const host = new Int32Array(n);
  let lastResource: Resource | undefined;
  let lastService = '';
  let lastHost = -1;
  for (let i = 0; i < n; i++) {
    const span = spans[i];
    if (span.resource === lastResource && span.serviceName === lastService) {
      host[i] = lastHost;
      continue;
    }
    const key = hostKeyOf(span.resource, span.serviceName);
    let id = hostIds.get(key);
    if (id === undefined) {
      id = hostNames.length;
      hostNames.push(key);
      hostIds.set(key, id);
    }
    host[i] = id;
    lastResource = span.resource;
    lastService = span.serviceName;
    lastHost = id;
  }
  if (hostNames.length < 2) return;
  // origin[i]: the span whose skew span i inherited (itself when computed here), -1 for none.
  const origin = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const p = parent[i];
    if (p < 0) continue;
    if (host[i] === host[p]) {
      shift[i] = shift[p];
      origin[i] = origin[p];
    } else if (!asyncChild[i] && !missing[i] && !missing[p]) {
      const ps = start[p] + shift[p];
      const pe = end[p] + shift[p];
      const cs = start[i];
      const ce = end[i];
      if (pe - ps >= ce - cs && !(cs >= ps && ce <= pe)) {
        shift[i] = ps + Math.trunc((pe - ps - (ce - cs)) / 2) - cs;
        origin[i] = shift[i] === 0 ? -1 : i;
      }
    }
  }
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
}
