import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyValue, KeyValue, Span, SpanEvent, SpanLink } from '../model/span.ts';
import { serviceNameOf, UNKNOWN_SERVICE } from '../model/span.ts';
import { unixNanos } from '../model/units.ts';
import { compileTraceQL } from './compile.ts';
import { createTraceQLEvaluator, evaluateTraceQL, type TraceQLTraceMatch } from './evaluate.ts';
import { parseTraceQL } from './parser.ts';
import { TraceQLError } from './traceql-error.ts';
import { formatGoDuration, traceqlValueToAnyValue, traceqlValueToText } from './traceql-values.ts';

// ------------------------------------------------------------------------------------------------
// The lost order, as one trace. Times in ms from the trace start; ids are the short names.
//
//  0ms                                                                                   1000ms
//  fe    frontend  SERVER "POST /checkout" |-------------------------------------------------|
//  pay   payment   SERVER "charge"            |---------|                       (ok)
//  inv   inventory SERVER "reserve"                          |----------------------------|  (error)
//  ord   order     INTERNAL "create order"                     |-------------------------|   (error)
//  db1   order     CLIENT "INSERT orders"                       |-|                          (error, attempt 1)
//  db2   order     CLIENT "INSERT orders"                           |--|                     (error, attempt 2)
//  db3   order     CLIENT "INSERT orders"                                |-----|             (error, attempt 3)
//  lost  order     PRODUCER "send confirmation"  parent "missing": disconnected          |-|  (error)
//
// Nested sets (left, right): fe (1,14) pay (2,3) inv (4,13) ord (5,12) db1 (6,7) db2 (8,9)
// db3 (10,11); lost (0,0). The frontend span's `region` (us-east) shadows its resource's
// (eu-west). `ord` has two events (exception, retry), `db3` one (exception); `inv` links to
// another trace.

const MS = 1_000_000n;
const BASE = 1_700_000_000_000_000_000n;
const TRACE_ID = '00000000000000000123456789abcdef';

function id(name: string): string {
  let hex = '';
  for (const ch of name) hex += ch.charCodeAt(0).toString(16).padStart(2, '0');
  return hex.slice(-16).padStart(16, '0');
}

const str = (value: string): AnyValue => ({ type: 'string', value });
const int = (value: number): AnyValue => ({ type: 'int', value: BigInt(value) });
const dbl = (value: number): AnyValue => ({ type: 'double', value });
const bool = (value: boolean): AnyValue => ({ type: 'bool', value });
const arr = (...values: AnyValue[]): AnyValue => ({ type: 'array', value: values });
const kv = (attributes: Record<string, AnyValue>): KeyValue[] =>
  Object.entries(attributes).map(([key, value]) => ({ key, value }));

const RESOURCES = {
  frontend: kv({ 'service.name': str('frontend'), region: str('eu-west'), 'deployment.environment': str('prod') }),
  payment: kv({ 'service.name': str('payment'), region: str('eu-west') }),
  inventory: kv({ 'service.name': str('inventory') }),
  order: kv({ 'service.name': str('order') }),
};

interface Init {
  readonly name: string;
  readonly span: string;
  readonly service: keyof typeof RESOURCES;
  readonly parent?: string;
  readonly kind: number;
  readonly start: number;
  readonly end: number;
  readonly status?: number;
  readonly message?: string;
  readonly attributes?: Record<string, AnyValue>;
  readonly events?: readonly { name: string; at: number; attributes: Record<string, AnyValue> }[];
  readonly links?: readonly SpanLink[];
  readonly scope?: { name: string; version: string; attributes: KeyValue[] };
}

/** Span id to the short name it was made from, for readable assertions. */
const SHORT_NAMES = new Map<string, string>();

function span(init: Init): Span {
  SHORT_NAMES.set(id(init.span), init.span);
  const events: SpanEvent[] = (init.events ?? []).map((e) => ({
    timeUnixNano: unixNanos(BASE + BigInt(e.at) * MS),
    name: e.name,
    attributes: kv(e.attributes),
    droppedAttributesCount: 0,
  }));
  return {
    traceId: TRACE_ID,
    spanId: id(init.span),
    parentSpanId: init.parent === undefined ? '' : id(init.parent),
    traceState: '',
    flags: 1,
    name: init.name,
    kind: init.kind,
    startTimeUnixNano: unixNanos(BASE + BigInt(init.start) * MS),
    endTimeUnixNano: unixNanos(BASE + BigInt(init.end) * MS),
    attributes: kv(init.attributes ?? {}),
    droppedAttributesCount: 0,
    events,
    droppedEventsCount: 0,
    links: init.links ?? [],
    droppedLinksCount: 0,
    status: { code: init.status ?? 0, message: init.message ?? '' },
    serviceName: init.service,
    resource: { attributes: RESOURCES[init.service], droppedAttributesCount: 0, schemaUrl: '' },
    scope: {
      name: init.scope?.name ?? 'auto',
      version: init.scope?.version ?? '0.9',
      attributes: init.scope?.attributes ?? [],
      droppedAttributesCount: 0,
      schemaUrl: '',
    },
  };
}

const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;
const PRODUCER = 4;
const OK = 1;
const ERROR = 2;
const STATEMENT = str('INSERT INTO orders\nVALUES ($1)');

/** The shop trace, deliberately not in start order (stores return spans in any order). */
const SHOP: readonly Span[] = [
  span({
    span: 'db2',
    name: 'INSERT orders',
    service: 'order',
    parent: 'ord',
    kind: CLIENT,
    start: 410,
    end: 480,
    status: ERROR,
    attributes: { 'db.system': str('postgres'), attempt: int(2), 'db.statement': STATEMENT },
  }),
  span({
    span: 'fe',
    name: 'POST /checkout',
    service: 'frontend',
    kind: SERVER,
    start: 0,
    end: 1000,
    attributes: {
      'http.method': str('POST'),
      'http.route': str('/checkout'),
      'http.status_code': int(200),
      tags: arr(str('web'), str('checkout')),
      region: str('us-east'),
      cached: bool(false),
    },
  }),
  span({
    span: 'pay',
    name: 'charge',
    service: 'payment',
    parent: 'fe',
    kind: SERVER,
    start: 50,
    end: 250,
    status: OK,
    attributes: { amount: dbl(42.5), 'http.status_code': int(200), currency: str('EUR'), cached: bool(true) },
    scope: { name: 'payment-sdk', version: '1.2.0', attributes: kv({ 'lib.lang': str('java') }) },
  }),
  span({
    span: 'inv',
    name: 'reserve',
    service: 'inventory',
    parent: 'fe',
    kind: SERVER,
    start: 300,
    end: 900,
    status: ERROR,
    message: 'order failed',
    attributes: { items: int(3), tags: arr(str('stock')), 'http.status_code': int(500) },
    links: [
      {
        traceId: '00000000000000000000000000abcdef',
        spanId: '00000000000000ff',
        traceState: '',
        attributes: kv({ relation: str('follows_from') }),
        droppedAttributesCount: 0,
        flags: 0,
      },
    ],
  }),
  span({
    span: 'ord',
    name: 'create order',
    service: 'order',
    parent: 'inv',
    kind: INTERNAL,
    start: 350,
    end: 880,
    status: ERROR,
    message: 'db unavailable',
    attributes: { 'order.id': str('o-42'), retries: int(3) },
    events: [
      { name: 'exception', at: 400, attributes: { 'exception.message': str('timeout'), 'exception.type': str('DB') } },
      { name: 'retry', at: 500, attributes: { attempt: int(2) } },
    ],
  }),
  span({
    span: 'db1',
    name: 'INSERT orders',
    service: 'order',
    parent: 'ord',
    kind: CLIENT,
    start: 360,
    end: 400,
    status: ERROR,
    attributes: {
      'db.system': str('postgres'),
      attempt: int(1),
      'db.statement': STATEMENT,
      sizes: arr(int(1), int(5), int(10)),
    },
  }),
  span({
    span: 'db3',
    name: 'INSERT orders',
    service: 'order',
    parent: 'ord',
    kind: CLIENT,
    start: 490,
    end: 600,
    status: ERROR,
    attributes: { 'db.system': str('postgres'), attempt: int(3), 'db.statement': STATEMENT },
    events: [{ name: 'exception', at: 550, attributes: { 'exception.message': str('connection refused') } }],
  }),
  span({
    span: 'lost',
    name: 'send confirmation',
    service: 'order',
    parent: 'missing',
    kind: PRODUCER,
    start: 950,
    end: 995,
    status: ERROR,
    attributes: { 'order.id': str('o-42') },
  }),
];

function shortName(s: Span): string {
  return SHORT_NAMES.get(s.spanId) ?? s.spanId;
}

/** Parses and validates `query` (so every case is a valid query), then evaluates it. */
function run(query: string, spans: readonly Span[] = SHOP): TraceQLTraceMatch | undefined {
  return createTraceQLEvaluator(compileTraceQL(query), { source: query }).evaluate(spans);
}

/** The matched spans of a single-spanset result, by short name, in result order. */
function matched(query: string, spans: readonly Span[] = SHOP): string[] {
  const result = run(query, spans);
  if (result === undefined) return [];
  assert.equal(result.spansets.length, 1, `${query}: one spanset`);
  return result.spansets[0].spans.map(shortName);
}

const ALL = ['fe', 'pay', 'inv', 'ord', 'db1', 'db2', 'db3', 'lost'];
const ERRORS = ['inv', 'ord', 'db1', 'db2', 'db3', 'lost'];
const DB = ['db1', 'db2', 'db3'];

/** [query, matched spans in start order]; [] means the trace does not match. */
const CASES: Readonly<Record<string, readonly (readonly [string, readonly string[]])[]>> = {
  'span scope': [
    ['{ span.http.status_code = 200 }', ['fe', 'pay']],
    ['{ span.http.status_code >= 500 }', ['inv']],
    ['{ span.http.status_code != 200 }', ['inv']],
    ['{ span.http.method = "POST" }', ['fe']],
    ['{ span.region = "eu-west" }', []],
    ['{ span.region = nil }', ['pay', 'inv', 'ord', ...DB, 'lost']],
  ],
  'resource scope': [
    ['{ resource.service.name = "order" }', ['ord', ...DB, 'lost']],
    ['{ resource.region = "eu-west" }', ['fe', 'pay']],
    ['{ resource.deployment.environment != "prod" }', []],
    ['{ resource.service.name =~ "pay.*|inv.*" }', ['pay', 'inv']],
  ],
  'unscoped: span or resource satisfies it': [
    ['{ .service.name = "payment" }', ['pay']],
    ['{ .region = "us-east" }', ['fe']],
    ['{ .region = "eu-west" }', ['fe', 'pay']],
    ['{ .region != "us-east" }', ['fe', 'pay']],
    ['{ .region = nil }', ['inv', 'ord', ...DB, 'lost']],
    ['{ .region != nil }', ['fe', 'pay']],
    ['{ .region = span.region }', ['fe']],
    ['{ .region != span.region }', ['fe']],
    ['{ (.region = "eu-west") = true }', ['fe', 'pay']],
    ['{ .exception.message = "timeout" }', []],
  ],
  'instrumentation scope': [
    ['{ instrumentation.lib.lang = "java" }', ['pay']],
    ['{ instrumentation:name = "payment-sdk" }', ['pay']],
    ['{ instrumentation:version = "1.2.0" }', ['pay']],
    ['{ instrumentation:name != "payment-sdk" }', ['fe', 'inv', 'ord', ...DB, 'lost']],
  ],
  'event scope: one event satisfies the whole filter': [
    ['{ event.exception.message = "timeout" }', ['ord']],
    ['{ event:name = "exception" }', ['ord', 'db3']],
    ['{ event:name = "retry" && event.attempt = 2 }', ['ord']],
    ['{ event:name = "exception" && event.attempt = 2 }', []],
    ['{ event:name = "exception" || event.attempt = 2 }', ['ord', 'db3']],
    ['{ event:timeSinceStart > 100ms }', ['ord']],
    ['{ event:name != "exception" }', ['ord']],
    ['{ event.exception.message =~ "conn.*" && resource.service.name = "order" }', ['db3']],
  ],
  'link scope': [
    ['{ link.relation = "follows_from" }', ['inv']],
    ['{ link:traceID = "abcdef" }', ['inv']],
    ['{ link:traceID = "00000000000000000000000000ABCDEF" }', ['inv']],
    ['{ link:spanID = "ff" }', ['inv']],
    ['{ link:spanID != "ff" }', []],
  ],
  'span intrinsics': [
    ['{ name = "INSERT orders" }', DB],
    ['{ span:name = "charge" }', ['pay']],
    ['{ status = error }', ERRORS],
    ['{ status = ok }', ['pay']],
    ['{ status = unset }', ['fe']],
    ['{ status != error }', ['fe', 'pay']],
    ['{ status != nil }', ALL],
    ['{ statusMessage = "db unavailable" }', ['ord']],
    ['{ span:statusMessage =~ ".*failed" }', ['inv']],
    ['{ kind = client }', DB],
    ['{ kind = server }', ['fe', 'pay', 'inv']],
    ['{ span:kind != server }', ['ord', ...DB, 'lost']],
    ['{ duration > 500ms }', ['fe', 'inv', 'ord']],
    ['{ duration >= 600ms }', ['fe', 'inv']],
    ['{ duration = 40000000 }', ['db1']],
    ['{ span:duration < 50ms }', ['db1', 'lost']],
    ['{ span:childCount = 3 }', ['ord']],
    ['{ span:childCount = 0 }', ['pay', ...DB, 'lost']],
    [`{ span:id = "${id('fe').replace(/^0+/, '')}" }`, ['fe']],
    [`{ span:id = "${id('fe')}" }`, ['fe']],
    [`{ span:parentID = "${id('fe')}" }`, ['pay', 'inv']],
    [`{ span:id != "${id('fe')}" }`, ALL.slice(1)],
    ['{ span:id =~ "0000.*6665" }', ['fe']],
    ['{ span:parentID = "" }', ['fe']],
  ],
  'trace intrinsics': [
    ['{ traceDuration > 900ms }', ALL],
    ['{ trace:duration = 1s }', ALL],
    ['{ trace:rootName = "POST /checkout" && status = error }', ERRORS],
    ['{ rootServiceName = "frontend" && kind = client }', DB],
    ['{ trace:rootService = "payment" }', []],
    ['{ trace:id = "123456789abcdef" }', ALL],
    [`{ trace:id = "${TRACE_ID}" && name = "charge" }`, ['pay']],
  ],
  'nested sets': [
    ['{ nestedSetParent = -1 }', ['fe']],
    ['{ nestedSetLeft = 0 }', ['lost']],
    ['{ nestedSetLeft = 1 && nestedSetRight = 14 }', ['fe']],
    ['{ nestedSetLeft > 4 && nestedSetRight < 12 }', DB],
    ['{ nestedSetParent = 5 }', DB],
  ],
  'numbers, durations and type mismatches': [
    ['{ span.amount > 40 }', ['pay']],
    ['{ span.amount = 42.5 }', ['pay']],
    ['{ span.items = 3.0 }', ['inv']],
    ['{ span.http.status_code = "200" }', []],
    ['{ span.http.method = 1 }', []],
    ['{ span.order.id >= "o-4" }', ['ord', 'lost']],
    ['{ span.order.id < "o-5" }', ['ord', 'lost']],
    ['{ span.attempt * 2 = 4 }', ['db2']],
    ['{ span.attempt / 2 = 1 }', ['db2', 'db3']],
    ['{ span.attempt / 0 = 1 }', []],
    ['{ span.attempt / 0 != 1 }', []],
    ['{ span.attempt % 0 != 1 }', []],
    ['{ span.attempt - 1 > 0.5 }', ['db2', 'db3']],
    ['{ -span.attempt < -2 }', ['db3']],
    ['{ span.amount % 10 = 2.5 }', ['pay']],
    ['{ span.attempt ^ 2 = 9 }', ['db3']],
    ['{ duration * 2 > 1s }', ['fe', 'inv', 'ord']],
    ['{ duration > 1s * 0.5 }', ['fe', 'inv', 'ord']],
    ['{ duration - 500ms > 0 }', ['fe', 'inv', 'ord']],
    ['{ span.cached }', ['pay']],
    ['{ !span.cached }', ['fe']],
    ['{ span.cached = false }', ['fe']],
    ['{ !(span.cached = true) }', ['fe', 'inv', 'ord', ...DB, 'lost']],
    ['{ 1 = 1. }', ALL],
    ['{ 1 + 1 > 1 }', ALL],
  ],
  'missing attributes and nil': [
    ['{ span.http.target != "/x" }', []],
    ['{ span.http.target !~ "/x" }', []],
    ['{ span.http.target != "/x" || span.http.target = nil }', ALL],
    ['{ span.order.id = nil }', ['fe', 'pay', 'inv', ...DB]],
    ['{ span.order.id != nil }', ['ord', 'lost']],
    ['{ true || span.missing }', ALL],
    ['{ span.missing || true }', ALL],
    ['{ span.missing && true }', []],
    ['{ !span.missing }', []],
    ['{ !(span.missing = 1) }', ALL],
    ['{ span.missing + 1 > 0 }', []],
  ],
  'arrays: = and =~ any element, != and !~ no element': [
    ['{ span.tags = "web" }', ['fe']],
    ['{ span.tags = "stock" }', ['inv']],
    ['{ span.tags != "web" }', ['inv']],
    ['{ span.tags != "nope" }', ['fe', 'inv']],
    ['{ span.tags =~ "che.*" }', ['fe']],
    ['{ span.tags !~ "che.*" }', ['inv']],
    ['{ span.sizes > 8 }', ['db1']],
    ['{ span.sizes = 5 }', ['db1']],
    ['{ span.sizes != 5 }', []],
    ['{ span.sizes != "a" }', []],
    ['{ span.tags != nil }', ['fe', 'inv']],
  ],
  'regex: RE2, fully anchored, dot matches newline': [
    ['{ span.http.route =~ "/check" }', []],
    ['{ span.http.route =~ "/check.*" }', ['fe']],
    ['{ span.http.route =~ "(?i)/CHECKOUT" }', ['fe']],
    ['{ span.http.route !~ "/check" }', ['fe']],
    ['{ name =~ "INSERT" }', []],
    ['{ name =~ ".*order.*" }', ['ord', ...DB]],
    ['{ name !~ "INSERT.*" }', ['fe', 'pay', 'inv', 'ord', 'lost']],
    ['{ span.db.statement =~ "INSERT.*" }', DB],
    ['{ span.db.statement =~ "INSERT.*\\\\(\\\\$1\\\\)" }', DB],
    ['{ span.http.status_code =~ "200" }', []],
  ],
  '&& and || inside a filter: one level, left to right': [
    ['{ name = "charge" || name = "reserve" && status = error }', ['inv']],
    ['{ name = "charge" || (name = "reserve" && status = error) }', ['pay', 'inv']],
    ['{ status = error && kind = client || name = "charge" }', ['pay', ...DB]],
  ],
  'spanset && and ||': [
    ['{ resource.service.name = "payment" } && { status = error }', ['pay', ...ERRORS]],
    ['{ resource.service.name = "payment" } && { span.missing = 1 }', []],
    ['{ resource.service.name = "payment" } || { span.missing = 1 }', ['pay']],
    ['{ status = error } && { status = error }', ERRORS],
    ['{ status = error } || { kind = client }', ERRORS],
    ['{ name = "charge" } || { name = "reserve" } && { name = "nope" }', []],
    ['{ name = "charge" } || ({ name = "reserve" } && { name = "nope" })', ['pay']],
    ['{ name = "charge" } && { name = "reserve" } || { name = "nope" }', ['pay', 'inv']],
  ],
  'structural operators: right side, connected spans only': [
    ['{ resource.service.name = "frontend" } >> { status = error }', ['inv', 'ord', ...DB]],
    ['{ resource.service.name = "frontend" } > { }', ['pay', 'inv']],
    ['{ name = "create order" } > { }', DB],
    ['{ kind = client } < { }', ['ord']],
    ['{ kind = client } << { }', ['fe', 'inv', 'ord']],
    ['{ name = "INSERT orders" } ~ { }', DB],
    ['{ name = "charge" } ~ { }', ['inv']],
    ['{ span.order.id = "o-42" } >> { }', DB],
    ['{ name = "send confirmation" } ~ { }', []],
    ['{ } > { name = "send confirmation" }', []],
    ['{ } >> { status = error }', ['inv', 'ord', ...DB]],
    ['{ name = "reserve" } >> { name = "reserve" }', []],
    ['{ status = error } >> { status = error } >> { kind = client }', DB],
    ['{ span.a = 1 } && { } >> { kind = client }', []],
    ['{ } && { kind = server } >> { kind = client }', ALL],
  ],
  'negated structural operators': [
    ['{ } !> { }', ['fe']],
    ['{ } !~ { }', ['fe', 'ord']],
    ['{ name = "charge" } !~ { status = error }', ['ord', ...DB]],
    ['{ status = error } !< { }', ['pay', ...DB]],
    ['{ name = "nothing" } !>> { status = error }', ['inv', 'ord', ...DB]],
    ['{ kind = client } !<< { }', ['pay', ...DB]],
  ],
  'union structural operators: both sides': [
    ['{ resource.service.name = "frontend" } &> { }', ['fe', 'pay', 'inv']],
    ['{ name = "reserve" } &>> { span.attempt = 3 }', ['inv', 'db3']],
    ['{ kind = client } &< { }', ['ord', ...DB]],
    ['{ name = "charge" } &~ { name = "reserve" }', ['pay', 'inv']],
    ['{ kind = client } &<< { name = "POST /checkout" }', ['fe', ...DB]],
  ],
  pipelines: [
    ['{ status = error } | { kind = client }', DB],
    ['{ status = error } | { resource.service.name = "frontend" } > { }', []],
    ['{ resource.service.name = "order" } | { } !> { }', ['ord']],
    ['{ status = error } | count() > 5', ERRORS],
    ['{ status = error } | count() > 6', []],
    ['count() > 7', ALL],
    ['avg(duration) > 20ms', ALL],
    ['{} | avg(.dne) != 0', []],
    ['{ kind = client } | sum(duration) = 220ms', DB],
    ['{ kind = client } | max(duration) = 110ms', DB],
    ['{ kind = client } | min(duration) < 50ms', DB],
    ['{ } | avg(span.attempt) = 2', ALL],
    ['{ } | sum(span.attempt) = 6', ALL],
    ['{ } | by(resource.service.name) | coalesce() | count() = 8', ALL],
    ['{ name = "charge" } | select(span.amount, resource.service.name)', ['pay']],
    ['({ status = error } | count() > 5) && ({ kind = client })', ERRORS],
    ['({ status = error } | count() > 6) || ({ kind = client })', DB],
    ['({ name = "reserve" } | count() = 1) >> ({ kind = client })', DB],
    ['({ } | by(resource.service.name) | coalesce()) && ({ kind = client })', ALL],
    ['{ status = error } | count() > 1 with (most_recent=true)', ERRORS],
  ],
};

describe('evaluateTraceQL on the lost-order trace', () => {
  for (const [group, cases] of Object.entries(CASES)) {
    describe(group, () => {
      for (const [query, expected] of cases) {
        it(`${query} → ${expected.length === 0 ? 'no match' : expected.join(' ')}`, () => {
          assert.deepEqual(matched(query), expected);
        });
      }
    });
  }
});

describe('rootless traces: Ariadne joins on parent ids', () => {
  // The root `fe` never arrived: pay and inv hang from the same missing parent, so they are tops
  // and siblings; `lost` hangs from another missing parent: connected too, without siblings.
  const rootless = SHOP.filter((s) => shortName(s) !== 'fe');
  const cases: readonly (readonly [string, readonly string[]])[] = [
    ['{ } !~ { }', ['ord', 'lost']],
    ['{ name = "charge" } ~ { }', ['inv']],
    ['{ kind = client } << { }', ['inv', 'ord']],
    ['{ } >> { kind = client }', DB],
    ['{ } !> { }', ['pay', 'inv', 'lost']],
    ['{ nestedSetParent = -1 }', ['pay', 'inv', 'lost']],
    ['{ trace:rootName = "" }', []],
    ['{ trace:rootName != "x" }', []],
  ];
  for (const [query, expected] of cases) {
    it(`${query} → ${expected.length === 0 ? 'no match' : expected.join(' ')}`, () => {
      assert.deepEqual(matched(query, rootless), expected);
    });
  }

  it('numbers the forest with tops in start order', () => {
    const result = run('{ } | select(nestedSetLeft, nestedSetRight)', rootless);
    const numbers = result?.spansets[0].spans.map((s) => result.fieldsOf(s).map((f) => traceqlValueToText(f.value)));
    // pay (1,2); inv (3,12) ord (4,11) db1 (5,6) db2 (7,8) db3 (9,10); lost (13,14)
    assert.deepEqual(numbers, [
      ['1', '2'],
      ['3', '12'],
      ['4', '11'],
      ['5', '6'],
      ['7', '8'],
      ['9', '10'],
      ['13', '14'],
    ]);
  });
});

describe("trace:rootService is the root resource's service.name, as Tempo records it", () => {
  /** SHOP with the root `fe` on a resource of these attributes (`unknown_service` for most). */
  const withRootResource = (attributes: KeyValue[]): Span[] =>
    SHOP.map((s) => {
      if (shortName(s) !== 'fe') return s;
      const resource = { ...s.resource, attributes };
      return { ...s, serviceName: serviceNameOf(resource), resource };
    });
  const cases: readonly (readonly [string, KeyValue[], string, readonly string[]])[] = [
    // The string as sent, the empty one too, not the `unknown_service` that service lists show.
    ['an empty string', kv({ 'service.name': str('') }), '{ trace:rootService = "" }', ALL],
    ['an empty string', kv({ 'service.name': str('') }), '{ rootServiceName < "a" && name = "charge" }', ['pay']],
    ['an empty string', kv({ 'service.name': str('') }), '{ trace:rootService = "unknown_service" }', []],
    ['an odd string', kv({ 'service.name': str(' Front End ') }), '{ trace:rootService = " Front End " }', ALL],
    // Not a string, or missing: "" (Tempo keeps the attribute's string value, empty for others).
    ['the int 42', kv({ 'service.name': int(42) }), '{ trace:rootService = "" && kind = client }', DB],
    ['the int 42', kv({ 'service.name': int(42) }), '{ trace:rootService = "42" }', []],
    ['the int 42', kv({ 'service.name': int(42) }), '{ trace:rootService = "unknown_service" }', []],
    ['the int 42', kv({ 'service.name': int(42) }), '{ trace:rootService != "frontend" && name = "charge" }', ['pay']],
    ['a bool', kv({ 'service.name': bool(true) }), '{ trace:rootService = "" && name = "charge" }', ['pay']],
    ['an array', kv({ 'service.name': arr(str('frontend')) }), '{ trace:rootService = "frontend" }', []],
    [
      'an array',
      kv({ 'service.name': arr(str('frontend')) }),
      '{ trace:rootService = "" && name = "charge" }',
      ['pay'],
    ],
    ['no service.name', kv({ region: str('eu-west') }), '{ trace:rootService = "" && name = "charge" }', ['pay']],
    // The first service.name counts, as Tempo reads it (not the first string one).
    [
      'the int 42, then "frontend"',
      [...kv({ 'service.name': int(42) }), ...kv({ 'service.name': str('frontend') })],
      '{ trace:rootService = "" && name = "charge" }',
      ['pay'],
    ],
  ];
  for (const [what, attributes, query, expected] of cases) {
    it(`root service.name ${what}: ${query} → ${expected.length === 0 ? 'no match' : expected.join(' ')}`, () => {
      assert.deepEqual(matched(query, withRootResource(attributes)), expected);
    });
  }

  it('reads only the root: an odd service.name on another span changes nothing', () => {
    const oddChild = SHOP.map((s) =>
      shortName(s) === 'pay'
        ? {
            ...s,
            serviceName: UNKNOWN_SERVICE,
            resource: { ...s.resource, attributes: kv({ 'service.name': int(7) }) },
          }
        : s,
    );
    assert.deepEqual(matched('{ trace:rootService = "frontend" && name = "charge" }', oddChild), ['pay']);
  });

  it('is nil without a root: no comparison holds', () => {
    const rootless = withRootResource(kv({ 'service.name': str('') })).filter((s) => shortName(s) !== 'fe');
    assert.deepEqual(matched('{ trace:rootService = "" }', rootless), []);
    assert.deepEqual(matched('{ trace:rootService != "frontend" }', rootless), []);
  });
});

describe('spansets and annotations', () => {
  it('count() after by() counts per group and drops small groups', () => {
    const result = run('{ status = error } | by(resource.service.name) | count() > 1');
    assert.equal(result?.spansets.length, 1);
    const [set] = result.spansets;
    assert.deepEqual(set.spans.map(shortName), ['ord', ...DB, 'lost']);
    assert.equal(set.matched, 5);
    assert.deepEqual(set.attributes, [
      { name: 'by(resource.service.name)', value: { type: 'string', value: 'order' } },
      { name: 'count()', value: { type: 'int', value: 5n } },
    ]);
  });

  it('by() makes one group per value, missing values in one nil group, groups by earliest span', () => {
    const result = run('{ } | by(span.http.status_code)');
    assert.deepEqual(
      result?.spansets.map((s) => [traceqlValueToText(s.attributes[0].value), s.spans.map(shortName)]),
      [
        ['200', ['fe', 'pay']],
        ['500', ['inv']],
        ['nil', ['ord', ...DB, 'lost']],
      ],
    );
  });

  it('by() on an attribute nobody has gives every span in one nil group', () => {
    const result = run('{} | by(span.does_not_exist)');
    assert.equal(result?.spansets.length, 1);
    assert.deepEqual(result.spansets[0].spans.map(shortName), ALL);
    assert.deepEqual(result.spansets[0].attributes, [{ name: 'by(span.does_not_exist)', value: { type: 'nil' } }]);
  });

  it('count() = 1 after by() keeps only the single-span group', () => {
    const result = run('{ status = error } | by(resource.service.name) | count() = 1');
    assert.deepEqual(
      result?.spansets.map((s) => s.spans.map(shortName)),
      [['inv']],
    );
  });

  it('aggregates annotate with Tempo names and typed values', () => {
    const avg = run('{ kind = client } | avg(duration) > 1ms');
    assert.deepEqual(avg?.spansets[0].attributes, [
      { name: 'avg(duration)', value: { type: 'duration', value: 73_333_333n } },
    ]);
    const avgInt = run('{ } | avg(span.attempt) = 2');
    assert.deepEqual(avgInt?.spansets[0].attributes, [
      { name: 'avg(span.attempt)', value: { type: 'float', value: 2 } },
    ]);
    const max = run('{ } | max(span.amount) > 1');
    assert.deepEqual(max?.spansets[0].attributes, [
      { name: 'max(span.amount)', value: { type: 'float', value: 42.5 } },
    ]);
    const sum = run('{ } | sum(span.attempt) = 6');
    assert.deepEqual(sum?.spansets[0].attributes, [{ name: 'sum(span.attempt)', value: { type: 'int', value: 6n } }]);
  });

  it('avg of values that are all nil drops the spanset, whatever the comparison', () => {
    assert.equal(run('{} | avg(.dne) != 0'), undefined);
    assert.equal(run('{} | avg(.dne) = 0'), undefined);
    assert.equal(run('{} | max(span.dne) < 1'), undefined);
  });

  it('aggregates skip nil and non-numeric values', () => {
    // attempt is on db1..db3 only; http.method is a string on fe.
    assert.ok(run('{ } | min(span.attempt) = 1'));
    assert.equal(run('{ span.http.method != nil } | sum(span.http.method) > 0'), undefined);
  });

  it('a span matched by both sides of && is returned once', () => {
    const result = run('{ status = error } && { kind = client }');
    assert.equal(result?.spansets[0].matched, 6);
  });

  it('pipelines combined with && keep the annotations of both sides', () => {
    const result = run('({ status = error } | count() > 5) && ({ kind = client } | count() = 3)');
    assert.deepEqual(
      result?.spansets[0].attributes.map((a) => a.name),
      ['count()'],
    );
    assert.deepEqual(result.spansets[0].attributes[0].value, { type: 'int', value: 3n });
  });

  it('spanset operators on several spansets fail as in Tempo, unless coalesced', () => {
    const query = '({ } | by(resource.service.name)) && ({ kind = client })';
    assert.throws(
      () => run(query),
      (error: unknown) =>
        error instanceof TraceQLError &&
        error.code === 'unsupported' &&
        error.reason ===
          'spanset operators are not supported for multiple spansets per trace. consider using coalesce()' &&
        error.line === 1 &&
        error.col === 1,
    );
    assert.throws(() => run('({ } | by(resource.service.name)) >> ({ kind = client })'), TraceQLError);
    assert.ok(run('({ } | by(resource.service.name) | coalesce()) >> ({ kind = client })'));
    // One group only: no error.
    assert.ok(run('({ kind = client } | by(resource.service.name)) && ({ kind = client })'));
  });

  it('a spanset stage after by() works per group', () => {
    const result = run('{ } | by(resource.service.name) | { status = error } && { kind != client }');
    assert.deepEqual(
      result?.spansets.map((s) => s.spans.map(shortName)),
      [['inv'], ['ord', ...DB, 'lost']],
    );
  });

  it('coalesce() merges groups and drops their annotations', () => {
    const result = run('{ status = error } | by(resource.service.name) | coalesce()');
    assert.equal(result?.spansets.length, 1);
    assert.deepEqual(result.spansets[0].spans.map(shortName), ERRORS);
    assert.deepEqual(result.spansets[0].attributes, []);
  });

  it('returns spans ordered by start although the input is not', () => {
    assert.deepEqual(matched('{ }'), ALL);
    assert.notEqual(shortName(SHOP[0]), 'fe');
  });

  it('orders matched spans by start, input order among equal starts, few or many, short or long traces', () => {
    // 40 spans in reverse start order, pairs sharing a start; then the same 200 days apart each.
    const make = (step: number) =>
      Array.from({ length: 40 }, (_, k) => {
        const i = 39 - k;
        return span({ span: `s${i}`, name: `n${i}`, service: 'order', kind: INTERNAL, start: 0, end: 1 });
      }).map((s, k) => {
        const offset = BigInt(Math.floor((39 - k) / 2)) * BigInt(step) * MS;
        return { ...s, startTimeUnixNano: unixNanos(BASE + offset), endTimeUnixNano: unixNanos(BASE + offset + MS) };
      });
    for (const step of [1, 200 * 24 * 3_600_000]) {
      const spans = make(step);
      const names = (query: string) => run(query, spans)?.spansets[0].spans.map((s) => s.name);
      // Equal starts keep input order: n1 comes before n0 in the input.
      assert.deepEqual(names('{ }')?.slice(0, 4), ['n1', 'n0', 'n3', 'n2'], `step ${step}`);
      assert.deepEqual(names('{ name = "n7" || name = "n2" }'), ['n2', 'n7'], `step ${step}`);
      assert.equal(names('{ }')?.length, 40);
    }
  });

  it('an empty trace matches nothing, not even count() = 0', () => {
    assert.equal(run('{ }', []), undefined);
    assert.equal(run('{ } | count() = 0', []), undefined);
  });
});

describe('fields shown with the matched spans', () => {
  it('shows the fields the query read and selected, with Tempo keys', () => {
    const result = run(
      '{ resource.service.name = "order" && duration > 500ms && status = error } | select(span.order.id, kind, span:id)',
    );
    const [ord] = result?.spansets[0].spans ?? [];
    assert.equal(shortName(ord), 'ord');
    const fields = result?.fieldsOf(ord).map((f) => [f.key, f.field, traceqlValueToText(f.value)]);
    assert.deepEqual(fields, [
      ['service.name', 'resource.service.name', 'order'],
      ['duration', 'span:duration', '530ms'],
      ['status', 'span:status', 'error'],
      ['order.id', 'span.order.id', 'o-42'],
      ['kind', 'span:kind', 'internal'],
      ['span:id', 'span:id', id('ord')],
    ]);
  });

  it('leaves out fields a span lacks, trace-level intrinsics, and spans of other traces', () => {
    const result = run('{ span.order.id = nil || traceDuration > 1ms } | select(span.amount, name)');
    const pay = result?.spansets[0].spans.find((s) => shortName(s) === 'pay');
    assert.ok(pay);
    assert.deepEqual(
      result?.fieldsOf(pay).map((f) => f.key),
      ['amount', 'name'],
    );
    assert.deepEqual(result?.fieldsOf({ ...pay }), []);
  });

  it('an unscoped field shows the span value, else the resource value', () => {
    const result = run('{ .region != nil }');
    const [fe, pay] = result?.spansets[0].spans ?? [];
    assert.deepEqual(result?.fieldsOf(fe)[0].value, { type: 'string', value: 'us-east' });
    assert.deepEqual(result?.fieldsOf(pay)[0].value, { type: 'string', value: 'eu-west' });
  });

  it('event fields show the first event that has them; arrays keep their elements', () => {
    const result = run('{ event.attempt != nil || span.tags != nil }');
    const byName = new Map(result?.spansets[0].spans.map((s) => [shortName(s), result.fieldsOf(s)]));
    assert.deepEqual(byName.get('ord'), [
      { key: 'attempt', field: 'event.attempt', value: { type: 'int', value: 2n } },
    ]);
    assert.deepEqual(traceqlValueToAnyValue(byName.get('fe')?.[0].value ?? { type: 'nil' }), {
      type: 'array',
      value: [
        { type: 'string', value: 'web' },
        { type: 'string', value: 'checkout' },
      ],
    });
  });
});

describe('evaluator behaviour', () => {
  it('compiles once and evaluates many traces', () => {
    const evaluator = createTraceQLEvaluator(compileTraceQL('{ name =~ "INSERT.*" }'));
    for (let i = 0; i < 3; i++) assert.equal(evaluator.evaluate(SHOP)?.spansets[0].matched, 3);
    assert.equal(evaluator.evaluate(SHOP.slice(1, 3)), undefined);
  });

  it('field op constant and constant op field agree, and with the general path', () => {
    const equivalent = [
      ['{ span.attempt > 1 }', '{ 1 < span.attempt }', '{ (span.attempt > 1) = true }'],
      ['{ .region = "eu-west" }', '{ "eu-west" = .region }', '{ (.region = "eu-west") != false }'],
      ['{ duration <= 70ms }', '{ 70ms >= duration }', '{ (duration <= 70ms) = true }'],
      ['{ span.tags != "web" }', '{ "web" != span.tags }', '{ (span.tags != "web") = true }'],
      ['{ status = error }', '{ error = status }', '{ (status = error) = true }'],
    ];
    for (const [a, ...others] of equivalent) {
      for (const b of others) assert.deepEqual(matched(b), matched(a), `${a} vs ${b}`);
    }
  });

  it('compares an aggregate with constant arithmetic as with its folded value', () => {
    assert.deepEqual(matched('{ status = error } | count() > 2 + 3'), ERRORS);
    assert.deepEqual(matched('{ status = error } | count() > (2 + 2) * 2'), []);
    assert.deepEqual(matched('{ status = error } | count() = 12 / 2'), ERRORS);
    assert.deepEqual(matched('{ } | max(duration) > -(1s - 2s) * 1000'), []);
    assert.deepEqual(matched('{ span.attempt != nil } | sum(span.attempt) = 2 * 3'), DB);
    assert.deepEqual(matched('{ span.attempt != nil } | avg(span.attempt) > 3 / 2'), DB);
    assert.deepEqual(matched('{ span.attempt != nil } | avg(span.attempt) > 3.0 / 2 + 1'), []);
  });

  it('evaluates arithmetic on aggregates, which validation rejects as unsupported for now', () => {
    const query = parseTraceQL('{ status = error } | count() * 2 > 10');
    assert.equal(evaluateTraceQL(query, SHOP)?.spansets[0].matched, 6);
    assert.equal(evaluateTraceQL(parseTraceQL('{ status = error } | count() * 2 > 12'), SHOP), undefined);
  });

  it('nil = nil is false', () => {
    const query = parseTraceQL('{ nil = nil }');
    assert.equal(evaluateTraceQL(query, SHOP), undefined);
  });

  it('an invalid regular expression is an error with its position', () => {
    const source = '{ span.foo =~ "[" }';
    assert.throws(
      () => createTraceQLEvaluator(parseTraceQL(source), { source }),
      (error: unknown) => error instanceof TraceQLError && error.code === 'invalid' && error.col === 15,
    );
  });

  it('parent attributes and comparisons of pipelines are unsupported', () => {
    assert.throws(() => createTraceQLEvaluator(parseTraceQL('{ parent.foo = 1 }')), TraceQLError);
    assert.throws(
      () => createTraceQLEvaluator(parseTraceQL('({ } | count()) > ({ } | count())')),
      (error: unknown) => error instanceof TraceQLError && error.code === 'unsupported',
    );
  });

  it('a Zipkin shared span id is split by kind: the server half is the client half’s child', () => {
    // client and server share id "rpc"; "work" names "rpc" as parent and runs in the server's service.
    const shared = [
      span({ span: 'root', name: 'root', service: 'frontend', kind: SERVER, start: 0, end: 100 }),
      span({ span: 'rpc', name: 'call', service: 'frontend', parent: 'root', kind: CLIENT, start: 10, end: 90 }),
      span({ span: 'rpc', name: 'handle', service: 'order', parent: 'root', kind: SERVER, start: 12, end: 88 }),
      span({ span: 'work', name: 'work', service: 'order', parent: 'rpc', kind: INTERNAL, start: 20, end: 30 }),
    ];
    const names = (query: string) => run(query, shared)?.spansets[0].spans.map((s) => s.name) ?? [];
    assert.deepEqual(names('{ name = "call" } > { }'), ['handle']);
    assert.deepEqual(names('{ name = "handle" } > { }'), ['work']);
    assert.deepEqual(names('{ name = "root" } > { }'), ['call']);
  });

  it('a parent cycle is disconnected', () => {
    const cycle = [
      span({ span: 'root', name: 'root', service: 'frontend', kind: SERVER, start: 0, end: 100 }),
      span({ span: 'x', name: 'x', service: 'order', parent: 'y', kind: INTERNAL, start: 10, end: 20 }),
      span({ span: 'y', name: 'y', service: 'order', parent: 'x', kind: INTERNAL, start: 10, end: 20 }),
      span({ span: 'z', name: 'z', service: 'order', parent: 'z', kind: INTERNAL, start: 10, end: 20 }),
    ];
    assert.deepEqual(
      run('{ } !> { }', cycle)?.spansets[0].spans.map((s) => s.name),
      ['root'],
    );
    assert.equal(run('{ name = "x" } > { }', cycle), undefined);
  });

  it('bytes and kvlist attributes are not searchable', () => {
    const odd = [
      {
        ...SHOP[1],
        attributes: [
          { key: 'blob', value: { type: 'bytes', value: new Uint8Array([1]) } },
          { key: 'map', value: { type: 'kvlist', value: [] } },
        ] as KeyValue[],
      },
    ];
    assert.equal(run('{ span.blob != nil }', odd), undefined);
    assert.ok(run('{ span.map = nil }', odd));
  });

  it('compares strings in UTF-8 byte order, as Go does', () => {
    const emoji = [{ ...SHOP[1], attributes: kv({ s: str('😀') }) }];
    // U+1F600 is above U+FF5E in code points (and UTF-8 bytes), below it in UTF-16 units.
    assert.ok(run('{ span.s > "～" }', emoji));
  });
});

describe('traceql values', () => {
  it('formats durations as Go does', () => {
    const cases: [bigint, string][] = [
      [0n, '0s'],
      [850n, '850ns'],
      [1_500n, '1.5µs'],
      [100_000_000n, '100ms'],
      [1_500_000_000n, '1.5s'],
      [90_000_000_000n, '1m30s'],
      [3_600_000_000_000n, '1h0m0s'],
      [-2_000_000n, '-2ms'],
    ];
    for (const [nanos, text] of cases) assert.equal(formatGoDuration(nanos), text);
  });

  it('renders values for the search response as Tempo does', () => {
    assert.deepEqual(traceqlValueToAnyValue({ type: 'status', value: 'error' }), { type: 'string', value: 'error' });
    assert.deepEqual(traceqlValueToAnyValue({ type: 'nil' }), { type: 'string', value: 'nil' });
    assert.deepEqual(traceqlValueToAnyValue({ type: 'int', value: 3n }), { type: 'int', value: 3n });
  });
});
