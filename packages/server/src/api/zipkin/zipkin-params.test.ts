import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTraceQL } from '@ariadne/core';
import {
  parseAnnotationQuery,
  parseTraceQuery,
  parseZipkinTraceId,
  ZipkinRequestError,
  zipkinTraceQL,
} from './zipkin-params.ts';

const defaults = { nowMillis: 1_800_000_000_000, lookbackMillis: 86_400_000 };

describe('Zipkin trace search parameters', () => {
  it('defaults as Zipkin does: endTs now, lookback one day, limit 10, any name', () => {
    const q = parseTraceQuery({ spanName: 'all', remoteServiceName: '', serviceName: '' }, defaults);
    assert.deepEqual(q, {
      serviceName: undefined,
      remoteServiceName: undefined,
      spanName: undefined,
      annotationQuery: [],
      minDurationMicros: undefined,
      maxDurationMicros: undefined,
      startUnixNano: 1_799_913_600_000_000_000n,
      endUnixNano: 1_800_000_000_000_001_000n,
      limit: 10,
    });
  });

  it('reads endTs and lookback in milliseconds, durations in microseconds', () => {
    const q = parseTraceQuery(
      { serviceName: 'api', endTs: '1000', lookback: '5000', minDuration: '100', maxDuration: '200', limit: '3' },
      defaults,
    );
    assert.equal(q.startUnixNano, 0n); // before the epoch: from 0
    assert.equal(q.endUnixNano, 1_000_001_000n);
    assert.deepEqual([q.minDurationMicros, q.maxDurationMicros, q.limit], [100, 200, 3]);
  });

  const bad: [Record<string, string>, string][] = [
    [{ minDuration: '0' }, 'minDuration <= 0'],
    [{ maxDuration: '10' }, 'maxDuration is only valid with minDuration'],
    [{ minDuration: '10', maxDuration: '5' }, 'maxDuration < minDuration'],
    [{ endTs: '0' }, 'endTs <= 0'],
    [{ lookback: '-1' }, 'lookback <= 0'],
    [{ limit: '0' }, 'limit <= 0'],
    [{ limit: '1001' }, 'limit > 1000'],
    [{ endTs: '1e3' }, 'endTs: expected an integer, got "1e3"'],
  ];
  for (const [params, message] of bad) {
    it(`refuses ${JSON.stringify(params)} with “${message}”`, () => {
      assert.throws(() => parseTraceQuery(params, defaults), new ZipkinRequestError(message));
    });
  }

  it('splits annotationQuery on " and ", at the first "=", trimmed; later terms win', () => {
    assert.deepEqual(parseAnnotationQuery('http.uri=/foo=bar and retried and  error =  x  and  and retried=1'), [
      { key: 'http.uri', value: '/foo=bar' },
      { key: 'retried', value: '1' },
      { key: 'error', value: 'x' },
    ]);
    assert.deepEqual(parseAnnotationQuery(''), []);
  });
});

describe('Zipkin searches as TraceQL', () => {
  const traceql = (params: Record<string, string>) => zipkinTraceQL(parseTraceQuery(params, defaults));

  it('asks each condition of a span of the service, durations of one span', () => {
    const text = traceql({
      serviceName: 'api',
      spanName: 'get',
      remoteServiceName: 'db',
      annotationQuery: 'retried and http.status_code=500 and "quoted"=a\\b',
      minDuration: '100',
      maxDuration: '2000',
    });
    assert.equal(
      text,
      [
        '{ resource.service.name = "api" && name = "get" }',
        '{ resource.service.name = "api" && (span."peer.service" = "db" || ((kind = client || kind = producer) && ' +
          '(span."server.address" = "db" || span."net.peer.name" = "db" || span."server.socket.domain" = "db" || ' +
          'span."net.sock.peer.name" = "db" || span."peer.hostname" = "db" || span."peer.address" = "db" || ' +
          'span."db.name" = "db"))) }',
        '{ resource.service.name = "api" && (event:name = "retried" || ."retried" != nil) }',
        '{ resource.service.name = "api" && (."http.status_code" = "500" || ."http.status_code" = 500) }',
        '{ resource.service.name = "api" && ."\\"quoted\\"" = "a\\\\b" }',
        '{ resource.service.name = "api" && duration >= 100us && duration <= 2000us }',
      ].join(' && '),
    );
    compileTraceQL(text);
  });

  it('matches an error status for an error term, and everything without conditions', () => {
    assert.equal(
      traceql({ annotationQuery: 'error' }),
      '{ (event:name = "error" || ."error" != nil || status = error) }',
    );
    assert.equal(
      traceql({ annotationQuery: 'error=boom' }),
      '{ (."error" = "boom" || (status = error && statusMessage = "boom")) }',
    );
    assert.equal(traceql({}), '{ }');
    assert.equal(traceql({ serviceName: 'a"b' }), '{ resource.service.name = "a\\"b" }');
    const queries: Record<string, string>[] = [
      { annotationQuery: 'error' },
      { annotationQuery: 'x=true and y=1.5' },
      {},
    ];
    for (const q of queries) compileTraceQL(traceql(q));
  });
});

describe('Zipkin trace ids', () => {
  it('reads 1 to 32 hex digits, either case, and prints them as Zipkin does', () => {
    assert.deepEqual(parseZipkinTraceId(' ABC '), {
      stored: '00000000000000000000000000000abc',
      zipkin: '0000000000000abc',
    });
    assert.deepEqual(parseZipkinTraceId('0000000000000000463ac35c9f6413ad'), {
      stored: '0000000000000000463ac35c9f6413ad',
      zipkin: '463ac35c9f6413ad',
    });
    assert.deepEqual(parseZipkinTraceId('15af7183fb1d4cf5f463ac35c9f6413ad'.slice(1)), {
      stored: '5af7183fb1d4cf5f463ac35c9f6413ad',
      zipkin: '5af7183fb1d4cf5f463ac35c9f6413ad',
    });
    assert.throws(() => parseZipkinTraceId('x'), /traceId should be a 1 to 32 character hex string, got "x"/);
    assert.throws(() => parseZipkinTraceId('1'.repeat(33)), /1 to 32 character/);
    assert.throws(() => parseZipkinTraceId('000'), /traceId is all zeros/);
  });
});
