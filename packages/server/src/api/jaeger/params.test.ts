import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  JaegerParamError,
  MAX_TAGS,
  parseGoBool,
  parseGoDuration,
  parseMicros,
  parseMillisDuration,
  parseRfc3339,
  parseTags,
  parseTraceId,
} from './params.ts';

const refused = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof JaegerParamError && message.test(e.message));

describe('Jaeger parameters', () => {
  it('reads Go durations exactly, with every unit Go knows', () => {
    const cases: [string, bigint][] = [
      ['1.2s', 1_200_000_000n],
      ['100ms', 100_000_000n],
      ['500us', 500_000n],
      ['500µs', 500_000n],
      ['500μs', 500_000n],
      ['7ns', 7n],
      ['1h30m', 5_400_000_000_000n],
      ['1.5h', 5_400_000_000_000n],
      ['.5s', 500_000_000n],
      ['1.s', 1_000_000_000n],
      ['0', 0n],
      ['+2m', 120_000_000_000n],
      ['1.0000000019s', 1_000_000_001n],
    ];
    for (const [text, nanos] of cases) assert.equal(parseGoDuration(text, 'minDuration'), nanos, text);
  });

  it('refuses what Go refuses, in Go’s words, and negative durations', () => {
    refused(() => parseGoDuration('1', 'minDuration'), /^unable to parse param 'minDuration': time: missing unit/);
    refused(() => parseGoDuration('1d', 'minDuration'), /time: unknown unit "d" in duration "1d"/);
    refused(() => parseGoDuration('', 'minDuration'), /invalid duration/);
    refused(() => parseGoDuration('.s', 'maxDuration'), /^unable to parse param 'maxDuration': time: invalid duration/);
    refused(() => parseGoDuration('1 s', 'minDuration'), /unknown unit " s"/);
    refused(() => parseGoDuration('-1s', 'minDuration'), /cannot be negative/);
    refused(() => parseGoDuration('99999999999999999999h', 'minDuration'), /invalid duration/);
  });

  it('reads microseconds and milliseconds since the epoch as integers', () => {
    assert.equal(parseMicros('1704085200000000', 'start'), 1_704_085_200_000_000_000n);
    assert.equal(parseMicros('-5', 'start'), 0n);
    assert.equal(parseMillisDuration('604800000', 'lookback'), 604_800_000_000_000n);
    refused(() => parseMicros('1.5', 'start'), /^unable to parse param 'start': expected an integer/);
    refused(() => parseMicros('now', 'end'), /'end'/);
    refused(() => parseMillisDuration('-1', 'lookback'), /must not be negative/);
  });

  it('reads Go booleans', () => {
    for (const t of ['1', 't', 'TRUE', 'True', 'true']) assert.equal(parseGoBool(t, 'raw'), true);
    for (const f of ['0', 'f', 'FALSE', 'False', 'false']) assert.equal(parseGoBool(f, 'raw'), false);
    refused(() => parseGoBool('yes', 'raw'), /'raw'/);
  });

  it('reads RFC 3339 times, repairing the + that an unencoded URL turned into a space', () => {
    assert.equal(parseRfc3339('2024-01-01T00:00:00.000000001Z', 'query.startTimeMin'), 1_704_067_200_000_000_001n);
    assert.equal(parseRfc3339('2024-01-01T01:00:00 01:00', 'start_time'), 1_704_067_200_000_000_000n);
    refused(() => parseRfc3339('1704067200000', 'query.startTimeMin'), /^malformed parameter query.startTimeMin/);
    refused(() => parseRfc3339('yesterday', 'query.start_time_max'), /query.start_time_max/);
  });

  it('merges tag and tags as Jaeger does: later keys win, values are strings', () => {
    const tags = parseTags(['http.url:http://x:8080/a', 'error:false'], ['{"error":"true","n":"200"}', '{"k":null}']);
    assert.deepEqual(
      [...tags],
      [
        ['http.url', 'http://x:8080/a'],
        ['error', 'true'],
        ['n', '200'],
        ['k', ''],
      ],
    );
    assert.equal(parseTags([], ['null']).size, 0);
  });

  it('refuses malformed tags with Jaeger’s messages', () => {
    refused(() => parseTags(['novalue'], []), /^malformed 'tag' parameter, expecting key:value, received: novalue$/);
    refused(() => parseTags([], ['{"a":1}']), /^malformed 'tags' parameter, cannot unmarshal JSON: .*"a"/);
    refused(() => parseTags([], ['{oops']), /^malformed 'tags' parameter, cannot unmarshal JSON/);
    refused(() => parseTags([], ['["a"]'], 'query.attributes'), /^malformed 'query.attributes' parameter/);
    refused(() => parseTags([], ['{"":"x"}']), /needs a key/);
    refused(() => parseTags([], ['{"a":"\\ud800"}']), /not valid Unicode/);
    const many = JSON.stringify(Object.fromEntries(Array.from({ length: MAX_TAGS + 1 }, (_, i) => [`k${i}`, 'v'])));
    refused(() => parseTags([], [many]), /too many tags/);
  });

  it('reads trace ids of 1 to 32 hex digits and base64 ids', () => {
    assert.equal(parseTraceId('A1B2C3D4E5F60718'), '0000000000000000a1b2c3d4e5f60718');
    assert.equal(parseTraceId('1'), '00000000000000000000000000000001');
    assert.equal(parseTraceId('5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b'), '5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b');
    // The 16 bytes 5e0f…3a4b in base64, padded and not, standard and URL alphabets.
    const b64 = Buffer.from('5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b', 'hex').toString('base64');
    assert.equal(parseTraceId(b64), '5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b');
    assert.equal(parseTraceId(b64.replace(/=+$/, '')), '5e0f1c2b3a4d5e6f7a8b9c0d1e2f3a4b');
    assert.equal(
      parseTraceId(Buffer.from('ffffffffffffffffffffffffffffffff', 'hex').toString('base64url')),
      'f'.repeat(32),
    );
    refused(() => parseTraceId('0'.repeat(33)), /^cannot parse traceID/);
    refused(() => parseTraceId('xyz!'), /hex digits/);
    refused(() => parseTraceId('', 'trace_id'), /trace_id/);
  });
});
