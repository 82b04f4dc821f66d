import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { re2SyntaxError } from './re2-syntax.ts';

describe('re2SyntaxError', () => {
  it('accepts RE2 syntax', () => {
    const valid = [
      '',
      'abc',
      'a|b|',
      '.*foo.*',
      '^a$',
      '^*',
      'a*?b+?c??',
      'a{2}b{2,}c{2,5}d{0,1000}?',
      'a{,5}',
      'a{01}',
      '{',
      'x{y}',
      '(a)(?:b)(?i)c(?i:d)(?-s:e)(?im-sU:f)(?)',
      '(?P<name>a)(?<other>b)',
      '[abc][^abc][a-z0-9_][]a][^]a][a-][-a]',
      '[[:alpha:]][[:^digit:]][\\d\\s\\W][\\p{Greek}]',
      '\\d\\D\\s\\S\\w\\W\\b\\B\\A\\z',
      '\\pL\\p{Lu}\\PN\\p{^Greek}\\p{Han}\\p{Any}\\p{Letter}',
      '\\x41\\x{1F61D}\\101\\0\\07\\12',
      '\\.\\*\\\\\\/\\-\\ \\a\\f\\n\\r\\t\\v',
      '\\Qa.b*c\\E+',
      '\\Qunterminated',
      'é+😝*',
    ];
    for (const pattern of valid) assert.equal(re2SyntaxError(pattern), undefined, pattern);
  });

  it('finds the errors Go reports while parsing', () => {
    const cases: [string, string][] = [
      ['[', 'missing closing ]: `[`'],
      ['[a', 'missing closing ]: `[a`'],
      ['[]', 'missing closing ]: `[]`'],
      ['(a', 'missing closing ): `(a`'],
      ['a)', 'unexpected ): `a)`'],
      ['*a', 'missing argument to repetition operator: `*`'],
      ['a|+b', 'missing argument to repetition operator: `+`'],
      ['(?)*', 'missing argument to repetition operator: `*`'],
      ['(*)', 'missing argument to repetition operator: `*`'],
      ['a**', 'invalid nested repetition operator: `**`'],
      ['a*??', 'invalid nested repetition operator: `??`'],
      ['a{1001}', 'invalid repeat count: `{1001}`'],
      ['a{2,1}', 'invalid repeat count: `{2,1}`'],
      ['a\\', 'trailing backslash at end of expression: ``'],
      ['\\1', 'invalid escape sequence: `\\1`'],
      ['\\Z', 'invalid escape sequence: `\\Z`'],
      ['\\C', 'invalid escape sequence: `\\C`'],
      ['\\q', 'invalid escape sequence: `\\q`'],
      ['\\x4', 'invalid escape sequence: `\\x`'],
      ['\\x{110000}', 'invalid escape sequence: `\\x`'],
      ['[\\b]', 'invalid escape sequence: `\\b`'],
      ['\\p{Nope}', 'invalid character class range: `\\p{Nope}`'],
      ['\\p{Greek', 'invalid character class range: `\\p{Greek`'],
      ['(?=a)', 'invalid or unsupported Perl syntax: `(?=`'],
      ['(?!a)', 'invalid or unsupported Perl syntax: `(?!`'],
      ['(?<=a)', 'invalid or unsupported Perl syntax: `(?<`'],
      ['(?#c)', 'invalid or unsupported Perl syntax: `(?#`'],
      ['(?i-)', 'invalid or unsupported Perl syntax: `(?i-)`'],
      ['(?P=n)', 'invalid or unsupported Perl syntax: `(?P`'],
      ['(?P<>a)', 'invalid named capture: `(?P<>`'],
      ['(?P<a-b>x)', 'invalid named capture: `(?P<a-b>`'],
      ['(?P<n>a)(?P<n>b)', 'duplicate capture group name: `n`'],
      ['[z-a]', 'invalid character class range: `z-a`'],
      ['[[:nope:]]', 'invalid character class range: `[:nope:]`'],
    ];
    for (const [pattern, message] of cases) assert.equal(re2SyntaxError(pattern), message, pattern);
  });
});
