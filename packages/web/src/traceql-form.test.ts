import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTraceQL, type FieldExpression } from '@ariadne/core';
import {
  type FormFilters,
  formToTraceQL,
  traceQLAttributeName,
  traceQLDuration,
  traceQLString,
} from './traceql-form.ts';

const EMPTY: FormFilters = { service: '', operation: '', status: '', minDuration: '', maxDuration: '', attrs: [''] };

/** The `&&` chain of the query's only spanset filter, each as [field, op, literal value]. */
function conditions(text: string): [string, string, unknown][] {
  const body = compileTraceQL(text).body;
  assert.ok(body.kind === 'pipeline' && body.stages.length === 1);
  const filter = body.stages[0];
  assert.equal(filter.kind, 'spansetFilter');
  const out: [string, string, unknown][] = [];
  const walk = (e: FieldExpression | undefined): void => {
    if (e === undefined) return;
    assert.equal(e.kind, 'binary');
    if (e.op === '&&') {
      walk(e.lhs);
      walk(e.rhs);
      return;
    }
    if (e.op === '||' && e.lhs.kind === 'binary' && e.rhs.kind === 'binary') {
      // A value that spells a number: the text, or the number (see formAttributeCondition).
      const before = out.length;
      walk(e.lhs);
      walk(e.rhs);
      const [first, second] = out.splice(before, 2);
      out.push([...first, '||', second[1], second[2]] as unknown as [string, string, unknown]);
      return;
    }
    const field =
      e.lhs.kind === 'attribute' ? `${e.lhs.scope}:${e.lhs.name}` : e.lhs.kind === 'intrinsic' ? e.lhs.name : '?';
    const value = 'value' in e.rhs ? e.rhs.value : 'nanos' in e.rhs ? e.rhs.nanos : e.rhs.kind;
    out.push([field, e.op, value]);
  };
  walk(filter.expr);
  return out;
}

describe('formToTraceQL', () => {
  it('writes an empty form as {}', () => {
    assert.equal(formToTraceQL(EMPTY), '{}');
    assert.deepEqual(conditions('{}'), []);
  });

  it('writes every filter as Grafana does, joined by &&', () => {
    const text = formToTraceQL({
      service: 'frontend',
      operation: 'GET /api',
      status: 'error',
      minDuration: '100ms',
      maxDuration: '1.5s',
      attrs: ['http.status_code=500', '', 'customer.tier=gold'],
    });
    assert.equal(
      text,
      '{resource.service.name="frontend" && name="GET /api" && status=error && duration>=100ms && ' +
        'duration<=1.5s && (.http.status_code = "500" || .http.status_code = 500) && .customer.tier = "gold"}',
    );
    assert.deepEqual(conditions(text), [
      ['resource:service.name', '=', 'frontend'],
      ['span:name', '=', 'GET /api'],
      ['span:status', '=', 'error'],
      ['span:duration', '>=', 100_000_000n],
      ['span:duration', '<=', 1_500_000_000n],
      ['none:http.status_code', '=', '500', '||', '=', 500n],
      ['none:customer.tier', '=', 'gold'],
    ]);
  });

  it('escapes quotes, backslashes and control characters so the values come back unchanged', () => {
    const nasty = 'say "hi" \\ to\n\t<img src=x>\u0001';
    const text = formToTraceQL({ ...EMPTY, service: nasty, operation: '`raw`', attrs: [`k=${nasty}`] });
    assert.deepEqual(conditions(text), [
      ['resource:service.name', '=', nasty],
      ['span:name', '=', '`raw`'],
      ['none:k', '=', nasty],
    ]);
  });

  it('quotes attribute names the lexer would cut or misread', () => {
    for (const name of ['a b', 'x=y', 'brace{', '5xx', 'quote"d', 'back\\slash', 'tab\tkey', 'a,b']) {
      const text = formToTraceQL({ ...EMPTY, attrs: [`${name}=v`] });
      // A name holding "=" splits at its first "=", as the form's search does.
      const key = name.includes('=') ? name.slice(0, name.indexOf('=')) : name;
      const value = name.includes('=') ? `${name.slice(name.indexOf('=') + 1)}=v` : 'v';
      assert.deepEqual(conditions(text), [[`none:${key}`, '=', value]], text);
    }
    assert.equal(traceQLAttributeName('http.method'), 'http.method');
    assert.equal(traceQLAttributeName('a b'), '"a b"');
    assert.equal(traceQLAttributeName('5xx'), '"5xx"');
  });

  it('compares numbers and booleans as text and as values, and keeps the form split at the first "="', () => {
    const text = formToTraceQL({ ...EMPTY, attrs: ['n=-7', 'f=1.25', 'b=true', 'e=a=b', 'big=123456789012345678901'] });
    assert.deepEqual(conditions(text).slice(1), [
      ['none:f', '=', '1.25', '||', '=', 1.25],
      ['none:b', '=', 'true', '||', '=', true],
      ['none:e', '=', 'a=b'],
      ['none:big', '=', '123456789012345678901'],
    ]);
    assert.match(text, /\(\.n = "-7" \|\| \.n = -7\)/);
  });

  it('gives durations the unit the form assumes (milliseconds)', () => {
    assert.equal(traceQLDuration('250'), '250ms');
    assert.equal(traceQLDuration('1.5s'), '1.5s');
    assert.equal(traceQLDuration('2d'), '2d');
    assert.equal(traceQLDuration('soon'), 'soon');
    assert.deepEqual(conditions(formToTraceQL({ ...EMPTY, minDuration: ' 250 ' })), [
      ['span:duration', '>=', 250_000_000n],
    ]);
  });

  it('refuses nothing the form accepts, and a bad duration shows as a bad query', () => {
    assert.throws(() => compileTraceQL(formToTraceQL({ ...EMPTY, minDuration: 'soon' })));
    assert.equal(traceQLString(''), '""');
  });
});
