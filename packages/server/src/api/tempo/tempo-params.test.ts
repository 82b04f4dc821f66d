import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseCount,
  parseGoDuration,
  parseLogfmtTags,
  parseTempoTraceId,
  parseUnixSeconds,
  secondsRange,
  TempoRequestError,
} from './tempo-params.ts';
import { parseTempoSearch, tagSearchTraceQL } from './tempo-search.ts';
import { tagValuesSourceV1, tagValuesSourceV2, tagValuesWhere } from './tempo-tags.ts';

const refused = (f: () => unknown, message: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof TempoRequestError && message.test(e.message));

describe('Tempo parameters', () => {
  it('reads trace ids as Tempo does: hex of either case, left-padded to 128 bits', () => {
    assert.equal(parseTempoTraceId('ABCDEF0123456789'), '0000000000000000abcdef0123456789');
    assert.equal(parseTempoTraceId('abc'), '00000000000000000000000000000abc');
    refused(() => parseTempoTraceId('xyz'), /only contain hex characters: invalid character "x" at position 1/);
    refused(() => parseTempoTraceId('1'.repeat(33)), /can't be larger than 128 bits/);
  });

  it('reads Go durations exactly, and refuses what Go refuses or a negative one', () => {
    assert.equal(parseGoDuration('300ms', 'd'), 300_000_000n);
    assert.equal(parseGoDuration('1.5h', 'd'), 5_400_000_000_000n);
    assert.equal(parseGoDuration('2h45m0.5s', 'd'), 9_900_500_000_000n);
    assert.equal(parseGoDuration('1µs', 'd'), 1_000n);
    assert.equal(parseGoDuration('1μs', 'd'), 1_000n);
    assert.equal(parseGoDuration('.5s', 'd'), 500_000_000n);
    assert.equal(parseGoDuration('0', 'd'), 0n);
    for (const bad of ['', '5', '-1s', '1d', '.s', '1.2.3s', ' 1s', '1s ', '3000000h']) {
      refused(() => parseGoDuration(bad, 'minDuration'), /^invalid minDuration: /);
    }
  });

  it('reads seconds and counts within their bounds', () => {
    assert.equal(parseUnixSeconds('1700000000', 'start'), 1_700_000_000);
    refused(() => parseUnixSeconds('1700000000000', 'start', 4_294_967_295), /invalid start: expected unix seconds/);
    refused(() => parseUnixSeconds('-1', 'start'), /invalid start/);
    refused(() => parseUnixSeconds('1e9', 'end'), /invalid end/);
    assert.equal(parseCount('20', 'limit', 1, 1000), 20);
    refused(() => parseCount('0', 'limit', 1, 1000), /invalid limit: must be at least 1/);
    refused(() => parseCount('1001', 'limit', 1, 1000), /exceeds the maximum of 1000/);
    refused(() => parseCount('0x10', 'limit', 1, 1000), /expected a whole number/);
  });

  it('includes the end second in a window of seconds', () => {
    assert.deepEqual(secondsRange(10, 20), { startUnixNano: 10_000_000_000n, endUnixNano: 21_000_000_000n });
    assert.deepEqual(secondsRange(undefined, undefined), {});
  });

  it('reads logfmt tags as go-logfmt does, and refuses a tag given twice', () => {
    assert.deepEqual(
      [...parseLogfmtTags('service.name=shop name="GET /cart" \n http.status_code=500 flag')],
      [
        ['service.name', 'shop'],
        ['name', 'GET /cart'],
        ['http.status_code', '500'],
        ['flag', ''],
      ],
    );
    assert.deepEqual([...parseLogfmtTags('a="x \\"y\\" \\u00e9"')], [['a', 'x "y" é']]);
    refused(() => parseLogfmtTags('a=1 a=2'), /tag a has been set twice/);
    refused(() => parseLogfmtTags('=x'), /unexpected '='/);
    refused(() => parseLogfmtTags('a=b=c'), /unexpected '='/);
    refused(() => parseLogfmtTags('a="open'), /unterminated/);
  });
});

describe('Tempo search parameters', () => {
  it('takes a TraceQL query with Grafana defaults: 20 traces, 3 spans per spanset, no window', () => {
    const s = parseTempoSearch({ q: '{ status = error }' });
    assert.equal(s.tagSearch, false);
    assert.equal(s.limit, 20);
    assert.equal(s.spansPerSpanset, 3);
    assert.deepEqual(s.range, {});
  });

  it('reads an empty q as every trace', () => {
    assert.equal(parseTempoSearch({ q: ' ' }).source, '{}');
  });

  it('answers TraceQL errors as Tempo words them', () => {
    refused(() => parseTempoSearch({ q: '{ status = }' }), /^invalid TraceQL query: parse error at line 1, col 12: /);
    refused(() => parseTempoSearch({ q: '{ 1 = "a" }' }), /^invalid TraceQL query: .+ \(at line 1, col \d+\)$/);
  });

  it('checks the window, the limits and the exclusive parameters as Tempo does', () => {
    refused(() => parseTempoSearch({ q: '{}', tags: 'a=b' }), /can't specify tags and q in the same query/);
    refused(
      () => parseTempoSearch({ q: '{}', start: '20', end: '10' }),
      /start must be before end. received start=20 end=10/,
    );
    refused(() => parseTempoSearch({ q: '{}', start: '20' }), /start must be before end/);
    assert.deepEqual(parseTempoSearch({ q: '{}', end: '20' }).range, { endUnixNano: 21_000_000_000n });
    refused(() => parseTempoSearch({ q: '{}', limit: '0' }), /invalid limit/);
    refused(
      () => parseTempoSearch({ tags: 'a=b', minDuration: '2s', maxDuration: '1s' }),
      /must be greater than minDuration/,
    );
    refused(
      () => parseTempoSearch({ q: '{}', minDuration: '1s' }),
      /write them in the query: \{ trace:duration >= 100ms \}/,
    );
    refused(() => parseTempoSearch({ q: '{}', service: 'x' }), /unknown parameter "service"/);
  });

  it('turns tags into TraceQL: each tag met by some span, durations bounding the trace', () => {
    const tags = new Map([
      ['service.name', 'shop'],
      ['name', 'GET /'],
      ['http.status_code', '500'],
      ['status.code', 'error'],
      ['weird key', 'a"b'],
    ]);
    assert.equal(
      tagSearchTraceQL(tags, 100_000_000n, 2_000_000_000n),
      '{ resource.service.name = "shop" } && { span:name = "GET /" } && ' +
        '{ .http.status_code = "500" || .http.status_code = 500 } && { span:status = error } && ' +
        '{ ."weird key" = "a\\"b" } && { trace:duration >= 100ms && trace:duration <= 2s }',
    );
    assert.equal(tagSearchTraceQL(new Map(), 0n, 0n), '{}');
    assert.equal(tagSearchTraceQL(new Map([['ok', 'true']]), 0n, 0n), '{ .ok = "true" || .ok = true }');
    assert.equal(tagSearchTraceQL(new Map([['t', '-1.5']]), 0n, 0n), '{ .t = "-1.5" || .t = -1.5 }');
    refused(
      () => tagSearchTraceQL(new Map([['status.code', 'bad']]), 0n, 0n),
      /status.code must be ok, error or unset/,
    );
  });

  it('reads the oldest form, where every other parameter is a tag, only without q, tags, start and end', () => {
    const s = parseTempoSearch({ 'service.name': 'shop', limit: '5' });
    assert.equal(s.source, '{ resource.service.name = "shop" }');
    assert.equal(s.tagSearch, true);
    assert.equal(s.limit, 5);
  });
});

describe('Tempo tag names', () => {
  it('reads v2 tags as TraceQL identifiers and finds where their values come from', () => {
    assert.deepEqual(tagValuesSourceV2('resource.service.name'), { kind: 'store', field: { kind: 'service' } });
    assert.deepEqual(tagValuesSourceV2('span.http.method'), {
      kind: 'store',
      field: { kind: 'attribute', scope: 'span', key: 'http.method' },
    });
    assert.deepEqual(tagValuesSourceV2('.foo'), {
      kind: 'store',
      field: { kind: 'attribute', scope: 'any', key: 'foo' },
    });
    assert.deepEqual(tagValuesSourceV2('name'), { kind: 'store', field: { kind: 'name' } });
    assert.deepEqual(tagValuesSourceV2('kind'), {
      kind: 'fixed',
      values: ['client', 'server', 'producer', 'consumer', 'internal', 'unspecified'].map((value) => ({
        type: 'keyword',
        value,
      })),
    });
    assert.deepEqual(tagValuesSourceV2('span:status'), {
      kind: 'fixed',
      values: ['ok', 'error', 'unset'].map((value) => ({ type: 'keyword', value })),
    });
    assert.deepEqual(tagValuesSourceV2('duration'), { kind: 'fixed', values: [] });
    assert.deepEqual(tagValuesSourceV2('trace:id'), { kind: 'fixed', values: [] });
  });

  it('refuses a v2 tag that is not exactly one identifier', () => {
    refused(() => tagValuesSourceV2('app.user.id'), /please provide a valid tagName: "app.user.id"/);
    refused(() => tagValuesSourceV2('.a = 1 } || { .b'), /please provide a valid tagName/);
    refused(() => tagValuesSourceV2('.a with (x = 1)'), /please provide a valid tagName/);
  });

  it('reads v1 tags as plain names with Tempo virtual tags', () => {
    assert.deepEqual(tagValuesSourceV1('status.code'), {
      kind: 'fixed',
      values: ['unset', 'ok', 'error'].map((value) => ({ type: 'string', value })),
    });
    assert.deepEqual(tagValuesSourceV1('http.method'), {
      kind: 'store',
      field: { kind: 'attribute', scope: 'any', key: 'http.method' },
    });
  });

  it('filters values by the first requirement of a query', () => {
    assert.equal(tagValuesWhere(undefined), undefined);
    assert.deepEqual(tagValuesWhere('{ resource.service.name = "shop" }'), {
      kind: 'compare',
      field: { kind: 'service' },
      op: '=',
      value: 'shop',
    });
    refused(() => tagValuesWhere('{ resource.service.name = '), /invalid TraceQL query: parse error/);
  });
});
