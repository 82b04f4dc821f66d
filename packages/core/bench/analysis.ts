/**
 * `npm run bench:analysis [-- --json] [-- --max N] [-- --sizes 100000,1000000] [-- --shapes deep,wide]`:
 * times buildTrace, the critical path, time per
 * service and errors on synthetic traces of 1k to 1M spans, wide, deep and mixed, given in
 * shuffled order. In the same run, the textbook baseline: recursively follow "the child path with
 * the largest summed duration" over an object tree. It is not even the right answer when calls
 * run concurrently; it is here to show what the flat, iterative walk costs in comparison, and
 * where recursion overflows the stack.
 *
 * The GC column is the part of the total spent in V8 garbage-collection pauses (from `gc`
 * performance entries). At a million spans the input itself is about half a gigabyte of span
 * objects, so one full collection costs hundreds of milliseconds whoever triggers it.
 *
 * Each run is measured as one analysis of one trace: before every run, outside the timed region,
 * the bench forces a full collection, so that a run (or a row) does not pay for the garbage of
 * the run before it, such as the previous run's results or the half gigabyte of a million-span
 * input of the previous row. A collection that the run's own allocations cause still counts:
 * pauses inside the run are in its time, and when the run started a collection that was still
 * marking when it ended (a `gc` entry of kind incremental with no major one after it), the forced
 * collection that finishes it is timed and added to that run's total and GC time.
 */
import { cpus, loadavg } from 'node:os';
import { constants, PerformanceObserver, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildTrace } from '../src/analysis/build-trace.ts';
import { criticalPath } from '../src/analysis/critical-path.ts';
import { analyzeErrors } from '../src/analysis/errors.ts';
import { seededRandom } from '../src/analysis/test-support.ts';
import { timeByService } from '../src/analysis/time-by-service.ts';
import type { Resource, Span } from '../src/model/span.ts';
import { unixNanos } from '../src/model/units.ts';

type Shape = 'wide' | 'deep' | 'mixed';

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const maxIndex = args.indexOf('--max');
const maxSize = maxIndex >= 0 ? Number(args[maxIndex + 1]) : 1_000_000;
/** The value after `--name`, split at commas; undefined when the flag is absent. */
function listArg(name: string): string[] | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? (args[at + 1] ?? '').split(',') : undefined;
}
const sizesArg = listArg('--sizes')?.map(Number);
const SIZES = [1_000, 10_000, 100_000, 1_000_000].filter(
  (n) => n <= maxSize && (sizesArg === undefined || sizesArg.includes(n)),
);
const shapesArg = listArg('--shapes');
const SHAPES = (['wide', 'deep', 'mixed'] as Shape[]).filter((s) => shapesArg === undefined || shapesArg.includes(s));
const BASE = 1_700_000_000_000_000_000n;

const resources: Resource[] = Array.from({ length: 8 }, (_, i) => ({
  attributes: [
    { key: 'service.name', value: { type: 'string', value: `service-${i}` } },
    { key: 'host.name', value: { type: 'string', value: `host-${i}` } },
  ],
  droppedAttributesCount: 0,
  schemaUrl: '',
}));
const scope = { name: 'bench', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

function hexId(i: number): string {
  return (i + 1).toString(16).padStart(16, '0');
}

/** Synthetic spans: times in ns offsets; every child inside its parent so skew never moves it. */
function generate(shape: Shape, n: number, seed: number): Span[] {
  const random = seededRandom(seed);
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const parent = new Int32Array(n);
  parent[0] = -1;
  start[0] = 0;
  end[0] = shape === 'deep' ? 4 * n + 1_000 : 1_000_000_000;
  for (let i = 1; i < n; i++) {
    let p: number;
    if (shape === 'wide') p = 0;
    else if (shape === 'deep') p = i - 1;
    else p = random() < 0.7 ? Math.max(0, i - 1 - Math.floor(random() * 8)) : Math.floor(random() * i);
    parent[i] = p;
    const length = end[p] - start[p];
    if (shape === 'deep') {
      start[i] = start[p] + 2;
      end[i] = end[p] - 2;
    } else {
      const s = start[p] + Math.floor(random() * length * 0.9);
      start[i] = s;
      end[i] = s + Math.floor(random() * (end[p] - s));
    }
  }
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const spans: Span[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const service = shape === 'deep' ? Math.floor(i / 1000) % 8 : i % 8;
    const resource = resources[service];
    spans[k] = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: hexId(i),
      parentSpanId: parent[i] < 0 ? '' : hexId(parent[i]),
      traceState: '',
      flags: 1,
      name: `op-${i % 20}`,
      kind: i % 3 === 0 ? 3 : 2,
      startTimeUnixNano: unixNanos(BASE + BigInt(start[i])),
      endTimeUnixNano: unixNanos(BASE + BigInt(end[i])),
      attributes: [],
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: random() < 0.01 ? 2 : 0, message: '' },
      serviceName: `service-${service}`,
      resource,
      scope,
    };
  }
  return spans;
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** GC pauses as V8 reports them, to tell the analysis time from collector time. */
const gcPauses: { start: number; duration: number; kind: number }[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
    gcPauses.push({ start: entry.startTime, duration: entry.duration, kind });
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

function gcWithin(from: number, to: number): number {
  let ms = 0;
  for (const pause of gcPauses) if (pause.start >= from && pause.start < to) ms += pause.duration;
  return ms;
}

/**
 * True when a full collection began (incremental marking started) within `[from, to)` and had not
 * finished (no major pause after it) by `to`: the run caused it, so finishing it is the run's cost.
 */
function markingPendingAt(from: number, to: number): boolean {
  let pending = false;
  for (const pause of gcPauses) {
    if (pause.start < from || pause.start >= to) continue;
    if (pause.kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) pending = true;
    else if (pause.kind === constants.NODE_PERFORMANCE_GC_MAJOR) pending = false;
  }
  return pending;
}

interface TextbookNode {
  span: Span;
  children: TextbookNode[];
}

/** The beginner's algorithm: an object tree, then recursion returning the heaviest path. */
function textbookCriticalPath(spans: readonly Span[]): Span[] {
  const nodes = new Map<string, TextbookNode>();
  for (const span of spans) nodes.set(span.spanId, { span, children: [] });
  let root: TextbookNode | undefined;
  for (const node of nodes.values()) {
    const parent = nodes.get(node.span.parentSpanId);
    if (parent) parent.children.push(node);
    else root ??= node;
  }
  const heaviest = (node: TextbookNode): { sum: bigint; path: Span[] } => {
    let best: { sum: bigint; path: Span[] } = { sum: 0n, path: [] };
    for (const child of node.children) {
      const candidate = heaviest(child);
      if (candidate.sum > best.sum) best = candidate;
    }
    return { sum: node.span.endTimeUnixNano - node.span.startTimeUnixNano + best.sum, path: [node.span, ...best.path] };
  };
  return root ? heaviest(root).path : [];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface Row {
  shape: Shape;
  spans: number;
  buildMs: number;
  criticalPathMs: number;
  timeByServiceMs: number;
  errorsMs: number;
  totalMs: number;
  /** The total of every measured run, in run order: the spread shows how reliable the median is. */
  runTotalsMs: number[];
  /**
   * Median GC pause time of the timed runs, included in the other columns: pauses inside the run,
   * plus the collection that finished one the run had started (then included in the total only).
   */
  gcMs: number;
  /** Runs whose own collection was still marking at their end, finished (and timed) after it. */
  runsWithFinishedGc: number;
  nsPerSpan: number;
  textbookMs: number | null;
  textbookResult: string;
}

const rows: Row[] = [];
const loadAtStart = loadavg();
/** Forces a full collection and returns how long it took in ms. */
function timedCollection(): number {
  const t0 = performance.now();
  collectGarbage();
  return performance.now() - t0;
}

for (const shape of SHAPES) {
  for (const n of SIZES) {
    collectGarbage();
    const spans = generate(shape, n, n + shape.length);
    const reps = n <= 10_000 ? 15 : n <= 100_000 ? 7 : 3;
    const b: number[] = [];
    const c: number[] = [];
    const t: number[] = [];
    const e: number[] = [];
    const total: number[] = [];
    const runs: [number, number][] = [];
    // The forced collection after each measured run: charged to the run if the run started it.
    const after: number[] = [];
    // Four warm-up runs, then the measured ones, each after a full collection (see the top). At
    // a new trace size V8 recompiles the analyses a few times before its code is stable: the
    // first three or four 100k-span analyses take 70-105 ms instead of 30-50 ms.
    const warmups = 4;
    for (let r = 0; r < warmups + reps; r++) {
      const forced = timedCollection();
      if (r > warmups) after.push(forced);
      const t0 = performance.now();
      const trace = buildTrace(spans);
      const t1 = performance.now();
      const path = criticalPath(trace);
      const t2 = performance.now();
      timeByService(trace, path);
      const t3 = performance.now();
      analyzeErrors(trace);
      const t4 = performance.now();
      if (r < warmups) continue;
      b.push(t1 - t0);
      c.push(t2 - t1);
      t.push(t3 - t2);
      e.push(t4 - t3);
      total.push(t4 - t0);
      runs.push([t0, t4]);
    }
    after.push(timedCollection());
    // GC entries arrive asynchronously.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const gc = runs.map(([from, to]) => gcWithin(from, to));
    let runsWithFinishedGc = 0;
    for (let k = 0; k < runs.length; k++) {
      if (!markingPendingAt(runs[k][0], runs[k][1])) continue;
      runsWithFinishedGc++;
      gc[k] += after[k];
      total[k] += after[k];
    }
    let textbookMs: number | null = null;
    let textbookResult = 'ok';
    try {
      const t0 = performance.now();
      const path = textbookCriticalPath(spans);
      textbookMs = performance.now() - t0;
      textbookResult = `ok (${path.length} spans)`;
    } catch (error) {
      textbookResult = error instanceof RangeError ? 'stack overflow' : `failed: ${(error as Error).message}`;
    }
    const row: Row = {
      shape,
      spans: n,
      buildMs: median(b),
      criticalPathMs: median(c),
      timeByServiceMs: median(t),
      errorsMs: median(e),
      totalMs: median(total),
      runTotalsMs: total,
      gcMs: median(gc),
      runsWithFinishedGc,
      nsPerSpan: (median(total) * 1e6) / n,
      textbookMs,
      textbookResult,
    };
    rows.push(row);
    if (!asJson) process.stderr.write(`${shape} ${n}: ${row.totalMs.toFixed(1)} ms\n`);
  }
}

gcObserver.disconnect();

const machine = {
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  /** 1-, 5- and 15-minute load averages at the start and at the end: the machine is shared. */
  loadAverage: { start: loadAtStart, end: loadavg() },
};
if (asJson) {
  process.stdout.write(`${JSON.stringify({ machine, rows })}\n`);
} else {
  const f = (x: number): string => x.toFixed(2);
  const lines = [
    `Node ${machine.node}, ${machine.cores} cores, ${machine.cpu}, load average ${machine.loadAverage.start.map((x) => x.toFixed(1)).join(' ')} at the start, ${machine.loadAverage.end.map((x) => x.toFixed(1)).join(' ')} at the end.`,
    'Median of 3-15 runs after four warm-ups, a full collection forced before each (untimed); input shuffled.',
    'GC ms: garbage-collection pauses of the timed runs (median), already included in the other columns;',
    'a collection a run started and left marking is finished after it, timed, and added to its total and GC ms.',
    '',
    '| shape | spans | buildTrace ms | critical path ms | time per service ms | errors ms | total ms | total ms, runs | GC ms | ns/span | textbook baseline ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.shape} | ${r.spans.toLocaleString('en-US')} | ${f(r.buildMs)} | ${f(r.criticalPathMs)} | ${f(r.timeByServiceMs)} | ${f(r.errorsMs)} | ${f(r.totalMs)} | ${r.runTotalsMs.length > 0 ? `${Math.min(...r.runTotalsMs).toFixed(0)}–${Math.max(...r.runTotalsMs).toFixed(0)}` : ''} | ${f(r.gcMs)} | ${r.nsPerSpan.toFixed(0)} | ${r.textbookMs === null ? r.textbookResult : `${f(r.textbookMs)} (${r.textbookResult})`} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
