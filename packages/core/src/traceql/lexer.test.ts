import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TraceQLToken } from './lexer.ts';
import { parseDuration, tokenizeTraceQL } from './lexer.ts';
import { TraceQLError } from './traceql-error.ts';

/** Tokens as short strings: `punct:&&`, `attr:span:http.method`, `dur:1000000000` … */
function lex(source: string): string[] {
  return tokenizeTraceQL(source)
    .filter((t) => t.kind !== 'eof')
    .map(show);
}

function show(t: TraceQLToken): string {
  switch (t.kind) {
    case 'attribute':
      return `attr:${t.parent ? 'parent+' : ''}${t.scope}:${t.name}`;
    case 'intrinsic':
      return `intrinsic:${t.name}`;
    case 'duration':
      return `dur:${t.value}`;
    case 'eof':
      return 'eof';
    case 'punct':
      return `punct:${t.value}`;
    default:
      return `${t.kind}:${String(t.value)}`;
  }
}

function lexError(source: string): TraceQLError {
  try {
    tokenizeTraceQL(source);
  } catch (error) {
    assert.ok(error instanceof TraceQLError);
    assert.equal(error.code, 'syntax');
    return error;
  }
  assert.fail(`expected a lexical error for ${source}`);
}

describe('tokenizeTraceQL: attributes (spec §2, §3.1)', () => {
  it('reads each scope prefix and the unscoped dot', () => {
    assert.deepEqual(lex('.a span.a resource.a event.a link.a instrumentation.a'), [
      'attr:none:a',
      'attr:span:a',
      'attr:resource:a',
      'attr:event:a',
      'attr:link:a',
      'attr:instrumentation:a',
    ]);
  });

  it('reads parent., parent.span. and parent.resource.', () => {
    assert.deepEqual(lex('parent.a parent.span.a parent.resource.a parent.event.a'), [
      'attr:parent+none:a',
      'attr:parent+span:a',
      'attr:parent+resource:a',
      'attr:parent+none:event.a',
    ]);
  });

  it('takes only the first prefix as a scope (TestLexerScoping)', () => {
    assert.deepEqual(lex('span.resource.foo .span.foo resource.span.x'), [
      'attr:span:resource.foo',
      'attr:none:span.foo',
      'attr:resource:span.x',
    ]);
  });

  it('takes every character up to whitespace or { } ( ) = ~ ! < > & | ^ , into the name', () => {
    assert.deepEqual(lex('.foo-bar .http+ .a.b.c .😝 .foo.3 .a+1 .a/b*c%d:e'), [
      'attr:none:foo-bar',
      'attr:none:http+',
      'attr:none:a.b.c',
      'attr:none:😝',
      'attr:none:foo.3',
      'attr:none:a+1',
      'attr:none:a/b*c%d:e',
    ]);
    // (`&` alone is no token, so it is tried as `&&`.)
    for (const end of ['{', '}', '(', ')', '=', '~', '!', '<', '>', '&&', '|', '^', ',', ' ', '\t', '\n']) {
      assert.equal(lex(`.a${end}`)[0], 'attr:none:a', JSON.stringify(end));
    }
    // Other Unicode spaces end a name too, but between tokens only Go's four spaces are skipped.
    assert.equal(lexError('.a\u00a0').message, '1:3: unexpected character "\u00a0"');
  });

  it('needs no spaces around = and != but does around arithmetic', () => {
    assert.deepEqual(lex('.a=.b'), ['attr:none:a', 'punct:=', 'attr:none:b']);
    assert.deepEqual(lex('.a!=5'), ['attr:none:a', 'punct:!=', 'int:5']);
    assert.deepEqual(lex('.a + 1'), ['attr:none:a', 'punct:+', 'int:1']);
  });

  it('treats an intrinsic name after a dot as an attribute name', () => {
    assert.deepEqual(lex('.name span.duration resource.status'), [
      'attr:none:name',
      'attr:span:duration',
      'attr:resource:status',
    ]);
  });

  it('decodes quoted name segments, where only \\" and \\\\ are escapes', () => {
    assert.deepEqual(lex('."foo bar" span."a b".c .foo."x \\" y" ."a\\\\b" ."" .a"b c"d'), [
      'attr:none:foo bar',
      'attr:span:a b.c',
      'attr:none:foo.x " y',
      'attr:none:a\\b',
      'attr:none:',
      'attr:none:ab cd',
    ]);
    assert.deepEqual(lex('."tab\there"'), ['attr:none:tab\there']);
    assert.match(lexError('."a\\nb"').message, /^1:4: invalid escape in a quoted attribute name/);
    assert.match(lexError('."abc').message, /^1:2: unterminated quoted attribute name/);
  });

  it('rejects a scope with no name after it', () => {
    assert.equal(lexError('{ . }').message, '1:4: expected an attribute name after "."');
    assert.equal(lexError('{ span. }').message, '1:8: expected an attribute name after "span."');
    assert.equal(lexError('. foo').message, '1:2: expected an attribute name after "."');
  });

  it('reads a dot followed by a digit as a float, not an attribute', () => {
    assert.deepEqual(lex('.5 span.5'), ['float:0.5', 'attr:span:5']);
  });
});

describe('tokenizeTraceQL: intrinsics (spec §3.2)', () => {
  it('reads every scoped intrinsic of the spec table', () => {
    const names = [
      'span:name',
      'span:status',
      'span:statusMessage',
      'span:kind',
      'span:duration',
      'span:id',
      'span:parentID',
      'span:childCount',
      'trace:duration',
      'trace:rootName',
      'trace:rootService',
      'trace:id',
      'event:name',
      'event:timeSinceStart',
      'link:traceID',
      'link:spanID',
      'instrumentation:name',
      'instrumentation:version',
    ];
    assert.deepEqual(
      lex(names.join(' ')),
      names.map((n) => `intrinsic:${n}`),
    );
  });

  it('leaves unscoped intrinsics as words for the parser', () => {
    assert.deepEqual(lex('duration name status statusMessage kind traceDuration rootName rootServiceName'), [
      'word:duration',
      'word:name',
      'word:status',
      'word:statusMessage',
      'word:kind',
      'word:traceDuration',
      'word:rootName',
      'word:rootServiceName',
    ]);
  });

  it('rejects scope and name combinations that do not exist (TestScopedIntrinsics)', () => {
    for (const bad of ['trace:status', 'trace:kind', 'trace:name', 'trace:rootServiceName', 'span:rootName']) {
      assert.equal(lexError(`{ ${bad} = 1 }`).message, `1:3: unknown intrinsic "${bad}"`);
    }
    assert.equal(lexError('{ span: }').message, '1:8: expected an intrinsic name after "span:"');
    assert.equal(lexError('{ :duration }').message, '1:3: unexpected character ":"');
  });
});

describe('tokenizeTraceQL: numbers and durations (spec §2)', () => {
  it('reads decimal integers, and floats with a dot or an exponent', () => {
    assert.deepEqual(lex('0 42 1.5 .5 1. 1e3 2.5E-2 9223372036854775807'), [
      'int:0',
      'int:42',
      'float:1.5',
      'float:0.5',
      'float:1',
      'float:1000',
      'float:0.025',
      'int:9223372036854775807',
    ]);
  });

  it('rejects integers beyond int64 and floats beyond float64', () => {
    assert.equal(
      lexError('{ .a = 9223372036854775808 }').message,
      '1:8: integer 9223372036854775808 is out of range (int64)',
    );
    assert.equal(lexError('{ .a = 1e400 }').message, '1:8: float 1e400 is out of range');
  });

  it('reads every duration unit, compound and fractional forms, and 1y as 365 days', () => {
    const s = 1_000_000_000n;
    assert.deepEqual(lex('1ns 2us 3µs 4ms 5s 6m 7h 1d 1w 1y'), [
      'dur:1',
      'dur:2000',
      'dur:3000',
      'dur:4000000',
      `dur:${5n * s}`,
      `dur:${360n * s}`,
      `dur:${7n * 3600n * s}`,
      `dur:${86_400n * s}`,
      `dur:${7n * 86_400n * s}`,
      `dur:${365n * 86_400n * s}`,
    ]);
    assert.deepEqual(lex('1h15m30.918273645s 1.5m 1.5s .5s 1h2m3s'), [
      `dur:${(3600n + 15n * 60n + 30n) * s + 918_273_645n}`,
      `dur:${90n * s}`,
      'dur:1500000000',
      'dur:500000000',
      `dur:${3723n * s}`,
    ]);
  });

  it('leaves a number alone when the letters after it do not make a duration', () => {
    assert.deepEqual(lex('1x'), ['int:1', 'word:x']);
    assert.deepEqual(lex('5sec'), [`dur:5000000000`, 'word:ec']);
    assert.deepEqual(lex('1.5d'), ['float:1.5', 'word:d']);
    assert.deepEqual(lex('10 s'), ['int:10', 'word:s']);
  });

  it('parses durations with Prometheus syntax first and Go syntax second', () => {
    assert.equal(parseDuration('1d12h'), 129_600_000_000_000n);
    assert.equal(parseDuration('30m1h'), 5_400_000_000_000n); // Go: any order
    assert.equal(parseDuration('1h1d'), undefined); // Prometheus needs order, Go has no "d"
    assert.equal(parseDuration('1.5d'), undefined);
    assert.equal(parseDuration('1hm'), undefined);
    assert.equal(parseDuration('.s'), undefined);
    assert.equal(parseDuration('2562047h47m16s854ms775us807ns'), (1n << 63n) - 1n);
    assert.equal(parseDuration('2562048h'), undefined);
  });
});

describe('tokenizeTraceQL: strings (spec §2)', () => {
  it('decodes Go escapes in double-quoted strings', () => {
    assert.deepEqual(lex('"a\\"b" "\\\\" "\\n\\t\\r" "\\x41\\101\\u00e9\\U0001F61D" "\\a\\b\\f\\v"'), [
      'string:a"b',
      'string:\\',
      'string:\n\t\r',
      'string:AAé😝',
      'string:\x07\b\f\v',
    ]);
  });

  it('decodes byte escapes as UTF-8, replacing invalid sequences', () => {
    assert.deepEqual(lex('"\\xc3\\xa9" "\\xff"'), ['string:é', 'string:\ufffd']);
  });

  it('keeps raw back-tick strings as written, without carriage returns', () => {
    assert.deepEqual(lex('`a\\.b` `two\r\nlines`'), ['string:a\\.b', 'string:two\nlines']);
  });

  it('rejects bad escapes, unterminated strings and single quotes', () => {
    assert.equal(lexError('{ .a = "\\q" }').message, '1:9: invalid escape "\\q" in string');
    assert.equal(lexError('{ .a = "\\\'" }').message, '1:9: invalid escape "\\\'" in string');
    assert.match(lexError('{ .a = "\\x4" }').message, /^1:9: invalid escape "\\x": expected 2 hexadecimal digits/);
    assert.match(lexError('{ .a = "\\ud800" }').message, /^1:9: escape is not a valid Unicode code point/);
    assert.match(lexError('{ .a = "\\400" }').message, /^1:9: invalid octal escape/);
    assert.match(lexError('{ .a = "abc }').message, /^1:8: unterminated string/);
    assert.match(lexError('{ .a = "a\nb" }').message, /^1:8: unterminated string/);
    assert.match(lexError('{ .a = `abc }').message, /^1:8: unterminated raw string/);
    assert.equal(lexError("{ .a = 'x' }").message, '1:8: unexpected character "\'"');
  });
});

describe('tokenizeTraceQL: operators, keywords and comments', () => {
  it('matches multi-character operators longest first', () => {
    const ops = ['!>>', '!<<', '&>>', '&<<', '!=', '!~', '!>', '!<', '=~', '<=', '>=', '>>', '<<', '&&', '||'];
    assert.deepEqual(
      lex(ops.join(' ')),
      ops.map((o) => `punct:${o}`),
    );
    assert.deepEqual(lex('&> &< &~ { } ( ) , = < > ~ ! | + - * / % ^'), [
      'punct:&>',
      'punct:&<',
      'punct:&~',
      ...'{ } ( ) , = < > ~ ! | + - * / % ^'.split(' ').map((o) => `punct:${o}`),
    ]);
    assert.deepEqual(lex('}!>>{'), ['punct:}', 'punct:!>>', 'punct:{']);
    assert.deepEqual(lex('=='), ['punct:=', 'punct:=']);
  });

  it('rejects a lone & and characters that start no token', () => {
    assert.equal(lexError('{} & {}').message, '1:4: unexpected character "&"');
    assert.equal(lexError('[ true ]').message, '1:1: unexpected character "["');
  });

  it('reads keywords and identifiers as words', () => {
    assert.deepEqual(lex('true nil ok unset server count with minInt foo_1 é'), [
      'word:true',
      'word:nil',
      'word:ok',
      'word:unset',
      'word:server',
      'word:count',
      'word:with',
      'word:minInt',
      'word:foo_1',
      'word:é',
    ]);
  });

  it('skips // and /* */ comments, but not inside attribute names', () => {
    assert.deepEqual(lex('{ // line\n true /* block\n */ }'), ['punct:{', 'word:true', 'punct:}']);
    assert.deepEqual(lex('.a//b'), ['attr:none:a//b']);
    assert.match(lexError('{ /* open').message, /^1:3: unterminated comment/);
  });
});

describe('tokenizeTraceQL: positions', () => {
  it('gives offsets, 1-based lines and columns, and the source text of each token', () => {
    const tokens = tokenizeTraceQL('{ span.a = "x" }\n  && { duration > 1s }');
    const picked = tokens.map((t) => [t.text, t.start, t.end, t.line, t.col]);
    assert.deepEqual(picked, [
      ['{', 0, 1, 1, 1],
      ['span.a', 2, 8, 1, 3],
      ['=', 9, 10, 1, 10],
      ['"x"', 11, 14, 1, 12],
      ['}', 15, 16, 1, 16],
      ['&&', 19, 21, 2, 3],
      ['{', 22, 23, 2, 6],
      ['duration', 24, 32, 2, 8],
      ['>', 33, 34, 2, 17],
      ['1s', 35, 37, 2, 19],
      ['}', 38, 39, 2, 22],
      ['', 39, 39, 2, 23],
    ]);
  });

  it('counts columns in code points, so an emoji is one column', () => {
    const tokens = tokenizeTraceQL('{ .😝😝 = 1 }');
    assert.deepEqual(
      tokens.map((t) => [t.text, t.start, t.col]),
      [
        ['{', 0, 1],
        ['.😝😝', 2, 3],
        ['=', 8, 7],
        ['1', 10, 9],
        ['}', 12, 11],
        ['', 13, 12],
      ],
    );
    assert.equal(lexError('{ .😝😝 = "\\q" }').message, '1:10: invalid escape "\\q" in string');
  });

  it('reports errors on later lines with their line and column', () => {
    const error = lexError('{ .a = 1 }\n&& { .b = "\\z" }');
    assert.deepEqual([error.line, error.col, error.offset, error.end], [2, 12, 22, 24]);
    assert.equal(error.reason, 'invalid escape "\\z" in string');
  });
});
