import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BinaryOperation, SpansetFilter, SpansetPipeline } from './ast.ts';
import { MAX_QUERY_DEPTH, parseTraceQL } from './parser.ts';
import { sexpr, stripPositions } from './test-support.ts';
import { TraceQLError } from './traceql-error.ts';

/** The tree of `query` as an S-expression (see `sexpr`). */
function tree(query: string): string {
  return sexpr(parseTraceQL(query));
}

function parseError(query: string): TraceQLError {
  try {
    parseTraceQL(query);
  } catch (error) {
    assert.ok(error instanceof TraceQLError, String(error));
    return error;
  }
  assert.fail(`expected ${query} not to parse`);
}

function syntaxError(query: string): string {
  const error = parseError(query);
  assert.equal(error.code, 'syntax', error.message);
  return error.message;
}

describe('parseTraceQL: precedence the spec pins (§1)', () => {
  it('puts && and || on one level, left-associative, inside a filter', () => {
    assert.equal(tree('{ .a || .b && .c }'), '{(&& (|| .a .b) .c)}');
    assert.equal(tree('{ .a && .b || .c }'), '{(|| (&& .a .b) .c)}');
    assert.equal(tree('{ .attr1=1 || .attr1=2 && .attr2=3 }'), '{(&& (|| (= .attr1 1) (= .attr1 2)) (= .attr2 3))}');
  });

  it('puts && and || on one level between spansets too', () => {
    assert.equal(tree('{ .a } && { .b } || { .c }'), '(|| (&& {.a} {.b}) {.c})');
    assert.equal(tree('{ .a } || { .b } && { .c }'), '(&& (|| {.a} {.b}) {.c})');
  });

  it('binds structural operators tighter than && and ||, left-associative among themselves', () => {
    assert.equal(tree('{ .a } && { .b } >> { .c }'), '(&& {.a} (>> {.b} {.c}))');
    assert.equal(tree('{ .a } >> { .b } ~ { .c }'), '(~ (>> {.a} {.b}) {.c})');
    assert.equal(tree('{ .a } >> { .b } || { .c } << { .d }'), '(|| (>> {.a} {.b}) (<< {.c} {.d}))');
  });

  it('binds ! tighter than = and looser than *', () => {
    assert.equal(tree('{ !.a = .b }'), '{(= (! .a) .b)}');
    assert.equal(tree('{ .a = !.b && .c }'), '{(&& (= .a (! .b)) .c)}');
    assert.equal(tree('{ .a = !( .b && .c ) }'), '{(= .a (! (&& .b .c)))}');
    assert.equal(tree('{ !(.a = .b) }'), '{(! (= .a .b))}');
    assert.equal(tree('{ !.a + 1 = 2 }'), '{(= (+ (! .a) 1) 2)}');
    assert.equal(tree('{ !.a * 2 = 2 }'), '{(= (! (* .a 2)) 2)}');
  });

  it('binds unary minus tightest', () => {
    assert.equal(tree('{ -.a = .b }'), '{(= (- .a) .b)}');
    assert.equal(tree('{ -(.a = .b) }'), '{(- (= .a .b))}');
    assert.equal(tree('{ .c - -.a + .b }'), '{(+ (- .c (- .a)) .b)}');
    assert.equal(tree('{ .c - -( .a + .b ) }'), '{(- .c (- (+ .a .b)))}');
    assert.equal(tree('{ -.a ^ 2 = 4 }'), '{(= (^ (- .a) 2) 4)}');
    assert.equal(tree('{ -.a * .b = 1 }'), '{(= (* (- .a) .b) 1)}');
  });

  it('orders arithmetic as usual, with ^ right-associative (TestSpansetFilterOperatorPrecedence)', () => {
    assert.equal(tree('{ .a * .b + .c }'), '{(+ (* .a .b) .c)}');
    assert.equal(tree('{ .a + .b * .c }'), '{(+ .a (* .b .c))}');
    assert.equal(tree('{ ( .a + .b ) * .c }'), '{(* (+ .a .b) .c)}');
    assert.equal(tree('{ .a + .b ^ .c }'), '{(+ .a (^ .b .c))}');
    assert.equal(tree('{ .a ^ .b ^ .c = 1 }'), '{(= (^ .a (^ .b .c)) 1)}');
    assert.equal(tree('{ .a - .b - .c = 1 }'), '{(= (- (- .a .b) .c) 1)}');
    assert.equal(tree('{ .a % .b * .c / .d = 1 }'), '{(= (/ (* (% .a .b) .c) .d) 1)}');
    assert.equal(tree('{ .a = .b + .c }'), '{(= .a (+ .b .c))}');
    assert.equal(tree('{ .a + .b = .c }'), '{(= (+ .a .b) .c)}');
    assert.equal(tree('{ .a && .b = .c }'), '{(&& .a (= .b .c))}');
    assert.equal(tree('{ .a = .b || .c = .d}'), '{(|| (= .a .b) (= .c .d))}');
  });

  it('binds | loosest', () => {
    assert.equal(tree('{ .a } >> { .b } | count() > 1'), '(| (>> {.a} {.b}) (> count() 1))');
    assert.equal(tree('{ .a } | { .b } && { .c }'), '(| {.a} (&& {.b} {.c}))');
  });

  it('reads ({ .a }) && ({ .b }) as a spanset && (the grammar conflict)', () => {
    assert.equal(tree('({ .a }) && ({ .b })'), '(&& {.a} {.b})');
    assert.equal(tree('({ .a }) && ({ .b }) | { .c }'), '(| (&& {.a} {.b}) {.c})');
  });
});

describe('parseTraceQL: field operators', () => {
  it('reads every binary operator inside a filter', () => {
    for (const op of ['&&', '||', '=', '!=', '<', '<=', '>', '>=', '=~', '!~', '+', '-', '*', '/', '%', '^']) {
      assert.equal(tree(`{ .a ${op} .b }`), `{(${op} .a .b)}`, op);
    }
  });

  it('reads !~ as "not regex" inside a filter and as "not sibling" between spansets', () => {
    const inside = parseTraceQL('{ .a !~ "x" }').body as SpansetPipeline;
    assert.equal(((inside.stages[0] as SpansetFilter).expr as BinaryOperation).kind, 'binary');
    assert.equal(tree('{ .a !~ "x" } !~ { .b !~ "y" }'), '(!~ {(!~ .a "x")} {(!~ .b "y")})');
  });

  it('reads nil only as an operand of = and !=', () => {
    assert.equal(tree('{ .a = nil }'), '{(= .a nil)}');
    assert.equal(tree('{ nil != .a }'), '{(!= nil .a)}');
    assert.equal(tree('{ nil = nil }'), '{(= nil nil)}');
    assert.equal(tree('{ .a = nil && .b != nil }'), '{(&& (= .a nil) (!= .b nil))}');
    for (const bad of [
      '{ nil }',
      '{ .a > nil }',
      '{ nil + 1 = 2 }',
      '{ !nil = true }',
      '{ .a = (nil) }',
      '{ nil && true }',
    ]) {
      assert.match(syntaxError(bad), /nil can only be compared with "=" or "!="$/, bad);
    }
  });

  it('reads the literals: strings, numbers, durations, booleans, status, kind, minInt, maxInt', () => {
    assert.equal(
      tree('{ .a = "s" || .a = `r` || .a = 1 || .a = 1.5 || .a = 2s || .a = true || .a = false }'),
      '{(|| (|| (|| (|| (|| (|| (= .a "s") (= .a "r")) (= .a 1)) (= .a 1.5f)) (= .a 2000000000ns)) (= .a true)) (= .a false))}',
    );
    for (const status of ['ok', 'error', 'unset'])
      assert.equal(tree(`{ status = ${status} }`), `{(= span:status ${status})}`);
    for (const kind of ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']) {
      assert.equal(tree(`{ kind = ${kind} }`), `{(= span:kind ${kind})}`);
    }
    assert.equal(
      tree('{ .a > minInt && .a < maxInt }'),
      '{(&& (> .a -9223372036854775808) (< .a 9223372036854775807))}',
    );
  });

  it('reads a negative number as unary minus on a literal', () => {
    assert.equal(tree('{ -1 = .a }'), '{(= (- 1) .a)}');
  });

  it('reads {} as a filter without an expression', () => {
    assert.equal(tree('{}'), '{}');
    assert.equal(tree('{ }'), '{}');
  });
});

describe('parseTraceQL: scopes and intrinsics (spec §3)', () => {
  it('reads every attribute scope, and parent attributes', () => {
    assert.equal(
      tree('{ .a && span.a && resource.a && event.a && link.a && instrumentation.a }'),
      '{(&& (&& (&& (&& (&& .a span.a) resource.a) event.a) link.a) instrumentation.a)}',
    );
    assert.equal(
      tree('{ parent.a && parent.span.a && parent.resource.a }'),
      '{(&& (&& parent.a parent.span.a) parent.resource.a)}',
    );
  });

  it('gives the old and the scoped spelling of an intrinsic the same node', () => {
    const pairs = [
      ['name', 'span:name'],
      ['status', 'span:status'],
      ['statusMessage', 'span:statusMessage'],
      ['kind', 'span:kind'],
      ['duration', 'span:duration'],
      ['traceDuration', 'trace:duration'],
      ['rootName', 'trace:rootName'],
      ['rootServiceName', 'trace:rootService'],
    ];
    for (const [old, scoped] of pairs) {
      assert.deepEqual(
        stripPositions(parseTraceQL(`{ ${old} != nil }`)),
        stripPositions(parseTraceQL(`{ ${scoped} != nil }`)),
        old,
      );
      assert.equal(tree(`{ ${old} != nil }`), `{(!= ${scoped} nil)}`);
    }
  });

  it('reads the scoped-only intrinsics and the undocumented ones', () => {
    assert.equal(
      tree('select(span:id, span:parentID, span:childCount, trace:id, event:name, event:timeSinceStart)'),
      'select(span:id span:parentID span:childCount trace:id event:name event:timeSinceStart)',
    );
    assert.equal(
      tree(
        'select(link:traceID, link:spanID, instrumentation:name, instrumentation:version, nestedSetLeft, nestedSetRight, nestedSetParent, parent)',
      ),
      'select(link:traceID link:spanID instrumentation:name instrumentation:version nestedSetLeft nestedSetRight nestedSetParent parent)',
    );
  });

  it('keeps a dotted intrinsic name an attribute', () => {
    assert.equal(
      tree('{ .name = "a" && span.duration > 1 && resource.status = 2 }'),
      '{(&& (&& (= .name "a") (> span.duration 1)) (= resource.status 2))}',
    );
  });

  it('suggests the scope for intrinsics that only exist scoped', () => {
    assert.equal(
      syntaxError('{ childCount > 1 }'),
      '1:3: unknown identifier "childCount"; did you mean span:childCount?',
    );
    assert.equal(
      syntaxError('{ rootService = "a" }'),
      '1:3: unknown identifier "rootService"; did you mean trace:rootService?',
    );
  });
});

describe('parseTraceQL: spanset operators (spec §5)', () => {
  it('reads every spanset operator', () => {
    const ops = ['&&', '||', '>', '<', '>>', '<<', '~', '!>', '!<', '!>>', '!<<', '!~', '&>', '&<', '&>>', '&<<', '&~'];
    for (const op of ops) assert.equal(tree(`{ .a } ${op} { .b }`), `(${op} {.a} {.b})`, op);
  });

  it('combines whole pipelines with the same operators', () => {
    for (const op of ['&&', '||', '>>', '<', '!~', '&~']) {
      assert.equal(
        tree(`({ true } | count() > 1 | { false }) ${op} ({ true } | count() > 1 | { false })`),
        `(P${op} (| {true} (> count() 1) {false}) (| {true} (> count() 1) {false}))`,
      );
    }
    assert.equal(
      tree('({ .a } | count() > 1) && ({ .b }) || ({ .c } | by(.x))'),
      '(P|| (P&& (| {.a} (> count() 1)) (| {.b})) (| {.c} by(.x)))',
    );
  });

  it('also takes a bare spanset beside a pipeline, in either order', () => {
    // Tempo's LALR grammar rejects the first two; their meaning is plain.
    assert.equal(tree('({ .a }) && ({ .b } | count() > 1)'), '(P&& (| {.a}) (| {.b} (> count() 1)))');
    assert.equal(tree('{ .a } && ({ .b } | count() > 1)'), '(P&& (| {.a}) (| {.b} (> count() 1)))');
    assert.equal(tree('({ .b } | count() > 1) && ({ .a })'), '(P&& (| {.b} (> count() 1)) (| {.a}))');
  });

  it('rejects a pipeline combination followed by more stages', () => {
    assert.equal(
      syntaxError('({ .a } | count() > 1) && ({ .b }) | { .c }'),
      '1:1: pipelines combined with "&&" cannot be a stage of another pipeline',
    );
  });

  it('flattens a parenthesised pipeline used as a stage', () => {
    assert.equal(tree('({ .a } | { .b }) | { .c }'), '(| {.a} {.b} {.c})');
    assert.equal(tree('{ .x } | (by(.a) | count() > 1)'), '(| {.x} by(.a) (> count() 1))');
  });
});

describe('parseTraceQL: pipelines (spec §6)', () => {
  it('reads the aggregates in scalar filters, with every comparison operator', () => {
    assert.equal(tree('{} | count() > 2'), '(| {} (> count() 2))');
    for (const fn of ['avg', 'min', 'max', 'sum'])
      assert.equal(tree(`{} | ${fn}(duration) = 1h`), `(| {} (= ${fn}(span:duration) 3600000000000ns))`);
    for (const op of ['=', '!=', '<', '<=', '>', '>='])
      assert.equal(tree(`{} | count() ${op} 1`), `(| {} (${op} count() 1))`);
  });

  it('reads a scalar filter as the first stage', () => {
    assert.equal(tree('count() > 10'), '(> count() 10)');
    assert.equal(
      tree('avg(duration) > 20ms | { status = error }'),
      '(| (> avg(span:duration) 20000000ns) {(= span:status error)})',
    );
  });

  it('reads arithmetic on aggregates and constant arithmetic on numbers', () => {
    assert.equal(tree('{} | count() + count() = 1'), '(| {} (= (+ count() count()) 1))');
    assert.equal(tree('{} | max(.a) - min(.a) > 3 * 2'), '(| {} (> (- max(.a) min(.a)) (* 3 2)))');
    assert.equal(tree('avg(.field) > 1 - 3'), '(> avg(.field) (- 1 3))');
    assert.equal(tree('min(span:childCount) < 2 / 6'), '(< min(span:childCount) (/ 2 6))');
    assert.equal(tree('count() % 2 * 3 = -(1 + 2)'), '(= (* (% count() 2) 3) (- (+ 1 2)))');
    assert.equal(tree('2 ^ count() ^ 2 > 1'), '(> (^ 2 (^ count() 2)) 1)');
    assert.equal(tree('1 < count()'), '(< 1 count())');
    assert.equal(tree('(count()) > 1'), '(> count() 1)');
  });

  it('reads by(), coalesce() and select()', () => {
    assert.equal(
      tree('{ status = error } | by(resource.service.name) | count() > 1 | coalesce()'),
      '(| {(= span:status error)} by(resource.service.name) (> count() 1) coalesce())',
    );
    assert.equal(tree('by(3 * .field - 2) | { true }'), '(| by((- (* 3 .field) 2)) {true})');
    assert.equal(tree('{} | select(.a, span.b, duration, span:id)'), '(| {} select(.a span.b span:duration span:id))');
    assert.equal(tree('select(.a)'), 'select(.a)');
  });

  it('reads comparisons of whole pipelines at the root (unsupported later)', () => {
    assert.equal(tree('({ .a } | count()) > ({ .b } | count())'), '(> (S| {.a} count()) (S| {.b} count()))');
    assert.equal(
      tree('({ true } | count()) + ({ true } | avg(duration)) = 2'),
      '(= (+ (S| {true} count()) (S| {true} avg(span:duration))) 2)',
    );
  });

  it('reads hints at the very end, from one or more with clauses', () => {
    assert.equal(tree('{} with (most_recent=true)'), '{} with(most_recent=true)');
    assert.equal(
      tree('{} | count() > 1 with(sample = 0.1, span_sample=5, x="y", d=1s) with (k=server)'),
      '(| {} (> count() 1)) with(sample=0.1f span_sample=5 x="y" d=1000000000ns k=server)',
    );
  });
});

describe('parseTraceQL: metrics queries (spec §7)', () => {
  it('rejects every metrics function as unsupported, naming it', () => {
    const functions = [
      'rate()',
      'count_over_time()',
      'min_over_time(duration)',
      'max_over_time(duration)',
      'avg_over_time(duration)',
      'sum_over_time(duration)',
      'quantile_over_time(duration, .5)',
      'histogram_over_time(duration)',
      'compare({ status = error })',
    ];
    for (const fn of functions) {
      const error = parseError(`{ } | ${fn} by (span.x)`);
      assert.equal(error.code, 'unsupported');
      assert.equal(error.message, `1:7: metrics queries (${fn.slice(0, fn.indexOf('('))}()) are not supported yet`);
    }
  });

  it('rejects metrics math where the first metrics function appears', () => {
    const error = parseError('100 * ({ } | rate()) / ({} | count_over_time())');
    assert.equal(error.code, 'unsupported');
    assert.equal(error.message, '1:14: metrics queries (rate()) are not supported yet');
  });

  it('rejects topk() and bottomk() without a metrics function before them as a syntax error', () => {
    assert.equal(syntaxError('{} | topk(10)'), '1:6: topk() can only follow a metrics function such as rate()');
    assert.equal(syntaxError('{} | bottomk(10)'), '1:6: bottomk() can only follow a metrics function such as rate()');
  });
});

describe('parseTraceQL: syntax errors say where and what was expected', () => {
  it('names what may come next and what was found', () => {
    assert.equal(syntaxError('{ span.foo = "x" status = error }'), '1:18: expected "}" or an operator, found "status"');
    assert.equal(syntaxError('{ .a < 3'), '1:9: expected "}" or an operator, found end of query');
    assert.equal(syntaxError('{ (.a < 3 }'), '1:11: expected ")" or an operator, found "}"');
    assert.equal(syntaxError('{ .a < }'), '1:8: expected a field or a value, found "}"');
    assert.equal(syntaxError('{ .attribute == 4 }'), '1:15: expected a field or a value, found "="');
    assert.equal(syntaxError('true'), '1:1: expected a spanset filter "{ … }" or a pipeline stage, found "true"');
    assert.equal(syntaxError(''), '1:1: expected a spanset filter "{ … }" or a pipeline stage, found end of query');
    assert.equal(
      syntaxError('{ true } { true }'),
      '1:10: expected an operator, "|", "with" or end of query, found "{"',
    );
    assert.equal(syntaxError('{} with (a = 1) | {}'), '1:17: expected end of query, found "|"');
    assert.equal(
      syntaxError('{} with (a = -1)'),
      '1:14: expected a hint value (a string, number or keyword), found "-"',
    );
  });

  it('explains identifiers that are not attributes', () => {
    assert.equal(
      syntaxError('{ attribute = 4 }'),
      '1:3: unknown identifier "attribute": attribute names start with "." or a scope such as "span."',
    );
    assert.equal(syntaxError('{ count = 4 }'), '1:3: expected a field or a value, found "count"');
  });

  it('checks what an operator combines outside a filter', () => {
    assert.equal(
      syntaxError('{ true } + { true }'),
      '1:10: "+" needs numbers or aggregates, found a spanset and a spanset',
    );
    assert.equal(
      syntaxError('{ true } = { true }'),
      '1:10: "=" needs numbers or aggregates, found a spanset and a spanset',
    );
    assert.equal(syntaxError('{} > 10'), '1:4: ">" needs two spansets or two numbers, found a spanset and a number');
    assert.equal(
      syntaxError('count() > 3 && { true }'),
      '1:13: "&&" combines spansets, but its left side is a scalar filter',
    );
    assert.equal(syntaxError('3 = 2'), '1:3: a scalar filter needs an aggregate such as count() on one side');
    assert.equal(syntaxError('{} | 3 > 2'), '1:8: a scalar filter needs an aggregate such as count() on one side');
    assert.equal(
      syntaxError('count() > 2 % 3'),
      '1:13: "%" needs an aggregate on one side; between numbers only + - * / are allowed',
    );
    assert.equal(syntaxError('-count() > 1'), '1:1: outside "{ }", "-" can only negate a number, not an aggregate');
    assert.equal(syntaxError('max(name) = "foo"'), '1:13: expected a number or an aggregate after "=", found "foo"');
  });

  it('requires a comparison after an aggregate', () => {
    const expected = 'expected a comparison operator ("=", "!=", "<", "<=", ">" or ">=")';
    assert.equal(syntaxError('{ true } | count()'), `1:19: ${expected}, found end of query`);
    assert.equal(syntaxError('avg(.field) + 1 | {}'), `1:17: ${expected}, found "|"`);
    assert.equal(syntaxError('({ true } | count()) + ({ true } | count())'), `1:44: ${expected}, found end of query`);
  });

  it('checks the pipeline forms of Tempo', () => {
    assert.equal(syntaxError('coalesce() | { true }'), '1:1: coalesce() cannot be the first stage of a pipeline');
    assert.equal(syntaxError('{} | count = 1'), '1:12: expected "(" after "count", found "="');
    assert.equal(syntaxError('{} | max() = 1'), '1:10: expected a field or a value, found ")"');
    assert.equal(syntaxError('{} | count(.a) = 1'), '1:12: expected ")": count() takes no argument, found ".a"');
    assert.equal(syntaxError('{} | by()'), '1:9: expected a field or a value, found ")"');
    assert.equal(
      syntaxError('select()'),
      '1:8: expected an attribute or an intrinsic (select() takes fields only), found ")"',
    );
    assert.equal(
      syntaxError('select(1 + "s")'),
      '1:8: expected an attribute or an intrinsic (select() takes fields only), found "1"',
    );
    assert.equal(syntaxError('select(.a'), '1:10: expected "," or ")", found end of query');
    assert.equal(
      syntaxError('({ true } | count() + 1) > 1'),
      '1:13: a pipeline in parentheses may end in one aggregate, such as count(), only',
    );
    assert.equal(
      syntaxError('({ true } | count()) > count()'),
      '1:22: a comparison of pipelines needs "(… | aggregate)" on the left and a pipeline or a number on the right',
    );
    assert.equal(
      syntaxError('({ true } | count()) * 2 > 1'),
      '1:22: "*" between "(… | aggregate)" pipelines needs a pipeline on both sides',
    );
    assert.equal(
      syntaxError('{} | ({ .a } | count()) > 1'),
      '1:6: a comparison between pipelines must be the whole query',
    );
  });

  it('gives each error a range, a code and a reason without the position', () => {
    const error = parseError('{ .a = 1 }\n| { .b = }');
    assert.equal(error.code, 'syntax');
    assert.deepEqual([error.line, error.col, error.offset, error.end], [2, 10, 20, 21]);
    assert.equal(error.reason, 'expected a field or a value, found "}"');
    assert.equal(error.message, '2:10: expected a field or a value, found "}"');
    assert.equal(error.name, 'TraceQLError');
  });
});

describe('parseTraceQL: limits', () => {
  it('refuses trees deeper than MAX_QUERY_DEPTH with a syntax error, not a stack overflow', () => {
    const nested = `{ ${'('.repeat(5000)}.a${')'.repeat(5000)} }`;
    assert.match(syntaxError(nested), /^1:1002: the query nests too deeply \(more than 1000 levels\)$/);
    const chain = `{ ${Array.from({ length: 5000 }, () => '.a = 1').join(' || ')} }`;
    assert.match(syntaxError(chain), /the query nests too deeply/);
    assert.equal(MAX_QUERY_DEPTH, 1000);
  });

  it('accepts long flat pipelines and chains well below the limit', () => {
    const pipes = Array.from({ length: 5000 }, () => '{ .a }').join(' | ');
    assert.equal((parseTraceQL(pipes).body as SpansetPipeline).stages.length, 5000);
    const chain = `{ ${Array.from({ length: 900 }, () => '.a = 1').join(' || ')} }`;
    assert.equal(parseTraceQL(chain).kind, 'query');
  });
});

describe('parseTraceQL: source positions', () => {
  it('puts start and end offsets on every node', () => {
    const query = parseTraceQL('{ .a = 1 } | count() > 2 with (x = 1)');
    assert.deepEqual([query.start, query.end], [0, 37]);
    const pipeline = query.body as SpansetPipeline;
    assert.deepEqual([pipeline.start, pipeline.end], [0, 24]);
    const filter = pipeline.stages[0] as SpansetFilter;
    assert.deepEqual([filter.start, filter.end], [0, 10]);
    const eq = filter.expr as BinaryOperation;
    assert.deepEqual([eq.start, eq.end, eq.lhs.start, eq.lhs.end, eq.rhs.start, eq.rhs.end], [2, 8, 2, 4, 7, 8]);
    const scalar = pipeline.stages[1];
    assert.deepEqual([scalar.start, scalar.end], [13, 24]);
    assert.deepEqual([query.hints[0].start, query.hints[0].end], [31, 36]);
  });

  it('includes the parentheses around a node in its range', () => {
    const filter = (parseTraceQL('{ (.a) = -(1) }').body as SpansetPipeline).stages[0] as SpansetFilter;
    const eq = filter.expr as BinaryOperation;
    assert.deepEqual([eq.start, eq.end], [2, 13]);
    assert.deepEqual([eq.lhs.start, eq.lhs.end], [2, 6]);
    assert.deepEqual([eq.rhs.start, eq.rhs.end], [9, 13]);
    const query = parseTraceQL('({ .a } | count()) > 1');
    assert.deepEqual([query.body.start, query.body.end], [0, 22]);
  });
});
