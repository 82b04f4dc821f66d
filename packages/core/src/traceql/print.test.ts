import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTraceQL } from './parser.ts';
import { printTraceQL } from './print.ts';
import { randomQuery, stripPositions } from './test-support.ts';

function canonical(query: string): string {
  return printTraceQL(parseTraceQL(query));
}

describe('printTraceQL', () => {
  it('prints parentheses only where precedence needs them', () => {
    assert.equal(canonical('{ (.a || .b) && .c }'), '{ .a || .b && .c }');
    assert.equal(canonical('{ .a || (.b && .c) }'), '{ .a || (.b && .c) }');
    assert.equal(canonical('{ (.a * .b) + .c }'), '{ .a * .b + .c }');
    assert.equal(canonical('{ (.a + .b) * .c }'), '{ (.a + .b) * .c }');
    assert.equal(canonical('{ .a ^ (.b ^ .c) }'), '{ .a ^ .b ^ .c }');
    assert.equal(canonical('{ (.a ^ .b) ^ .c }'), '{ (.a ^ .b) ^ .c }');
    assert.equal(canonical('{ .a - (.b - .c) }'), '{ .a - (.b - .c) }');
    assert.equal(canonical('({ .a } && { .b }) >> { .c }'), '({ .a } && { .b }) >> { .c }');
    assert.equal(canonical('{ .a } && ({ .b } >> { .c })'), '{ .a } && { .b } >> { .c }');
  });

  it('parenthesises the operand of a unary operator unless it is a single field or literal', () => {
    assert.equal(canonical('{ !(.a = .b) }'), '{ !(.a = .b) }');
    assert.equal(canonical('{ (!.a) = .b }'), '{ !.a = .b }');
    assert.equal(canonical('{ !.a * 2 = 1 }'), '{ !(.a * 2) = 1 }');
    assert.equal(canonical('{ (!.a) * 2 = 1 }'), '{ (!.a) * 2 = 1 }');
    assert.equal(canonical('{ .c - -.a + .b }'), '{ .c - -.a + .b }');
    assert.equal(canonical('{ --.a = 1 }'), '{ -(-.a) = 1 }');
  });

  it('spells intrinsics in their scoped form, except those that have none', () => {
    assert.equal(
      canonical('{ duration > 1s && name = "x" && status = error && kind = server && statusMessage != "" }'),
      '{ span:duration > 1s && span:name = "x" && span:status = error && span:kind = server && span:statusMessage != "" }',
    );
    assert.equal(
      canonical('{ traceDuration > 1s && rootName = "a" && rootServiceName = "b" }'),
      '{ trace:duration > 1s && trace:rootName = "a" && trace:rootService = "b" }',
    );
    assert.equal(canonical('{ nestedSetLeft > 1 && parent = nil }'), '{ nestedSetLeft > 1 && parent = nil }');
  });

  it('writes strings in double quotes with Go escapes, whatever quotes the query used', () => {
    assert.equal(canonical('{ .a = `x"y\\z` }'), '{ .a = "x\\"y\\\\z" }');
    assert.equal(canonical('{ .a = "tab\\there\\x00\\u00e9" }'), '{ .a = "tab\\there\\x00é" }');
  });

  it('quotes attribute names only when the lexer would misread them', () => {
    assert.equal(canonical('{ .http.status_code-x+1 = 1 }'), '{ .http.status_code-x+1 = 1 }');
    assert.equal(canonical('{ ."foo bar" = 1 }'), '{ ."foo bar" = 1 }');
    assert.equal(canonical('{ span."a b".c = 1 }'), '{ span."a b.c" = 1 }');
    assert.equal(canonical('{ ."a\\"b" = 1 }'), '{ ."a\\"b" = 1 }');
    assert.equal(canonical('{ ."5" = 1 }'), '{ ."5" = 1 }');
    assert.equal(canonical('{ span.5 = 1 }'), '{ span.5 = 1 }');
    assert.equal(canonical('{ parent."span.x" = 1 }'), '{ parent."span.x" = 1 }');
    assert.equal(canonical('{ parent.span.x = 1 }'), '{ parent.span.x = 1 }');
  });

  it('writes numbers so they read back with the same type and value', () => {
    assert.equal(canonical('{ .a = 1.0 }'), '{ .a = 1.0 }');
    assert.equal(canonical('{ .a = 1. }'), '{ .a = 1.0 }');
    assert.equal(canonical('{ .a = .5 }'), '{ .a = 0.5 }');
    assert.equal(canonical('{ .a = 1e21 }'), '{ .a = 1e+21 }');
    assert.equal(canonical('{ .a = minInt || .a = maxInt }'), '{ .a = minInt || .a = 9223372036854775807 }');
    assert.equal(canonical('{ duration > 1.5s }'), '{ span:duration > 1s500ms }');
    assert.equal(canonical('{ duration > 90m }'), '{ span:duration > 1h30m }');
    assert.equal(canonical('{ duration > 1y }'), '{ span:duration > 8760h }');
    assert.equal(canonical('{ duration > 0ms }'), '{ span:duration > 0s }');
    assert.equal(canonical('{ duration > 1001ns }'), '{ span:duration > 1us1ns }');
  });

  it('prints pipelines, pipeline operations, scalar filters and hints', () => {
    assert.equal(canonical('{}|by(.a)|count()>2|select(.b,name)'), '{} | by(.a) | count() > 2 | select(.b, span:name)');
    assert.equal(canonical('({ true } | count() > 1) && ({ .b })'), '({ true } | count() > 1) && ({ .b })');
    assert.equal(canonical('({ .a } | count()) > ({ .b } | count())'), '({ .a } | count()) > ({ .b } | count())');
    assert.equal(canonical('avg(.f) > -(1 - 3)'), 'avg(.f) > -(1 - 3)');
    // Arithmetic on aggregates (unsupported by validation, as in Tempo) and folded constants.
    for (const [query, printed] of [
      ['{ } | count() * 2 > 10', '{} | count() * 2 > 10'],
      ['{ } | avg(duration) / 2 > 1s', '{} | avg(span:duration) / 2 > 1s'],
      ['{ } | (count() + 1) * 2 > 4', '{} | (count() + 1) * 2 > 4'],
      ['{ } | 10 < count() * (2 + 1)', '{} | 10 < count() * (2 + 1)'],
      ['{ } | count() > (1 + 2) * 3', '{} | count() > (1 + 2) * 3'],
      ['{ } | count() - 1 - 1 > 1 - (1 - 1)', '{} | count() - 1 - 1 > 1 - (1 - 1)'],
    ]) {
      assert.equal(canonical(query), printed, query);
      assert.deepEqual(stripPositions(parseTraceQL(printed)), stripPositions(parseTraceQL(query)), query);
    }
    assert.equal(
      canonical('{} with(most_recent=true) with (sample = 0.1)'),
      '{} with (most_recent = true, sample = 0.1)',
    );
  });

  it('round-trips random trees: parse(print(tree)) is the tree, and printing is stable', () => {
    for (let seed = 1; seed <= 1500; seed++) {
      const tree = randomQuery(seed);
      const text = printTraceQL(tree);
      let parsed: ReturnType<typeof parseTraceQL>;
      try {
        parsed = parseTraceQL(text);
      } catch (error) {
        assert.fail(`seed ${seed}: ${text}\n${(error as Error).message}`);
      }
      assert.deepEqual(stripPositions(parsed), stripPositions(tree), `seed ${seed}: ${text}`);
      assert.equal(printTraceQL(parsed), text, `seed ${seed}`);
    }
  });

  it('refuses what no query text can express', () => {
    const at = { start: 0, end: 0 };
    const attribute = { kind: 'attribute', scope: 'event', parent: true, name: 'x', ...at } as const;
    const query = {
      kind: 'query',
      body: { kind: 'pipeline', stages: [{ kind: 'spansetFilter', expr: attribute, ...at }], ...at },
      hints: [],
      ...at,
    } as const;
    assert.throws(() => printTraceQL(query), RangeError);
    assert.throws(() => printTraceQL({ kind: 'string', value: '\ud800', ...at }), RangeError);
  });
});
