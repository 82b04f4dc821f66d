import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBaggage, decodeBaggageValue, encodeBaggageValue, parseBaggage, serializeBaggage } from './baggage.ts';
import { createBaggagePropagator } from './baggage-propagator.ts';
import type { Baggage } from './context.ts';
import { ROOT_CONTEXT, withBaggage } from './context.ts';
import type { HeaderRecord } from './text-map.ts';
import { headerRecordGetter, headerRecordSetter } from './text-map.ts';

const plain = (b: Baggage) =>
  Object.fromEntries([...b].map(([k, e]) => [k, e.metadata ? [e.value, e.metadata] : e.value]));

describe('parseBaggage', () => {
  it('reads the spec example with properties and optional whitespace (§Example)', () => {
    const b = parseBaggage('key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue');
    assert.deepEqual(plain(b), {
      key1: ['value1', 'property1;property2'],
      key2: 'value2',
      key3: ['value3', 'propertyKey=propertyValue'],
    });
  });

  it('percent-decodes values: serverNode=DF%2028 is "DF 28" (§Examples of HTTP headers)', () => {
    assert.deepEqual(plain(parseBaggage('userId=alice,serverNode=DF%2028,isProduction=false')), {
      userId: 'alice',
      serverNode: 'DF 28',
      isProduction: 'false',
    });
  });

  it('combines several baggage headers in order (§Examples of HTTP headers)', () => {
    assert.deepEqual(
      [...parseBaggage(['userId=alice', 'serverNode=DF%2028,isProduction=false']).keys()],
      ['userId', 'serverNode', 'isProduction'],
    );
  });

  it('trims spaces around keys and values (§key, §value)', () => {
    assert.deepEqual(plain(parseBaggage(['userId =   alice', 'serverNode = DF%2028, isProduction = false'])), {
      userId: 'alice',
      serverNode: 'DF 28',
      isProduction: 'false',
    });
  });

  it('allows "=" inside a value (§value: parsers MUST NOT assume "=" only separates key and value)', () => {
    assert.equal(parseBaggage('token=abc==,x=1').get('token')?.value, 'abc==');
  });

  it('decodes UTF-8 and replaces invalid UTF-8 sequences with U+FFFD (§value)', () => {
    assert.equal(parseBaggage('city=M%C3%BCnchen').get('city')?.value, 'München');
    assert.equal(parseBaggage('bad=%FFok').get('bad')?.value, '\uFFFDok');
    assert.equal(parseBaggage('cut=%E2%82').get('cut')?.value, '\uFFFD');
  });

  it('skips invalid members and keeps the valid ones', () => {
    const b = parseBaggage('good=1,no-equals,bad key=2,quote="x",semi=a;;,(paren)=3,back=a\\b,ok=2');
    assert.deepEqual(plain(b), { good: '1', ok: '2' });
  });

  it('allows an empty value (value = *baggage-octet)', () => {
    assert.equal(parseBaggage('empty=').get('empty')?.value, '');
  });

  it('keeps the last value of a repeated key', () => {
    assert.equal(parseBaggage('k=1,k=2').get('k')?.value, '2');
  });

  it('keeps 64 members and drops the rest whole (§Limits)', () => {
    const header = Array.from({ length: 70 }, (_, i) => `k${i}=v${i}`).join(',');
    const b = parseBaggage(header);
    assert.equal(b.size, 64);
    assert.equal(b.get('k63')?.value, 'v63');
    assert.equal(b.get('k64'), undefined);
  });

  it('keeps members while the header fits in 8192 bytes, never part of a member (§Limits)', () => {
    const big = 'x'.repeat(4000);
    const b = parseBaggage([`a=${big}`, `b=${big}`, `c=${big}`, 'd=1']);
    // a (4002) + "," + b (4002) = 8005 bytes; c would make 12008, d would make 8009.
    assert.deepEqual([...b.keys()], ['a', 'b']);
  });

  it('limits apply to all baggage headers together, not to each one (§Limits)', () => {
    const half = Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(',');
    const other = Array.from({ length: 40 }, (_, i) => `j${i}=v`).join(',');
    assert.equal(parseBaggage([half, other]).size, 64);
  });
});

describe('serializeBaggage', () => {
  it('percent-encodes values: "DF 28" is written DF%2028 (§Examples of HTTP headers)', () => {
    assert.equal(
      serializeBaggage(createBaggage({ userId: 'alice', serverNode: 'DF 28', isProduction: 'false' })),
      'userId=alice,serverNode=DF%2028,isProduction=false',
    );
  });

  it('encodes the percent sign and everything outside baggage-octet, as UTF-8 (§value)', () => {
    assert.equal(encodeBaggageValue('100% "ok", a;b\\c'), '100%25%20%22ok%22%2C%20a%3Bb%5Cc');
    assert.equal(encodeBaggageValue('München'), 'M%C3%BCnchen');
    assert.equal(encodeBaggageValue('a=b/c?d'), 'a=b/c?d');
    assert.equal(decodeBaggageValue(encodeBaggageValue('100% "ok", a;b\\c München')), '100% "ok", a;b\\c München');
  });

  it('writes properties after the value (§property)', () => {
    assert.equal(
      serializeBaggage(createBaggage({ key1: { value: 'value1', metadata: 'property1;property2' } })),
      'key1=value1;property1;property2',
    );
  });

  it('round-trips the spec example', () => {
    const header = 'key1=value1;property1;property2,key2=value2,key3=value3;propertyKey=propertyValue';
    assert.equal(serializeBaggage(parseBaggage(header)), header);
  });

  it('leaves out keys that are not tokens and metadata that breaks the grammar', () => {
    assert.equal(
      serializeBaggage(createBaggage({ 'bad key': 'x', good: 'y', meta: { value: 'z', metadata: 'a b' } })),
      'good=y',
    );
  });

  it('writes at most 64 members (§Limits)', () => {
    const entries = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, 'v']));
    assert.equal(serializeBaggage(createBaggage(entries)).split(',').length, 64);
  });

  it('writes at most 8192 bytes and drops whole members only (§Limits)', () => {
    const out = serializeBaggage(createBaggage({ a: 'x'.repeat(5000), b: 'y'.repeat(5000), c: 'small' }));
    assert.equal(out, `a=${'x'.repeat(5000)},c=small`);
    assert.ok(new TextEncoder().encode(out).length <= 8192);
  });

  it('counts bytes after percent-encoding', () => {
    // 3000 "ü" are 6000 UTF-8 bytes, 18000 once percent-encoded: over the limit on its own.
    assert.equal(serializeBaggage(createBaggage({ big: 'ü'.repeat(3000), small: '1' })), 'small=1');
  });
});

describe('baggage propagator', () => {
  const propagator = createBaggagePropagator<HeaderRecord>();

  it('extracts every baggage field and injects it again', () => {
    const context = propagator.extract(
      ROOT_CONTEXT,
      { baggage: ['userId=alice', 'serverNode=DF%2028,isProduction=false'] },
      headerRecordGetter,
    );
    assert.equal(context.baggage?.get('serverNode')?.value, 'DF 28');
    const carrier: HeaderRecord = {};
    propagator.inject(context, carrier, headerRecordSetter);
    assert.deepEqual(carrier, { baggage: 'userId=alice,serverNode=DF%2028,isProduction=false' });
  });

  it('reads the header name in any case', () => {
    assert.equal(
      propagator.extract(ROOT_CONTEXT, { Baggage: 'a=1' }, headerRecordGetter).baggage?.get('a')?.value,
      '1',
    );
  });

  it('leaves the context unchanged without valid baggage, and injects nothing for empty baggage', () => {
    assert.equal(propagator.extract(ROOT_CONTEXT, {}, headerRecordGetter), ROOT_CONTEXT);
    assert.equal(propagator.extract(ROOT_CONTEXT, { baggage: 'no-equals' }, headerRecordGetter), ROOT_CONTEXT);
    const carrier: HeaderRecord = {};
    propagator.inject(withBaggage(ROOT_CONTEXT, new Map()), carrier, headerRecordSetter);
    assert.deepEqual(carrier, {});
  });

  it('lists its field', () => {
    assert.deepEqual(propagator.fields(), ['baggage']);
  });
});
