import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTraceState, parseTraceState } from './trace-state.ts';

const entries = (header: string | string[]) =>
  parseTraceState(header)
    ?.entries()
    .map(([k, v]) => `${k}=${v}`);
const members = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => {
    const n = String(from + i).padStart(2, '0');
    return `bar${n}=${n}`;
  }).join(',');

describe('parseTraceState', () => {
  it('reads the spec examples in order (§3.3.5)', () => {
    assert.deepEqual(entries('rojo=00f067aa0ba902b7'), ['rojo=00f067aa0ba902b7']);
    assert.deepEqual(entries('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'), [
      'rojo=00f067aa0ba902b7',
      'congo=t61rcWkgMzE',
    ]);
    assert.equal(parseTraceState('congo=ucfJifl5GOE,rojo=00f067aa0ba902b7')?.get('congo'), 'ucfJifl5GOE');
  });

  it('combines several tracestate headers in order, as one comma-joined header (§3.3.2)', () => {
    assert.deepEqual(entries(['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3']), [
      'foo=1',
      'bar=2',
      'rojo=1',
      'congo=2',
      'baz=3',
    ]);
  });

  it('accepts an empty header and empty or whitespace-only members (§3.3.2)', () => {
    assert.equal(parseTraceState('')?.size, 0);
    assert.equal(parseTraceState(' \t ')?.size, 0);
    assert.deepEqual(entries(['foo=1', '']), ['foo=1']);
    assert.deepEqual(entries(['', 'foo=1']), ['foo=1']);
    assert.deepEqual(entries('foo=1,,  ,bar=2'), ['foo=1', 'bar=2']);
  });

  it('ignores spaces and tabs around members (test suite OWS handling)', () => {
    assert.deepEqual(entries('foo=1 \t , \t bar=2, \t baz=3'), ['foo=1', 'bar=2', 'baz=3']);
    assert.deepEqual(entries('foo=1\t \t,\t \tbar=2,\t \tbaz=3'), ['foo=1', 'bar=2', 'baz=3']);
    for (const h of [' foo=1', '\tfoo=1', 'foo=1 ', 'foo=1\t', '\t foo=1 \t']) assert.deepEqual(entries(h), ['foo=1']);
  });

  it('keeps leading spaces of a value as part of it (§3.3.2.2.2)', () => {
    assert.equal(parseTraceState('foo=  1')?.get('foo'), '  1');
  });

  it('accepts every character the key and value grammars allow (test suite)', () => {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
    const value = [
      [0x20, 0x2b],
      [0x2d, 0x3c],
      [0x3e, 0x7e],
    ]
      .flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => String.fromCharCode(a + i)))
      .join('');
    assert.equal(parseTraceState(`${key}=${value}`)?.get(key), value);
    assert.equal(parseTraceState(`${key}@a-z0-9_-*/=${value}`)?.get(`${key}@a-z0-9_-*/`), value);
  });

  it('accepts multi-tenant tenant@system keys and keys starting with a digit (Level 2 key grammar, §3.3.2.2.1)', () => {
    assert.equal(parseTraceState('fw529a3039@dt=FooBar,congo=1')?.get('fw529a3039@dt'), 'FooBar');
    assert.equal(parseTraceState('1congo=1')?.get('1congo'), '1');
    // The Level 1 grammar capped tenant-id at 241 and system-id at 14 characters; Level 2 does not.
    assert.equal(parseTraceState(`${'t'.repeat(242)}@v=1`)?.size, 1);
    assert.equal(parseTraceState(`t@${'v'.repeat(15)}=1`)?.size, 1);
    assert.equal(parseTraceState(`${'t'.repeat(241)}@${'v'.repeat(14)}=1`)?.size, 1);
  });

  it('discards the whole header for an illegal key (§3.3.2.2.1, test suite)', () => {
    for (const h of ['foo =1', 'FOO=1', 'foo.bar=1', '@foo=1,bar=2', '_foo=1,bar=2', '=1,bar=2', 'bar=2,foo']) {
      assert.equal(parseTraceState(h), undefined, h);
    }
  });

  it('limits keys to 256 characters (§3.3.2.2.1, test suite)', () => {
    assert.equal(parseTraceState(['foo=1', `${'z'.repeat(256)}=1`])?.get('foo'), '1');
    assert.equal(parseTraceState(['foo=1', `${'z'.repeat(257)}=1`]), undefined);
  });

  it('discards the whole header for an illegal value (§3.3.2.2.2, test suite)', () => {
    for (const h of ['foo=bar=baz', 'foo=,bar=3', 'foo=', 'foo=a\tb', 'foo=caf\u00e9']) {
      assert.equal(parseTraceState(h), undefined, h);
    }
  });

  it('limits values to 256 characters (§3.3.2.2.2)', () => {
    assert.equal(parseTraceState(`foo=${'v'.repeat(256)}`)?.size, 1);
    assert.equal(parseTraceState(`foo=${'v'.repeat(257)}`), undefined);
  });

  it('keeps the first member of a repeated key and drops later ones, also across headers (§3.5, test suite level 2)', () => {
    assert.deepEqual(entries('foo=1,foo=1'), ['foo=1']);
    assert.deepEqual(entries('foo=1,foo=2'), ['foo=1']);
    assert.deepEqual(entries(['foo=1', 'foo=1']), ['foo=1']);
    assert.deepEqual(entries(['foo=1', 'foo=2']), ['foo=1']);
    assert.deepEqual(entries('foo=1,bar=2,foo=3,baz=4'), ['foo=1', 'bar=2', 'baz=4']);
    const state = parseTraceState('foo=1,foo=2')!;
    assert.equal(state.size, 1);
    assert.equal(state.get('foo'), '1');
    assert.equal(state.set('foo', '9').serialize(), 'foo=9');
  });

  it('still discards the whole header when a repeated key comes with an invalid member (§3.3.2.2)', () => {
    assert.equal(parseTraceState('foo=1,foo=2,BAR=3'), undefined);
    assert.equal(parseTraceState('foo=1,foo='), undefined);
  });

  it('counts repeated keys towards the 32-member limit, which is on the header as sent (§3.3.2.1)', () => {
    assert.equal(parseTraceState([members(1, 31), 'bar01=x'])?.size, 31);
    assert.equal(parseTraceState([members(1, 32), 'bar01=x']), undefined);
  });

  it('accepts 32 members and discards 33 (§3.3.2.1, test suite)', () => {
    const ok = parseTraceState([members(1, 10), members(11, 20), members(21, 30), members(31, 32)]);
    assert.equal(ok?.size, 32);
    assert.equal(ok?.get('bar01'), '01');
    assert.equal(parseTraceState([members(1, 10), members(11, 20), members(21, 30), members(31, 33)]), undefined);
  });
});

describe('TraceState mutations', () => {
  it('set adds a new key to the left, as Rojo does in the spec example (§3.3, §3.5)', () => {
    const state = parseTraceState('congo=t61rcWkgMzE')!.set('rojo', '00f067aa0ba902b7');
    assert.equal(state.serialize(), 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
  });

  it('set moves an updated key to the front and keeps the order of the others (§3.5)', () => {
    const state = parseTraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')!.set('congo', 'ucfJifl5GOE');
    assert.equal(state.serialize(), 'congo=ucfJifl5GOE,rojo=00f067aa0ba902b7');
    const three = parseTraceState('a=1,b=2,c=3')!.set('c', '4');
    assert.equal(three.serialize(), 'c=4,a=1,b=2');
  });

  it('set never changes the original value', () => {
    const before = parseTraceState('a=1,b=2')!;
    before.set('b', '3');
    before.unset('a');
    assert.equal(before.serialize(), 'a=1,b=2');
  });

  it('set drops the right-most member when a new key would make 33 (§3.3.2.1)', () => {
    const full = parseTraceState(members(1, 32))!;
    const next = full.set('new', 'x');
    assert.equal(next.size, 32);
    assert.equal(next.entries()[0][0], 'new');
    assert.equal(next.get('bar32'), undefined);
    assert.equal(next.get('bar31'), '31');
  });

  it('set refuses keys and values outside the grammar', () => {
    const state = createTraceState();
    assert.throws(() => state.set('Foo', '1'), RangeError);
    assert.throws(() => state.set('foo', 'a,b'), RangeError);
    assert.throws(() => state.set('foo', 'a='), RangeError);
    assert.throws(() => state.set('foo', 'trailing '), RangeError);
  });

  it('unset deletes a key and keeps the order of the others (§3.5)', () => {
    assert.equal(parseTraceState('a=1,b=2,c=3')!.unset('b').serialize(), 'a=1,c=3');
    assert.equal(parseTraceState('a=1')!.unset('zzz').serialize(), 'a=1');
  });

  it('createTraceState refuses duplicates and more than 32 members', () => {
    assert.throws(
      () =>
        createTraceState([
          ['a', '1'],
          ['a', '2'],
        ]),
      RangeError,
    );
    assert.throws(() => createTraceState(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'] as const)), RangeError);
  });
});

describe('TraceState.serialize truncation (§3.3.3.1)', () => {
  it('leaves a header of 512 characters or less alone', () => {
    const state = createTraceState([
      ['a', 'x'.repeat(250)],
      ['b', 'y'.repeat(255)],
    ]);
    assert.equal(state.serialize().length, 2 + 250 + 1 + 2 + 255);
    assert.equal(state.size, 2);
  });

  it('drops members longer than 128 characters first, then members from the end', () => {
    const long = 'l'.repeat(200); // member "long=..." is 205 characters
    const state = createTraceState([
      ['first', 'x'.repeat(100)],
      ['long', long],
      ['second', 'y'.repeat(100)],
      ['third', 'z'.repeat(100)],
      ['fourth', 'w'.repeat(100)],
    ]);
    // 106 + 205 + 107 + 106 + 107 + 4 commas = 635 > 512: dropping "long" gives 429, which fits.
    const out = state.serialize();
    assert.equal(out.includes('long='), false);
    assert.deepEqual(
      out.split(',').map((m) => m.split('=')[0]),
      ['first', 'second', 'third', 'fourth'],
    );
    // Then from the end: with a 300-character limit, "fourth" and "third" go as well.
    assert.deepEqual(
      state
        .serialize({ maxLength: 300 })
        .split(',')
        .map((m) => m.split('=')[0]),
      ['first', 'second'],
    );
  });

  it('keeps short members even when they are at the end, if removing long ones is enough', () => {
    const state = createTraceState([
      ['a', 'a'.repeat(200)],
      ['b', 'b'.repeat(200)],
      ['c', 'c'.repeat(200)],
      ['tail', '1'],
    ]);
    // Right-most long members go first; "tail" stays.
    assert.equal(state.serialize(), `a=${'a'.repeat(200)},b=${'b'.repeat(200)},tail=1`);
  });

  it('never cuts a member in half', () => {
    const state = createTraceState(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v'.repeat(40)] as const));
    const out = state.serialize();
    assert.ok(out.length <= 512);
    for (const member of out.split(',')) assert.match(member, /^k\d+=v{40}$/);
    assert.equal(out.split(',')[0], `k0=${'v'.repeat(40)}`);
  });
});
