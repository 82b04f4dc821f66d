/**
 * `node --import tsx packages/core/bench/traceql.ts [--json] [--ms N]`: evaluates a few TraceQL
 * queries on one generated 1,000-span trace and prints evaluations per second (ops/s) and the
 * time of one evaluation. Each query is compiled once, as a search does, and evaluated again and
 * again on the same spans; every evaluation builds its per-trace indexes anew, as it would for a
 * new candidate trace. Regex results are memoised per query across evaluations, as in a search.
 */

import { seededRandom } from '../src/model/seeded-random.ts';
import type { Resource, Span, SpanEvent } from '../src/model/span.ts';
import { unixNanos } from '../src/model/units.ts';
import { compileTraceQL } from '../src/traceql/compile.ts';
import { createTraceQLEvaluator } from '../src/traceql/evaluate.ts';

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const msIndex = args.indexOf('--ms');
const budgetMs = msIndex >= 0 ? Number(args[msIndex + 1]) : 1_000;

const SPANS = 1_000;
const SERVICES = 8;
const BASE = 1_700_000_000_000_000_000n;

const resources: Resource[] = Array.from({ length: SERVICES }, (_, i) => ({
  attributes: [
    { key: 'service.name', value: { type: 'string', value: `service-${i}` } },
    { key: 'host.name', value: { type: 'string', value: `host-${i}` } },
    { key: 'region', value: { type: 'string', value: i % 2 === 0 ? 'eu-west' : 'us-east' } },
  ],
  droppedAttributesCount: 0,
  schemaUrl: '',
}));
const scope = { name: 'bench', version: '1.0', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

function hexId(i: number): string {
  return (i + 1).toString(16).padStart(16, '0');
}

/** A mixed tree: mostly near the previous span, sometimes anywhere; children inside parents. */
function generate(n: number, seed: number): Span[] {
  const random = seededRandom(seed);
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const parent = new Int32Array(n);
  parent[0] = -1;
  end[0] = 2_000_000_000;
  for (let i = 1; i < n; i++) {
    const p = random() < 0.7 ? Math.max(0, i - 1 - Math.floor(random() * 8)) : Math.floor(random() * i);
    parent[i] = p;
    const s = start[p] + Math.floor(random() * (end[p] - start[p]) * 0.9);
    start[i] = s;
    end[i] = s + Math.floor(random() * (end[p] - s));
  }
  const spans: Span[] = [];
  for (let i = 0; i < n; i++) {
    const service = i % SERVICES;
    const error = random() < 0.02;
    const events: SpanEvent[] = error
      ? [
          {
            timeUnixNano: unixNanos(BASE + BigInt(start[i])),
            name: 'exception',
            attributes: [{ key: 'exception.message', value: { type: 'string', value: 'boom' } }],
            droppedAttributesCount: 0,
          },
        ]
      : [];
    spans.push({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: hexId(i),
      parentSpanId: parent[i] < 0 ? '' : hexId(parent[i]),
      traceState: '',
      flags: 1,
      name: `op-${i % 20}`,
      kind: i % 3 === 0 ? 3 : 2,
      startTimeUnixNano: unixNanos(BASE + BigInt(start[i])),
      endTimeUnixNano: unixNanos(BASE + BigInt(end[i])),
      attributes: [
        { key: 'http.method', value: { type: 'string', value: i % 4 === 0 ? 'POST' : 'GET' } },
        { key: 'http.route', value: { type: 'string', value: `/api/v1/items/${i % 50}` } },
        { key: 'http.status_code', value: { type: 'int', value: error ? 500n : 200n } },
        { key: 'order.id', value: { type: 'string', value: `order-${i % 100}` } },
        { key: 'retry', value: { type: 'bool', value: i % 7 === 0 } },
      ],
      droppedAttributesCount: 0,
      events,
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: error ? 2 : 0, message: '' },
      serviceName: `service-${service}`,
      resource: resources[service],
      scope,
    });
  }
  return spans;
}

const QUERIES = [
  '{ span.order.id = "order-42" }',
  '{ resource.service.name = "service-3" && duration > 500ms }',
  '{ .region = "eu-west" && span.http.status_code >= 500 }',
  '{ span.http.route =~ "/api/v1/items/4.*" }',
  '{ event:name = "exception" }',
  '{ resource.service.name = "service-0" } >> { status = error }',
  '{ status = error } | count() > 2',
  '{ } | by(resource.service.name) | avg(duration) > 1ms',
  '{ span.retry } !~ { kind = client }',
];

interface Row {
  readonly query: string;
  readonly matched: number;
  readonly opsPerSecond: number;
  readonly microsPerEvaluation: number;
}

const spans = generate(SPANS, 42);
const rows: Row[] = [];
for (const query of QUERIES) {
  const evaluator = createTraceQLEvaluator(compileTraceQL(query), { source: query });
  const first = evaluator.evaluate(spans);
  const matched = first?.spansets.reduce((sum, set) => sum + set.matched, 0) ?? 0;
  // Warm up for a tenth of the budget, then count evaluations until the budget is spent.
  const warmUntil = performance.now() + budgetMs / 10;
  while (performance.now() < warmUntil) evaluator.evaluate(spans);
  let runs = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    for (let k = 0; k < 10; k++) evaluator.evaluate(spans);
    runs += 10;
    elapsed = performance.now() - started;
  }
  rows.push({
    query,
    matched,
    opsPerSecond: Math.round((runs * 1000) / elapsed),
    microsPerEvaluation: Math.round((elapsed * 1000) / runs),
  });
}

if (asJson) {
  console.log(JSON.stringify({ spans: SPANS, node: process.version, rows }, null, 2));
} else {
  console.log(`TraceQL evaluation on one ${SPANS}-span trace (node ${process.version})`);
  console.log(`${'ops/s'.padStart(8)} ${'µs/op'.padStart(7)} ${'matched'.padStart(7)}  query`);
  for (const row of rows) {
    console.log(
      `${String(row.opsPerSecond).padStart(8)} ${String(row.microsPerEvaluation).padStart(7)} ${String(row.matched).padStart(7)}  ${row.query}`,
    );
  }
}
