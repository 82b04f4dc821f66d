/**
 * What the TraceQL evaluator knows about one trace, built lazily so that a query pays only for
 * what it uses: a `{ status = error }` never builds the tree; a structural query builds it once.
 *
 * The tree joins spans on parent ids, on the raw spans as stored (no repair: a search result
 * must show the spans as they are):
 * ```
 * spans:  root  a  b  c  d          d's parent id is not in the trace
 * tree:   root ── a ── c            DFS from the roots, children by start (see `numbered`):
 *            └── b                  root [1,8]  a [2,5]  c [3,4]  b [6,7]  (nestedSetLeft, Right)
 *         d                         disconnected: 0/0/0, excluded from structural results
 * ```
 * "Connected" (spec §5; Tempo needs a root span to build nested sets, issue #5270): when the trace
 * has at least one root span (empty parent id), the connected spans are the root spans and their
 * descendants, as in Tempo. When it has none (the root has not arrived or was lost), Ariadne
 * treats each span whose parent id is not in the trace as the top of a tree, and every span below
 * such a top is connected too; tops that name the same missing parent are siblings of each other.
 * Spans in a parent cycle (or below one) are never connected.
 *
 * Zipkin shared spans (a CLIENT and a SERVER span with one id) are told apart by kind, as
 * `buildTrace` does: the server half is the child of the client half, and a span naming the
 * shared id as its parent hangs below the half of its own service (the server half if neither
 * matches). Any other repeated id belongs to its first span: later spans with that id have no
 * children.
 */

import { keepShapeAlive } from '../analysis/scratch.ts';
import type { AnyValue, KeyValue, Span } from '../model/span.ts';
import { SpanKind } from '../model/span.ts';

/** Parent, children and nested-set numbering of one trace (see the file comment). */
export interface TraceTree {
  /** Index of each span's parent in the trace, -1 when none (root, missing parent, own id). */
  readonly parent: Int32Array;
  /** Number of spans whose parent is this span, connected or not (`span:childCount`). */
  readonly childCount: Int32Array;
  /** 1 for a span that structural operators may see. */
  readonly connected: Uint8Array;
  /** `nestedSetLeft`, `nestedSetRight`: 0 for a disconnected span. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** `nestedSetParent`: the parent's left number, -1 for a root or top, 0 when disconnected. */
  readonly nestedParent: Int32Array;
  /**
   * Siblings share a group: the parent index, or `size + k` for the k-th missing parent id of a
   * rootless trace. -1 for roots and disconnected spans, which have no siblings.
   */
  readonly siblingGroup: Int32Array;
  /**
   * Connected spans in depth-first preorder: roots and children by start when the index is
   * `numbered`, else in input order.
   */
  readonly preorder: Int32Array;
  /** Position of each connected span in `preorder`, -1 when disconnected. */
  readonly position: Int32Array;
  /** End (exclusive) of each connected span's subtree in `preorder`. */
  readonly subtreeEnd: Int32Array;
}

/** Above this many attributes a span's lookups go through a `Map` built at the first lookup. */
const MAP_THRESHOLD = 16;

/**
 * One trace's spans with lazily built indexes. Holds state (the caches), hence a class; it lives
 * for one evaluation of one query on one trace.
 */
export class TraceIndex {
  readonly spans: readonly Span[];
  readonly size: number;
  #tree: TraceTree | undefined;
  #order: Int32Array | undefined;
  #startKeys: Float64Array | undefined;
  #durations: (bigint | undefined)[] | undefined;
  #root = -2;
  #start: bigint | undefined;
  #end: bigint | undefined;
  #traceDuration: bigint | undefined;
  /** Long attribute lists, by identity: a resource's list is usually shared by its spans. */
  #maps: Map<readonly KeyValue[], Map<string, AnyValue>> | undefined;

  readonly #numbered: boolean;

  /**
   * `numbered`: the query reads nested-set numbers, so children are visited in start order and
   * the numbers do not depend on the input order. Without it the tree is walked in input order,
   * which gives the same relations (parent, ancestor, sibling) without sorting the trace.
   */
  constructor(spans: readonly Span[], numbered = true) {
    this.spans = spans;
    this.size = spans.length;
    this.#numbered = numbered;
  }

  /** The first attribute named `key` in `list`, or undefined. */
  lookup(list: readonly KeyValue[], key: string): AnyValue | undefined {
    if (list.length <= MAP_THRESHOLD) {
      // A short list is scanned: cheaper than building a map for one or two lookups.
      for (let k = 0; k < list.length; k++) if (list[k].key === key) return list[k].value;
      return undefined;
    }
    this.#maps ??= new Map();
    let map = this.#maps.get(list);
    if (map === undefined) {
      map = new Map();
      for (const kv of list) if (!map.has(kv.key)) map.set(kv.key, kv.value);
      this.#maps.set(list, map);
    }
    return map.get(key);
  }

  /** `span:duration` of span `i` in nanoseconds (end minus start), computed once. */
  duration(i: number): bigint {
    this.#durations ??= new Array(this.size);
    let d = this.#durations[i];
    if (d === undefined) {
      d = this.spans[i].endTimeUnixNano - this.spans[i].startTimeUnixNano;
      this.#durations[i] = d;
    }
    return d;
  }

  /** `trace:duration`: the latest end minus the earliest start. */
  get traceDuration(): bigint {
    this.#traceDuration ??= this.end - this.start;
    return this.#traceDuration;
  }

  /** The earliest start of any span. */
  get start(): bigint {
    if (this.#start === undefined) this.#bounds();
    return this.#start as bigint;
  }

  /** The latest end of any span. */
  get end(): bigint {
    if (this.#end === undefined) this.#bounds();
    return this.#end as bigint;
  }

  /**
   * The root for `trace:rootName` and `trace:rootService`: the earliest span with an empty
   * parent id (the first in input order among equals), or -1 when there is none.
   */
  get root(): number {
    if (this.#root !== -2) return this.#root;
    let root = -1;
    for (let i = 0; i < this.size; i++) {
      const span = this.spans[i];
      if (span.parentSpanId !== '') continue;
      if (root < 0 || span.startTimeUnixNano < this.spans[root].startTimeUnixNano) root = i;
    }
    this.#root = root;
    return root;
  }

  /**
   * `trace:rootService`, as Tempo records it (vParquet's `RootServiceName`: the string value of
   * the root's resource attribute `service.name`): that string as sent, `""` included, and `""`
   * when the first `service.name` of the root's resource is not a string (a number, a bool, an
   * array) or there is none. Undefined without a root. Not the span's `serviceName`, which is
   * `unknown_service` in all those cases (the name lists and summaries show).
   */
  get rootService(): string | undefined {
    const root = this.root;
    if (root < 0) return undefined;
    const value = this.lookup(this.spans[root].resource.attributes, 'service.name');
    return value?.type === 'string' ? value.value : '';
  }

  /** Span indices sorted by start time, input order among equals. */
  get order(): Int32Array {
    if (this.#order !== undefined) return this.#order;
    const all = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) all[i] = i;
    this.#order = Int32Array.from(this.sortByStart(all));
    return this.#order;
  }

  /**
   * Start of each span in nanoseconds after the trace's earliest start, as float64: exact below
   * 2^53 ns (104 days; longer traces are sorted on their bigints). Sorting on these avoids bigint
   * comparisons in every step of a sort.
   */
  get startKeys(): Float64Array {
    if (this.#startKeys !== undefined) return this.#startKeys;
    const base = this.start;
    const keys = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) keys[i] = Number(this.spans[i].startTimeUnixNano - base);
    this.#startKeys = keys;
    return keys;
  }

  /** `indices` (ascending span indices) sorted by start time, index order among equals. */
  sortByStart(indices: ArrayLike<number>): ArrayLike<number> {
    const k = indices.length;
    const n = this.size;
    // Start keys pack with a span index into one float, exact while start * size + index < 2^53
    // (every start offset is at most the trace's duration; 2^52 leaves room for the rounding of
    // this check). The typed array's native numeric sort is several times faster than a
    // comparator. A few spans compare their own starts rather than compute every span's key.
    const packable = (Number(this.traceDuration) + 1) * n < 2 ** 52;
    if (!packable || (k * 8 < n && this.#startKeys === undefined)) return this.#sortExactly(indices);
    const keys = this.startKeys;
    let sorted = true;
    for (let j = 1; j < k && sorted; j++) sorted = keys[indices[j - 1]] <= keys[indices[j]];
    if (sorted) return indices;
    const packed = new Float64Array(k);
    for (let j = 0; j < k; j++) packed[j] = keys[indices[j]] * n + indices[j];
    packed.sort();
    const out = new Int32Array(k);
    for (let j = 0; j < k; j++) out[j] = packed[j] % n;
    return out;
  }

  /** Sorts by the bigint starts: for traces too long for the float keys. */
  #sortExactly(indices: ArrayLike<number>): number[] {
    const spans = this.spans;
    return Array.from(indices).sort((a, b) => {
      const x = spans[a].startTimeUnixNano;
      const y = spans[b].startTimeUnixNano;
      return x < y ? -1 : x > y ? 1 : a - b;
    });
  }

  /** The tree of the trace, built at the first call. */
  get tree(): TraceTree {
    if (this.#tree !== undefined) return this.#tree;
    let order = this.#order;
    if (order === undefined && !this.#numbered) {
      order = new Int32Array(this.size);
      for (let i = 0; i < this.size; i++) order[i] = i;
    }
    this.#tree = buildTree(this.spans, order ?? this.order);
    return this.#tree;
  }

  #bounds(): void {
    let start = this.spans[0].startTimeUnixNano as bigint;
    let end = this.spans[0].endTimeUnixNano as bigint;
    for (const span of this.spans) {
      if (span.startTimeUnixNano < start) start = span.startTimeUnixNano;
      if (span.endTimeUnixNano > end) end = span.endTimeUnixNano;
    }
    this.#start = start;
    this.#end = end;
  }
}

/** Resolves parents (see the file comment), then numbers the connected spans in one DFS. */
function buildTree(spans: readonly Span[], order: Int32Array): TraceTree {
  const n = spans.length;
  // A Map, not the analyses' SpanIdIndex: at search sizes (thousands of spans) hashing each id
  // once is cheaper than parsing it as hex for every insert and lookup.
  const byId = new Map<string, number>();
  /** For a Zipkin shared id: the client half, keyed by the server half's index. */
  const clientOfServer = new Map<number, number>();
  /** For a Zipkin shared id: [client, server]. */
  const sharedHalves = new Map<string, [number, number]>();
  // Filled backwards so that the first span with an id keeps it; repeats are looked for only
  // when the map came out smaller than the trace.
  for (let i = n - 1; i >= 0; i--) byId.set(spans[i].spanId, i);
  for (let i = 0; byId.size < n && i < n; i++) {
    const id = spans[i].spanId;
    const first = byId.get(id) as number;
    if (first === i || sharedHalves.has(id)) continue;
    const a = spans[first].kind;
    const b = spans[i].kind;
    if (a === SpanKind.CLIENT && b === SpanKind.SERVER) {
      sharedHalves.set(id, [first, i]);
      clientOfServer.set(i, first);
    } else if (a === SpanKind.SERVER && b === SpanKind.CLIENT) {
      sharedHalves.set(id, [i, first]);
      clientOfServer.set(first, i);
    }
  }

  const parent = new Int32Array(n).fill(-1);
  const childCount = new Int32Array(n);
  /** 1 for a true root (empty parent id), 2 for a top (parent id not in the trace). */
  const start = new Uint8Array(n);
  let roots = 0;
  const shared = sharedHalves.size > 0;
  for (let i = 0; i < n; i++) {
    const span = spans[i];
    const client = shared ? clientOfServer.get(i) : undefined;
    let p: number | undefined;
    if (client !== undefined) p = client;
    else if (span.parentSpanId === '') {
      start[i] = 1;
      roots++;
      continue;
    } else {
      const halves = shared ? sharedHalves.get(span.parentSpanId) : undefined;
      if (halves !== undefined) {
        const [c, s] = halves;
        const own = span.serviceName;
        p = own === spans[c].serviceName && own !== spans[s].serviceName ? c : s;
      } else p = byId.get(span.parentSpanId);
    }
    if (p === undefined) start[i] = 2;
    else if (p !== i) {
      parent[i] = p;
      childCount[p]++;
    }
  }

  // Children lists (CSR), each sorted by start because spans are visited in start order.
  const childStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) if (parent[i] >= 0) childStart[parent[i] + 1]++;
  for (let i = 0; i < n; i++) childStart[i + 1] += childStart[i];
  const fill = childStart.slice(0, n);
  const children = new Int32Array(childStart[n]);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (parent[i] >= 0) children[fill[parent[i]]++] = i;
  }

  const wanted = roots > 0 ? 1 : 2;
  const connected = new Uint8Array(n);
  const left = new Int32Array(n);
  const right = new Int32Array(n);
  const nestedParent = new Int32Array(n);
  const siblingGroup = new Int32Array(n).fill(-1);
  const preorder: number[] = [];
  const position = new Int32Array(n).fill(-1);
  const subtreeEnd = new Int32Array(n);
  const missingParents = new Map<string, number>();
  const stack = new Int32Array(n);
  const next = new Int32Array(n);
  let counter = 1;
  for (let k = 0; k < n; k++) {
    const top = order[k];
    if (start[top] !== wanted) continue;
    if (wanted === 2) {
      const id = spans[top].parentSpanId;
      let group = missingParents.get(id);
      if (group === undefined) {
        group = n + missingParents.size;
        missingParents.set(id, group);
      }
      siblingGroup[top] = group;
    }
    nestedParent[top] = -1;
    // Iterative DFS: `next[i]` is the next child of `i` to visit.
    let depth = 0;
    stack[0] = top;
    connected[top] = 1;
    left[top] = counter++;
    position[top] = preorder.length;
    preorder.push(top);
    next[top] = childStart[top];
    while (depth >= 0) {
      const node = stack[depth];
      if (next[node] < childStart[node + 1]) {
        const child = children[next[node]++];
        if (connected[child] === 1) continue;
        connected[child] = 1;
        left[child] = counter++;
        nestedParent[child] = left[node];
        siblingGroup[child] = node;
        position[child] = preorder.length;
        preorder.push(child);
        next[child] = childStart[child];
        stack[++depth] = child;
      } else {
        right[node] = counter++;
        subtreeEnd[node] = preorder.length;
        depth--;
      }
    }
  }
  return {
    parent,
    childCount,
    connected,
    left,
    right,
    nestedParent,
    siblingGroup,
    preorder: Int32Array.from(preorder),
    position,
    subtreeEnd,
  };
}

// Built per evaluation: keep one alive so that optimized code survives full collections.
keepShapeAlive(new TraceIndex([]));
