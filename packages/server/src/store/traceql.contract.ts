import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  compileTraceQL,
  createTraceQLEvaluator,
  type KeyValue,
  type Span,
  type UnixNanos,
  unixNanos,
} from '@ariadne/core';
import type { SpanStore } from '../query/span-store.ts';
import { searchTraceQL, type TraceQLSearchResult } from '../query/traceql-search.ts';

/**
 * TraceQL on a store, end to end: hand-built traces are written once, then a table of queries runs
 * through the engine (`searchTraceQL`: the store's candidate SQL, then core's exact evaluator) and
 * each result is compared with trace ids (and matched span ids) worked out by hand. A store may
 * name more candidates than match (the engine drops them), never fewer: a case failing on one
 * store only is a candidate-SQL bug of that store. Each case is also checked against the
 * evaluator run in memory on every stored trace, so that a dropped trace is reported as such.
 *
 * The story (the shop's lost order): the user got a 200 for order ORD-7 while every
 * database insert failed and the order service swallowed the error; the other traces are there so
 * that queries have something not to match.
 * ```
 * LOST    frontend POST /checkout 200 ─ order place_order ─┬ db INSERT orders ✗ deadlock   (attempt 1)
 *         (T0)                                              ├ db INSERT orders ✗ deadlock   (attempt 2)
 *                                                           ├ db INSERT orders ✗ reset      (attempt 3)
 *                                                           └ mailer queue_email (link → OK)
 * OK      frontend POST /checkout 200 ─ order place_order ─ db INSERT orders ✓    (T0+10s)
 * BROWSE  frontend GET /products ─ catalog list_products, "🔍 search", "ｓｅａｒｃｈ"  (T0+20s)
 * FAILED  frontend POST /checkout 500 ✗ ─ order place_order ✗ ─ inventory reserve_stock;
 *         audit record_attempt (parent never arrived: disconnected)               (T0+30s)
 * ORPHAN  payment charge ✗ (root never arrived) ─ payment gateway_call            (T0+40s)
 * EMPTY   heartbeat of a resource whose service.name is "" ─ tick of one whose service.name
 *         is the int 42, tock of one where it is an array (all stored as unknown_service) (T0+50s)
 * OLD     legacy POST /checkout ORD-1                                             (T0-1h)
 * ARRAY   ping of a resource whose service.name is an array ─ frontend pong      (T0-2h+10s)
 * NUMBER  ping of a resource whose service.name is the int 42 ─ frontend pong    (T0-2h)
 * BULK    40 one-span traces bulk-0 … bulk-39, four per instant                   (T0+2h)
 * ```
 */
export function runTraceQLContract(open: () => Promise<SpanStore>): void {
  describe('TraceQL over the store (the engine, end to end)', () => {
    let store: SpanStore;
    before(async () => {
      store = await open();
      await store.writeSpans([...LOST, ...OK]);
      await store.writeSpans([...BROWSE, ...FAILED, ...ORPHAN, ...EMPTY]);
      await store.writeSpans([...OLD, ...BULK, ...NUMBER, ...ARRAY]);
    });
    after(async () => {
      await store?.close();
    });

    const search = (q: string, options: { limit?: number; window?: Window } = {}) => {
      const window = options.window ?? STORY_WINDOW;
      return searchTraceQL(store, compileTraceQL(q), {
        limit: options.limit ?? 100,
        source: q,
        startUnixNano: window.start,
        endUnixNano: window.end,
      });
    };

    /** The cases' failures: results other than worked out by hand, or than the evaluator's in memory. */
    const failuresOf = async (cases: readonly Case[], story: readonly StoryTrace[], window?: Window) => {
      const failures: string[] = [];
      for (const c of cases) {
        const result = await search(c.q, { window });
        const got = names(result);
        const inMemory = story
          .filter((t) => createTraceQLEvaluator(compileTraceQL(c.q)).evaluate(t.spans))
          .map((t) => t.name);
        const dropped = inMemory.filter((n) => !got.includes(n));
        if (dropped.length > 0) failures.push(`${c.q}: the store dropped ${dropped.join(', ')}, which match`);
        if (got.join(',') !== c.traces.join(',')) failures.push(`${c.q}: got [${got}], expected [${c.traces}]`);
        if (c.spans !== undefined) {
          const spans = result.traces[0]?.match.spansets[0]?.spans.map((s) => spanName(s.spanId)) ?? [];
          if (spans.join(',') !== c.spans.join(','))
            failures.push(`${c.q}: matched spans [${spans}], expected [${c.spans}]`);
        }
      }
      return failures;
    };

    it('answers every case of the table as worked out by hand, and as the evaluator does in memory', async () => {
      assert.deepEqual(await failuresOf(CASES, STORY), []);
    });

    it('reads trace:rootService from the root resource\'s service.name: "" when it is not a string', async () => {
      assert.deepEqual(await failuresOf(ROOT_SERVICE_CASES, ODD_ROOTS, ODD_ROOTS_WINDOW), []);
    });

    it('annotates spansets with by() groups and aggregates', async () => {
      const grouped = await search('{ status = error } | by(resource.service.name) | count() > 1');
      assert.deepEqual(names(grouped), ['LOST']);
      assert.deepEqual(grouped.traces[0].match.spansets.length, 1);
      assert.deepEqual(
        grouped.traces[0].match.spansets[0].attributes.map((a) => [a.name, a.value]),
        [
          ['by(resource.service.name)', { type: 'string', value: 'db' }],
          ['count()', { type: 'int', value: 3n }],
        ],
      );
    });

    it('finds a trace only when a span meeting the conditions starts in the window (start inclusive, end exclusive)', async () => {
      const open: Window = {};
      assert.deepEqual(names(await search('{ span.order.id = "ORD-1" }')), []);
      assert.deepEqual(names(await search('{ span.order.id = "ORD-1" }', { window: open })), ['OLD']);
      assert.deepEqual(names(await search('{ name = "POST /checkout" }', { window: open })), [
        'FAILED',
        'OK',
        'LOST',
        'OLD',
      ]);
      const after5s = { start: at(5_000), end: at(3_600_000) };
      assert.deepEqual(names(await search('{ resource.service.name = "frontend" }', { window: after5s })), [
        'FAILED',
        'BROWSE',
        'OK',
      ]);
      // LOST's frontend span starts at T0, before the window; its database spans start inside it.
      const after15ms = { start: at(15), end: at(3_600_000) };
      assert.deepEqual(names(await search('{ resource.service.name = "db" }', { window: after15ms })), ['OK', 'LOST']);
      assert.deepEqual(
        names(
          await search('{ resource.service.name = "frontend" } >> { resource.service.name = "db" }', {
            window: after15ms,
          }),
        ),
        ['OK'],
      );
      const first10s = { start: at(0), end: at(10_000) };
      assert.deepEqual(names(await search('{ resource.service.name = "frontend" }', { window: first10s })), ['LOST']);
    });

    it('returns at most limit traces, newest first', async () => {
      assert.deepEqual(names(await search('{ resource.service.name = "frontend" }', { limit: 2 })), [
        'FAILED',
        'BROWSE',
      ]);
      assert.deepEqual(names(await search('{ }', { limit: 3 })), ['EMPTY', 'ORPHAN', 'FAILED']);
      assert.deepEqual(names(await search('{ status = error } with (most_recent = true)', { limit: 1 })), ['ORPHAN']);
    });

    it('pages through more candidates than one page, ties in time ordered by trace id', async () => {
      const bulk: Window = { start: at(BULK_AT_MS), end: at(BULK_AT_MS + 3_600_000) };
      assert.deepEqual(names(await search('{ resource.service.name = "bulk" }', { window: bulk, limit: 6 })), [
        'bulk-36',
        'bulk-37',
        'bulk-38',
        'bulk-39',
        'bulk-32',
        'bulk-33',
      ]);
      // Only the service is pushed down: 3 matches need pages of 3, 6, 12 and 24 candidates.
      const tenth = await search('{ resource.service.name = "bulk" && span.n % 10 = 0 }', { window: bulk, limit: 3 });
      assert.deepEqual(names(tenth), ['bulk-30', 'bulk-20', 'bulk-10']);
      assert.ok(tenth.tracesInspected > 20, `read ${tenth.tracesInspected} candidates, more than one page`);
      assert.deepEqual(
        names(await search('{ resource.service.name = "bulk" && span.n % 10 = 0 }', { window: bulk, limit: 100 })),
        ['bulk-30', 'bulk-20', 'bulk-10', 'bulk-0'],
      );
      // A regex is not pushed down: every trace in the window is a candidate.
      const regex = await search('{ name =~ "bulk-(3|17|33)" }', { window: bulk, limit: 10 });
      assert.deepEqual(names(regex), ['bulk-33', 'bulk-17', 'bulk-3']);
      assert.equal(regex.tracesInspected, 40);
      // Without a window the store widens from the newest spans back to the oldest.
      assert.deepEqual(names(await search('{ name =~ "bulk-(3|17|33)" }', { window: {}, limit: 10 })), [
        'bulk-33',
        'bulk-17',
        'bulk-3',
      ]);
      const everything = await search('{ }', { window: {}, limit: 1000 });
      assert.deepEqual(names(everything), [
        ...[36, 32, 28, 24, 20, 16, 12, 8, 4, 0].flatMap((g) => [g, g + 1, g + 2, g + 3].map((i) => `bulk-${i}`)),
        'EMPTY',
        'ORPHAN',
        'FAILED',
        'BROWSE',
        'OK',
        'LOST',
        'OLD',
        'ARRAY',
        'NUMBER',
      ]);
    });
  });
}

/** A query, the traces it finds newest first, and (optionally) the spans of the first one's first spanset. */
interface Case {
  readonly q: string;
  readonly traces: readonly string[];
  readonly spans?: readonly string[];
}

const ALL = ['EMPTY', 'ORPHAN', 'FAILED', 'BROWSE', 'OK', 'LOST'];

/** Every case runs over the story's window [T0, T0+1h), which holds the story traces whole. */
const CASES: readonly Case[] = [
  // Scopes.
  { q: '{ span.order.id = "ORD-7" }', traces: ['LOST'], spans: ['L1', 'L2'] },
  { q: '{ resource.service.name = "db" }', traces: ['OK', 'LOST'], spans: ['O3'] },
  { q: '{ resource.deployment.environment = "prod" }', traces: ['BROWSE', 'OK', 'LOST'] },
  { q: '{ .deployment.environment = "prod" }', traces: ['BROWSE', 'OK', 'LOST'] },
  { q: '{ .deployment.environment = "canary" }', traces: ['OK'], spans: ['O2'] },
  { q: '{ span.deployment.environment = "canary" }', traces: ['OK'] },
  { q: '{ resource.deployment.environment = "canary" }', traces: [] },
  { q: '{ .service.name = "catalog" }', traces: ['BROWSE'], spans: ['B2', 'B3', 'B4'] },
  // A resource whose service.name is "" has the service unknown_service in lists; TraceQL sees "".
  { q: '{ resource.service.name = "" }', traces: ['EMPTY'] },
  { q: '{ .service.name = "" }', traces: ['EMPTY'] },
  { q: '{ resource.service.name < "a" }', traces: ['EMPTY'] },
  { q: '{ resource.service.name = "unknown_service" }', traces: [] },
  { q: '{ resource.service.name = 42 }', traces: ['EMPTY'], spans: ['E2'] },
  { q: '{ resource.service.name = "cart" }', traces: ['EMPTY'], spans: ['E3'] },
  { q: '{ resource.service.name != "cart" && name = "tock" }', traces: [] },
  { q: '{ resource.service.name != "frontend" && name = "tick" }', traces: [] },
  { q: '{ span.service.name = "catalog" }', traces: [] },
  { q: '{ .order.id = "ORD-9" }', traces: ['FAILED'] },
  { q: '{ event.exception.message = "deadlock detected" }', traces: ['LOST'], spans: ['L3', 'L4'] },
  { q: '{ event:name = "exception" }', traces: ['FAILED', 'LOST'] },
  { q: '{ event:name = "exception" && event.exception.message = "upstream 503" }', traces: ['FAILED'] },
  { q: '{ .exception.message = "deadlock detected" }', traces: [] },
  { q: '{ event:timeSinceStart > 50ms }', traces: ['FAILED', 'LOST'] },
  { q: '{ link.reason = "follows" }', traces: ['LOST'], spans: ['L6'] },
  { q: `{ link:traceID = "${tid(2)}" }`, traces: ['LOST'] },
  { q: `{ link:spanID = "${sid(2, 1)}" }`, traces: ['LOST'] },
  { q: '{ instrumentation.telemetry.flavor = "manual" }', traces: ['FAILED', 'LOST'] },
  { q: '{ instrumentation:name = "order-lib" }', traces: ['FAILED', 'OK', 'LOST'] },
  { q: '{ instrumentation:version = "1.3" }', traces: ['OK'] },
  // Intrinsics, old and colon spellings.
  { q: '{ name = "place_order" }', traces: ['FAILED', 'OK', 'LOST'] },
  { q: '{ span:name = "INSERT orders" }', traces: ['OK', 'LOST'], spans: ['O3'] },
  { q: '{ status = error }', traces: ['ORPHAN', 'FAILED', 'LOST'] },
  { q: '{ span:status = ok }', traces: ['OK'] },
  { q: '{ status = unset }', traces: ALL },
  { q: '{ status != error }', traces: ALL },
  { q: '{ kind = server }', traces: ['FAILED', 'BROWSE', 'OK', 'LOST'] },
  { q: '{ span:kind = consumer }', traces: ['ORPHAN'] },
  { q: '{ kind = producer }', traces: ['LOST'] },
  { q: '{ kind != internal && kind != server }', traces: ['ORPHAN', 'FAILED', 'OK', 'LOST'] },
  { q: '{ duration > 1s }', traces: ['ORPHAN'], spans: ['P1', 'P2'] },
  { q: '{ span:duration >= 400ms }', traces: ['ORPHAN', 'LOST'] },
  { q: '{ duration < 5ms }', traces: ['FAILED', 'BROWSE', 'LOST'] },
  { q: '{ duration = 15ms }', traces: ['OK'] },
  { q: '{ duration = 15000000 }', traces: ['OK'] },
  { q: '{ duration > 1.5s }', traces: ['ORPHAN'] },
  { q: '{ duration > 1.9s }', traces: ['ORPHAN'], spans: ['P1'] },
  { q: '{ statusMessage = "deadlock detected" }', traces: ['LOST'], spans: ['L3', 'L4'] },
  { q: '{ span:statusMessage = "upstream failed" }', traces: ['FAILED'] },
  { q: '{ trace:rootService = "frontend" }', traces: ['FAILED', 'BROWSE', 'OK', 'LOST'] },
  { q: '{ rootServiceName = "frontend" }', traces: ['FAILED', 'BROWSE', 'OK', 'LOST'] },
  // EMPTY's root resource has service.name "": listed as unknown_service, "" for TraceQL (Tempo).
  { q: '{ trace:rootService = "" }', traces: ['EMPTY'], spans: ['E1', 'E2', 'E3'] },
  { q: '{ rootServiceName < "a" && name = "tock" }', traces: ['EMPTY'], spans: ['E3'] },
  { q: '{ trace:rootService = "unknown_service" }', traces: [] },
  { q: '{ trace:rootService != "frontend" }', traces: ['EMPTY'] },
  { q: '{ trace:rootName = "GET /products" }', traces: ['BROWSE'] },
  { q: '{ rootName = "POST /checkout" }', traces: ['FAILED', 'OK', 'LOST'] },
  { q: '{ trace:duration > 1s }', traces: ['ORPHAN'] },
  { q: '{ traceDuration < 100ms }', traces: ['BROWSE', 'OK'] },
  { q: `{ trace:id = "${tid(3)}" }`, traces: ['BROWSE'] },
  { q: `{ span:id = "${sid(1, 4)}" }`, traces: ['LOST'], spans: ['L4'] },
  { q: `{ span:parentID = "${sid(1, 2)}" }`, traces: ['LOST'], spans: ['L3', 'L4', 'L5', 'L6'] },
  // Comparisons, types, arithmetic.
  { q: '{ span.http.status_code = 200 }', traces: ['BROWSE', 'OK', 'LOST'] },
  { q: '{ span.http.status_code = 200.0 }', traces: ['BROWSE', 'OK', 'LOST'] },
  { q: '{ span.price = 200 }', traces: ['BROWSE'] },
  { q: '{ span.price > 199.5 && span.price < 200.5 }', traces: ['BROWSE'] },
  { q: '{ span.http.status_code != 200 }', traces: ['FAILED'] },
  { q: '{ span.http.status_code >= 500 }', traces: ['FAILED'] },
  { q: '{ span.http.status_code = "200" }', traces: [] },
  { q: '{ span.retry.count = "2" }', traces: [] },
  { q: '{ span.retry.count < 1 }', traces: ['OK'] },
  { q: '{ span.ratio = 0.5 }', traces: ['BROWSE'] },
  { q: '{ span.ratio < 1 }', traces: ['BROWSE'] },
  { q: '{ span.cached = true }', traces: ['BROWSE'] },
  { q: '{ span.cached != true }', traces: [] },
  { q: '{ span.big = 9007199254740993 }', traces: ['ORPHAN'] },
  { q: '{ span.balance = 0 }', traces: ['EMPTY'] },
  { q: '{ span.note = "it\'s a \\"quote\\" \\\\ ✓\\x1esep" }', traces: ['BROWSE'] },
  { q: '{ span.note = `it\'s a "quote" \\ ✓` }', traces: [] },
  { q: '{ span.k.0 = 0 && span.k.39 = 39 }', traces: ['ORPHAN'] },
  { q: '{ span.k.39 = 39.0 }', traces: ['ORPHAN'] },
  { q: '{ span.k.38 = 39 }', traces: [] },
  { q: '{ span.balance = 0.0 }', traces: ['EMPTY'] },
  { q: '{ span.balance >= 0 }', traces: ['EMPTY'] },
  { q: '{ name > "ｚ" }', traces: ['BROWSE'], spans: ['B3'] },
  { q: '{ name > "ｒ" && name < "ｚ" }', traces: ['BROWSE'], spans: ['B4'] },
  { q: '{ span.big = 9007199254740992 }', traces: [] },
  { q: '{ span.order.id > "ORD-7" }', traces: ['FAILED', 'OK'] },
  { q: '{ span.order.id <= "ORD-7" }', traces: ['LOST'] },
  { q: '{ name < "J" }', traces: ['BROWSE', 'OK', 'LOST'] },
  { q: '{ span.retry.count * 2 > 3 }', traces: ['LOST'] },
  { q: '{ duration / 2 > 150ms }', traces: ['ORPHAN', 'LOST'] },
  // Regular expressions, fully anchored RE2.
  { q: '{ name =~ "INSERT.*" }', traces: ['OK', 'LOST'] },
  { q: '{ name =~ "INSERT" }', traces: [] },
  { q: '{ name =~ "(?i)insert orders" }', traces: ['OK', 'LOST'] },
  { q: '{ span.order.id =~ "ORD-[78]" }', traces: ['OK', 'LOST'] },
  { q: '{ span.order.id !~ "ORD-[78]" }', traces: ['FAILED'] },
  { q: '{ resource.service.name =~ "front.*|cat.*" }', traces: ['FAILED', 'BROWSE', 'OK', 'LOST'] },
  { q: '{ statusMessage =~ "dead.*" }', traces: ['LOST'] },
  // nil and missing attributes: `!=` never matches a span without the attribute.
  { q: '{ span.order.id != nil }', traces: ['FAILED', 'OK', 'LOST'] },
  { q: '{ span.region = nil && resource.service.name = "payment" }', traces: ['ORPHAN'], spans: ['P2'] },
  { q: '{ resource.deployment.environment = nil && resource.service.name != "db" }', traces: ALL },
  { q: '{ resource.service.name = "frontend" && span.order.id != "ORD-7" }', traces: ['FAILED', 'OK'] },
  {
    q: '{ resource.service.name = "frontend" && (span.order.id != "ORD-7" || span.order.id = nil) }',
    traces: ['FAILED', 'BROWSE', 'OK'],
  },
  { q: '{ duration != nil }', traces: ALL },
  // Arrays: = and =~ match when one element does, != and !~ when none does.
  { q: '{ span.tags = "mobile" }', traces: ['LOST'] },
  { q: '{ span.tags = "web" }', traces: ['OK', 'LOST'] },
  { q: '{ span.tags != "web" }', traces: ['FAILED'] },
  { q: '{ span.tags =~ "mob.*" }', traces: ['LOST'] },
  { q: '{ span.tags !~ "w.*" }', traces: ['FAILED'] },
  // Spanset && and ||, at one level, left to right.
  {
    q: '{ resource.service.name = "frontend" && span.http.status_code = 200 } && { resource.service.name = "db" && status = error }',
    traces: ['LOST'],
    spans: ['L1', 'L3', 'L4', 'L5'],
  },
  { q: '{ span.order.id = "ORD-9" } || { resource.service.name = "payment" }', traces: ['ORPHAN', 'FAILED'] },
  { q: '{ resource.service.name = "catalog" } && { resource.service.name = "db" }', traces: [] },
  { q: '{ status = error } && { kind = producer } || { span.cached = true }', traces: ['BROWSE', 'LOST'] },
  // Structural operators.
  {
    q: '{ resource.service.name = "frontend" } >> { resource.service.name = "db" && status = error }',
    traces: ['LOST'],
    spans: ['L3', 'L4', 'L5'],
  },
  { q: '{ resource.service.name = "frontend" } > { resource.service.name = "db" }', traces: [] },
  { q: '{ resource.service.name = "order" } > { resource.service.name = "db" }', traces: ['OK', 'LOST'] },
  { q: '{ resource.service.name = "db" } < { name = "place_order" }', traces: ['OK', 'LOST'], spans: ['O2'] },
  {
    q: '{ resource.service.name = "db" } << { resource.service.name = "frontend" }',
    traces: ['OK', 'LOST'],
    spans: ['O1'],
  },
  { q: '{ name = "INSERT orders" } ~ { name = "INSERT orders" }', traces: ['LOST'], spans: ['L3', 'L4', 'L5'] },
  { q: '{ resource.service.name = "db" } ~ { resource.service.name = "mailer" }', traces: ['LOST'], spans: ['L6'] },
  { q: '{ status = error } !> { resource.service.name = "db" }', traces: ['OK', 'LOST'] },
  { q: '{ status = error } !< { kind = server }', traces: ['BROWSE', 'OK', 'LOST'] },
  { q: '{ name = "INSERT orders" } !~ { resource.service.name = "db" }', traces: ['OK'] },
  { q: '{ resource.service.name = "frontend" } !>> { resource.service.name = "db" }', traces: [] },
  { q: '{ resource.service.name = "db" } !<< { kind = server }', traces: ['FAILED', 'BROWSE'] },
  {
    q: '{ resource.service.name = "frontend" } &>> { resource.service.name = "db" && status = error }',
    traces: ['LOST'],
    spans: ['L1', 'L3', 'L4', 'L5'],
  },
  {
    q: '{ resource.service.name = "order" } &> { resource.service.name = "db" }',
    traces: ['OK', 'LOST'],
    spans: ['O2', 'O3'],
  },
  {
    q: '{ resource.service.name = "db" } &< { resource.service.name = "order" }',
    traces: ['OK', 'LOST'],
    spans: ['O2', 'O3'],
  },
  {
    q: '{ resource.service.name = "db" } &<< { resource.service.name = "frontend" }',
    traces: ['OK', 'LOST'],
    spans: ['O1', 'O3'],
  },
  {
    q: '{ resource.service.name = "db" } &~ { resource.service.name = "mailer" }',
    traces: ['LOST'],
    spans: ['L3', 'L4', 'L5', 'L6'],
  },
  // A rootless trace: the span whose parent never arrived is a top, connected; in a trace with a
  // root, a span whose parent never arrived is disconnected, in no structural result.
  { q: '{ name = "charge" } > { name = "gateway_call" }', traces: ['ORPHAN'], spans: ['P2'] },
  { q: '{ resource.service.name = "audit" }', traces: ['FAILED'] },
  { q: '{ } >> { resource.service.name = "audit" }', traces: [] },
  { q: '{ } !>> { resource.service.name = "audit" }', traces: [] },
  {
    q: '{ status = error } && { resource.service.name = "frontend" } >> { resource.service.name = "db" }',
    traces: ['LOST'],
  },
  // Pipelines.
  { q: '{ resource.service.name = "db" && status = error } | count() > 2', traces: ['LOST'] },
  { q: '{ status = error } | count() = 1', traces: ['ORPHAN'] },
  { q: '{ status = error } | count() >= 2', traces: ['FAILED', 'LOST'] },
  { q: '{ status = error } | count() > 1 + 1', traces: ['LOST'] },
  { q: '{ resource.service.name = "db" } | avg(duration) > 50ms', traces: ['LOST'] },
  { q: '{ resource.service.name = "db" } | min(duration) < 20ms', traces: ['OK'] },
  { q: '{ resource.service.name = "db" } | max(span.attempt) = 3', traces: ['LOST'] },
  { q: '{ resource.service.name = "db" } | sum(span.attempt) = 6', traces: ['LOST'] },
  { q: '{ } | avg(span.retry.count) > 1', traces: ['LOST'] },
  { q: '{ status = error } | by(resource.service.name) | count() > 1', traces: ['LOST'], spans: ['L3', 'L4', 'L5'] },
  { q: '{ status = error } | by(resource.service.name) | coalesce() | count() > 1', traces: ['FAILED', 'LOST'] },
  { q: '{ span.order.id != nil } | select(span.http.status_code)', traces: ['FAILED', 'OK', 'LOST'] },
  { q: 'count() > 5', traces: ['LOST'] },
  { q: 'avg(duration) > 1s', traces: ['ORPHAN'] },
  { q: '{ } | count() > 5 | { status = error }', traces: ['LOST'], spans: ['L3', 'L4', 'L5'] },
  { q: '{ status = error } | count() > 1 | { resource.service.name = "frontend" }', traces: ['FAILED'] },
  { q: '({ status = error } | count() > 2) && ({ span.http.status_code = 200 })', traces: ['LOST'] },
  { q: '({ resource.service.name = "payment" }) || ({ name = "list_products" })', traces: ['ORPHAN', 'BROWSE'] },
  // Constants.
  { q: '{ }', traces: ALL },
  { q: '{ true }', traces: ALL },
  { q: '{ false }', traces: [] },
  { q: '{ 1 + 1 = 2 && name = "charge" }', traces: ['ORPHAN'] },
];

/**
 * trace:rootService of roots whose service.name is not a string: `""`, as Tempo records it, over
 * the window of NUMBER and ARRAY only (they are outside the story's window).
 */
const ROOT_SERVICE_CASES: readonly Case[] = [
  { q: '{ trace:rootService = "" }', traces: ['ARRAY', 'NUMBER'] },
  { q: '{ trace:rootService = "unknown_service" }', traces: [] },
  { q: '{ trace:rootService = "42" }', traces: [] },
  { q: '{ trace:rootService = "cart" }', traces: [] },
  { q: '{ trace:rootService != "frontend" }', traces: ['ARRAY', 'NUMBER'] },
  { q: '{ trace:rootService = "" && resource.service.name = "frontend" }', traces: ['ARRAY', 'NUMBER'] },
  { q: '{ resource.service.name = 42 && rootServiceName = "" }', traces: ['NUMBER'], spans: ['N1'] },
  { q: '{ resource.service.name = "cart" && trace:rootService = "" }', traces: ['ARRAY'], spans: ['A1'] },
  { q: '{ trace:rootService = "" } >> { name = "pong" }', traces: ['ARRAY', 'NUMBER'] },
];

interface Window {
  readonly start?: UnixNanos;
  readonly end?: UnixNanos;
}

const T0 = 1_760_000_000_000_000_000n;
const MS = 1_000_000n;
const at = (ms: number) => unixNanos(T0 + BigInt(ms) * MS);
const STORY_WINDOW: Window = { start: at(0), end: at(3_600_000) };
const BULK_AT_MS = 7_200_000;

/** Trace number n's id (1 LOST … 6 OLD, 8 EMPTY, 9 NUMBER, 10 ARRAY). */
function tid(n: number): string {
  return `7${n.toString(16).padStart(31, '0')}`;
}
/** Span s of trace n's id. */
function sid(n: number, s: number): string {
  return (n * 256 + s).toString(16).padStart(16, '0');
}

const str = (key: string, value: string): KeyValue => ({ key, value: { type: 'string', value } });
const int = (key: string, value: bigint): KeyValue => ({ key, value: { type: 'int', value } });
const dbl = (key: string, value: number): KeyValue => ({ key, value: { type: 'double', value } });
const bool = (key: string, value: boolean): KeyValue => ({ key, value: { type: 'bool', value } });
const strings = (key: string, values: string[]): KeyValue => ({
  key,
  value: { type: 'array', value: values.map((v) => ({ type: 'string', value: v })) },
});

interface Scope {
  readonly name: string;
  readonly version: string;
  readonly attributes: KeyValue[];
}
const SHOP_LIB: Scope = { name: 'shop-lib', version: '1.0', attributes: [] };
const ORDER_LIB: Scope = { name: 'order-lib', version: '1.2', attributes: [str('telemetry.flavor', 'manual')] };
const ORDER_LIB_NEXT: Scope = { name: 'order-lib', version: '1.3', attributes: [str('telemetry.flavor', 'auto')] };

const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface Def {
  /** Span number within its trace (its name in the table is the trace's letter and this). */
  readonly n: number;
  /** The parent's span number; a string is a parent id that never arrives. */
  readonly parent?: number | string;
  readonly service: string;
  readonly env?: string;
  readonly name: string;
  readonly kind: keyof typeof KIND;
  readonly startMs: number;
  readonly durationMs: number;
  readonly status?: { code: 0 | 1 | 2; message: string };
  readonly attributes?: KeyValue[];
  readonly scope?: Scope;
  readonly events?: { afterMs: number; name: string; attributes: KeyValue[] }[];
  readonly links?: { trace: number; span: number; attributes: KeyValue[] }[];
}

/** The spans of trace `t` starting at T0 + `baseMs`. */
function trace(t: number, baseMs: number, defs: Def[]): Span[] {
  return defs.map((d) => {
    const start = T0 + BigInt(baseMs + d.startMs) * MS;
    const scope = d.scope ?? SHOP_LIB;
    return {
      traceId: tid(t),
      spanId: sid(t, d.n),
      parentSpanId: d.parent === undefined ? '' : typeof d.parent === 'string' ? d.parent : sid(t, d.parent),
      traceState: '',
      flags: 1,
      name: d.name,
      kind: KIND[d.kind],
      startTimeUnixNano: unixNanos(start),
      endTimeUnixNano: unixNanos(start + BigInt(d.durationMs) * MS),
      attributes: d.attributes ?? [],
      droppedAttributesCount: 0,
      events: (d.events ?? []).map((e) => ({
        timeUnixNano: unixNanos(start + BigInt(e.afterMs) * MS),
        name: e.name,
        attributes: e.attributes,
        droppedAttributesCount: 0,
      })),
      droppedEventsCount: 0,
      links: (d.links ?? []).map((l) => ({
        traceId: tid(l.trace),
        spanId: sid(l.trace, l.span),
        traceState: '',
        attributes: l.attributes,
        droppedAttributesCount: 0,
        flags: 1,
      })),
      droppedLinksCount: 0,
      status: d.status ?? { code: 0, message: '' },
      serviceName: d.service,
      resource: {
        attributes: [str('service.name', d.service), ...(d.env ? [str('deployment.environment', d.env)] : [])],
        droppedAttributesCount: 0,
        schemaUrl: '',
      },
      scope: { ...scope, droppedAttributesCount: 0, schemaUrl: '' },
    };
  });
}

const error = (message: string) => ({ code: 2 as const, message });
const exception = (afterMs: number, message: string) => ({
  afterMs,
  name: 'exception',
  attributes: [str('exception.message', message)],
});

const LOST = trace(1, 0, [
  {
    n: 1,
    service: 'frontend',
    env: 'prod',
    name: 'POST /checkout',
    kind: 'server',
    startMs: 0,
    durationMs: 400,
    attributes: [str('http.method', 'POST'), int('http.status_code', 200n), str('order.id', 'ORD-7')],
  },
  {
    n: 2,
    parent: 1,
    service: 'order',
    name: 'place_order',
    kind: 'internal',
    startMs: 10,
    durationMs: 380,
    scope: ORDER_LIB,
    attributes: [str('order.id', 'ORD-7'), int('retry.count', 2n), strings('tags', ['web', 'mobile'])],
  },
  ...[1, 2, 3].map(
    (attempt): Def => ({
      n: 2 + attempt,
      parent: 2,
      service: 'db',
      name: 'INSERT orders',
      kind: 'client',
      startMs: [20, 130, 260][attempt - 1],
      durationMs: [100, 120, 120][attempt - 1],
      status: error(attempt < 3 ? 'deadlock detected' : 'connection reset'),
      attributes: [int('attempt', BigInt(attempt)), str('db.system', 'postgres')],
      events: [exception([90, 10, 5][attempt - 1], attempt < 3 ? 'deadlock detected' : 'connection reset')],
    }),
  ),
  {
    n: 6,
    parent: 2,
    service: 'mailer',
    name: 'queue_email',
    kind: 'producer',
    startMs: 385,
    durationMs: 4,
    links: [{ trace: 2, span: 1, attributes: [str('reason', 'follows')] }],
  },
]);

const OK = trace(2, 10_000, [
  {
    n: 1,
    service: 'frontend',
    env: 'prod',
    name: 'POST /checkout',
    kind: 'server',
    startMs: 0,
    durationMs: 60,
    attributes: [str('http.method', 'POST'), int('http.status_code', 200n), str('order.id', 'ORD-8')],
  },
  {
    n: 2,
    parent: 1,
    service: 'order',
    name: 'place_order',
    kind: 'internal',
    startMs: 5,
    durationMs: 50,
    scope: ORDER_LIB_NEXT,
    attributes: [
      str('order.id', 'ORD-8'),
      int('retry.count', 0n),
      strings('tags', ['web']),
      str('deployment.environment', 'canary'),
    ],
  },
  {
    n: 3,
    parent: 2,
    service: 'db',
    name: 'INSERT orders',
    kind: 'client',
    startMs: 10,
    durationMs: 15,
    status: { code: 1, message: '' },
    attributes: [int('attempt', 1n), str('db.system', 'postgres')],
  },
]);

const BROWSE = trace(3, 20_000, [
  {
    n: 1,
    service: 'frontend',
    env: 'prod',
    name: 'GET /products',
    kind: 'server',
    startMs: 0,
    durationMs: 50,
    attributes: [str('http.method', 'GET'), int('http.status_code', 200n)],
  },
  {
    n: 2,
    parent: 1,
    service: 'catalog',
    name: 'list_products',
    kind: 'internal',
    startMs: 5,
    durationMs: 3,
    attributes: [
      dbl('ratio', 0.5),
      bool('cached', true),
      dbl('price', 200),
      str('note', 'it\'s a "quote" \\ ✓\x1esep'),
    ],
  },
  // Names ordered by UTF-8 bytes (code points), as Tempo orders strings: 🔍 (U+1F50D) after ｚ (U+FF5A).
  { n: 3, parent: 1, service: 'catalog', name: '🔍 search', kind: 'internal', startMs: 10, durationMs: 6 },
  { n: 4, parent: 1, service: 'catalog', name: 'ｓｅａｒｃｈ', kind: 'internal', startMs: 20, durationMs: 6 },
]);

const FAILED = trace(4, 30_000, [
  {
    n: 1,
    service: 'frontend',
    env: 'staging',
    name: 'POST /checkout',
    kind: 'server',
    startMs: 0,
    durationMs: 250,
    status: error('upstream failed'),
    attributes: [str('http.method', 'POST'), int('http.status_code', 500n), str('order.id', 'ORD-9')],
    events: [exception(240, 'upstream 503')],
  },
  {
    n: 2,
    parent: 1,
    service: 'order',
    name: 'place_order',
    kind: 'internal',
    startMs: 10,
    durationMs: 230,
    status: error('stock service unavailable'),
    scope: ORDER_LIB,
    attributes: [str('order.id', 'ORD-9'), int('retry.count', 1n), strings('tags', ['api'])],
  },
  { n: 3, parent: 2, service: 'inventory', name: 'reserve_stock', kind: 'client', startMs: 20, durationMs: 200 },
  {
    n: 4,
    parent: 'fffffffffffffff4',
    service: 'audit',
    name: 'record_attempt',
    kind: 'internal',
    startMs: 245,
    durationMs: 2,
  },
]);

const ORPHAN = trace(5, 40_000, [
  {
    n: 1,
    parent: 'eeeeeeeeeeeeeee5',
    service: 'payment',
    name: 'charge',
    kind: 'consumer',
    startMs: 0,
    durationMs: 2000,
    status: error('card declined'),
    // Forty more keys: more than a store keeps in columns of their own (DuckDB's 32 slots).
    attributes: [
      str('region', 'eu-west'),
      int('big', 9_007_199_254_740_993n),
      ...Array.from({ length: 40 }, (_, i) => int(`k.${i}`, BigInt(i))),
    ],
  },
  { n: 2, parent: 1, service: 'payment', name: 'gateway_call', kind: 'client', startMs: 100, durationMs: 1800 },
]);

const SERVICE_NAMES: KeyValue = {
  key: 'service.name',
  value: { type: 'array', value: ['checkout', 'cart'].map((value) => ({ type: 'string', value })) },
};
const EMPTY = trace(8, 50_000, [
  {
    n: 1,
    service: '',
    name: 'heartbeat',
    kind: 'internal',
    startMs: 0,
    durationMs: 300,
    attributes: [dbl('balance', -0)],
  },
  { n: 2, parent: 1, service: '', name: 'tick', kind: 'internal', startMs: 10, durationMs: 10 },
  { n: 3, parent: 1, service: '', name: 'tock', kind: 'internal', startMs: 20, durationMs: 10 },
]).map((s, i) => ({
  ...s,
  serviceName: 'unknown_service',
  resource: { ...s.resource, attributes: [[s.resource.attributes[0], int('service.name', 42n), SERVICE_NAMES][i]] },
}));

const OLD = trace(6, -3_600_000, [
  {
    n: 1,
    service: 'legacy',
    name: 'POST /checkout',
    kind: 'server',
    startMs: 0,
    durationMs: 30,
    attributes: [str('order.id', 'ORD-1')],
  },
]);

/** Bulk trace i: one span at T0+2h + ⌊i/4⌋ ms, so four traces share each instant. */
const BULK: Span[] = Array.from({ length: 40 }, (_, i) =>
  trace(7, BULK_AT_MS + Math.floor(i / 4), [
    {
      n: 1,
      service: 'bulk',
      name: `bulk-${i}`,
      kind: 'internal',
      startMs: 0,
      durationMs: 1,
      attributes: [int('n', BigInt(i))],
    },
  ]).map((s) => ({
    ...s,
    traceId: `b${i.toString(16).padStart(31, '0')}`,
    spanId: `c${i.toString(16).padStart(15, '0')}`,
  })),
).flat();

/** A root (ping) whose resource's service.name is `value`, with a frontend child (pong); at T0 + `baseMs`. */
function oddRoot(t: number, baseMs: number, value: KeyValue): Span[] {
  return trace(t, baseMs, [
    { n: 1, service: '', name: 'ping', kind: 'server', startMs: 0, durationMs: 20 },
    { n: 2, parent: 1, service: 'frontend', name: 'pong', kind: 'internal', startMs: 5, durationMs: 10 },
  ]).map((s) =>
    s.parentSpanId === ''
      ? { ...s, serviceName: 'unknown_service', resource: { ...s.resource, attributes: [value] } }
      : s,
  );
}
const ODD_ROOTS_AT_MS = -7_200_000;
const NUMBER = oddRoot(9, ODD_ROOTS_AT_MS, int('service.name', 42n));
const ARRAY = oddRoot(10, ODD_ROOTS_AT_MS + 10_000, SERVICE_NAMES);
const ODD_ROOTS: readonly StoryTrace[] = [
  { name: 'NUMBER', spans: NUMBER },
  { name: 'ARRAY', spans: ARRAY },
];
const ODD_ROOTS_WINDOW: Window = { start: at(ODD_ROOTS_AT_MS), end: at(ODD_ROOTS_AT_MS + 3_600_000) };

interface StoryTrace {
  readonly name: string;
  readonly spans: readonly Span[];
}

const STORY: readonly StoryTrace[] = [
  { name: 'LOST', spans: LOST },
  { name: 'OK', spans: OK },
  { name: 'BROWSE', spans: BROWSE },
  { name: 'FAILED', spans: FAILED },
  { name: 'ORPHAN', spans: ORPHAN },
  { name: 'EMPTY', spans: EMPTY },
];
const LETTERS: Record<number, string> = {
  1: 'L',
  2: 'O',
  3: 'B',
  4: 'F',
  5: 'P',
  6: 'D',
  7: 'K',
  8: 'E',
  9: 'N',
  10: 'A',
};

/** A trace id's name in the table: LOST … OLD, or bulk-i. */
function traceName(id: string): string {
  if (id.startsWith('b')) return `bulk-${Number.parseInt(id.slice(1), 16)}`;
  const all = ['', 'LOST', 'OK', 'BROWSE', 'FAILED', 'ORPHAN', 'OLD', '', 'EMPTY', 'NUMBER', 'ARRAY'];
  return all[Number.parseInt(id.slice(1), 16)] ?? id;
}

/** A span id's name in the table: the trace's letter and the span number (L3). */
function spanName(id: string): string {
  const n = Number.parseInt(id, 16);
  return `${LETTERS[Math.floor(n / 256)] ?? '?'}${n % 256}`;
}

function names(result: TraceQLSearchResult): string[] {
  return result.traces.map((t) => traceName(t.summary.traceId));
}
