import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTraceparent, parseTraceparent } from './traceparent.ts';

// Examples from W3C Trace Context Level 2 §3.2.3 and from the W3C test suite (test/test.py).
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const T = '12345678901234567890123456789012';
const P = '1234567890123456';

describe('parseTraceparent', () => {
  it('reads the four fields of the spec example for a sampled request (§3.2.3)', () => {
    assert.deepEqual(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-01`), {
      version: '00',
      traceId: TRACE_ID,
      parentId: PARENT_ID,
      traceFlags: 0x01,
    });
  });

  it('reads the spec example for a request the caller did not sample (§3.2.3)', () => {
    assert.equal(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`)?.traceFlags, 0x00);
  });

  it('keeps the random-trace-id flag 0x02 and unknown flag bits as received (§3.2.2.5)', () => {
    assert.equal(parseTraceparent(`00-${T}-${P}-02`)?.traceFlags, 0x02);
    assert.equal(parseTraceparent(`00-${T}-${P}-03`)?.traceFlags, 0x03);
    assert.equal(parseTraceparent(`00-${T}-${P}-ff`)?.traceFlags, 0xff);
  });

  it('rejects version ff (§3.2.2.1)', () => {
    assert.equal(parseTraceparent(`ff-${T}-${P}-01`), undefined);
  });

  it('rejects an all-zero trace-id or parent-id (§3.2.2.3, §3.2.2.4)', () => {
    assert.equal(parseTraceparent(`00-00000000000000000000000000000000-${P}-01`), undefined);
    assert.equal(parseTraceparent(`00-${T}-0000000000000000-01`), undefined);
  });

  it('rejects uppercase hex in any field (HEXDIGLC, §3.2.2)', () => {
    assert.equal(parseTraceparent(`00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`), undefined);
    assert.equal(parseTraceparent(`00-${TRACE_ID}-00F067AA0BA902B7-01`), undefined);
    assert.equal(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-0A`), undefined);
    assert.equal(parseTraceparent(`0A-${TRACE_ID}-${PARENT_ID}-01`), undefined);
  });

  it('rejects illegal characters in every field (test suite)', () => {
    for (const header of [
      `.0-${T}-${P}-01`,
      `0.-${T}-${P}-01`,
      `00-.2345678901234567890123456789012-${P}-01`,
      `00-1234567890123456789012345678901.-${P}-01`,
      `00-${T}-.234567890123456-01`,
      `00-${T}-123456789012345.-01`,
      `00-${T}-${P}-.0`,
      `00-${T}-${P}-0.`,
    ]) {
      assert.equal(parseTraceparent(header), undefined, header);
    }
  });

  it('rejects fields that are too long or too short (test suite)', () => {
    for (const header of [
      `000-${T}-${P}-01`,
      `0000-${T}-${P}-01`,
      `0-${T}-${P}-01`,
      `00-${T}3-${P}-01`,
      `00-${T.slice(1)}-${P}-01`,
      `00-${T}-${P}7-01`,
      `00-${T}-${P.slice(1)}-01`,
      `00-${T}-${P}-001`,
      `00-${T}-${P}-1`,
    ]) {
      assert.equal(parseTraceparent(header), undefined, header);
    }
  });

  it('requires exactly 55 characters for version 00 (§3.2.2.2)', () => {
    assert.equal(parseTraceparent(`00-${T}-${P}-01.`), undefined);
    assert.equal(parseTraceparent(`00-${T}-${P}-01-what-the-future-will-be-like`), undefined);
  });

  it('parses the first four fields of a higher version, also with more fields after a dash (§3.2.4)', () => {
    assert.deepEqual(parseTraceparent(`cc-${T}-${P}-01`), {
      version: 'cc',
      traceId: T,
      parentId: P,
      traceFlags: 0x01,
    });
    assert.equal(parseTraceparent(`cc-${T}-${P}-01-what-the-future-will-be-like`)?.traceId, T);
  });

  it('rejects a higher version whose flags are not followed by a dash or the end (§3.2.4)', () => {
    assert.equal(parseTraceparent(`cc-${T}-${P}-01.what-the-future-will-be-like`), undefined);
  });

  it('rejects a higher version shorter than 55 characters (§3.2.4)', () => {
    assert.equal(parseTraceparent(`cc-${T}-${P}-1`), undefined);
  });

  it('trims optional whitespace around the value (test suite OWS handling)', () => {
    for (const header of [` 00-${T}-${P}-01`, `\t00-${T}-${P}-01`, `00-${T}-${P}-01 `, `\t 00-${T}-${P}-01 \t`]) {
      assert.equal(parseTraceparent(header)?.traceId, T, JSON.stringify(header));
    }
  });

  it('rejects wrong delimiters', () => {
    assert.equal(parseTraceparent(`00_${T}-${P}-01`), undefined);
    assert.equal(parseTraceparent(`00-${T}_${P}-01`), undefined);
    assert.equal(parseTraceparent(`00-${T}-${P}_01`), undefined);
  });
});

describe('formatTraceparent', () => {
  it('writes version 00 with the span id as parent-id (§3.2.2, §3.4)', () => {
    assert.equal(
      formatTraceparent({ traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1 }),
      `00-${TRACE_ID}-${PARENT_ID}-01`,
    );
  });

  it('keeps the sampled and random-trace-id bits and zeroes reserved ones (§3.2.2.5.2, §3.2.2.5.3)', () => {
    assert.equal(formatTraceparent({ traceId: T, spanId: P, traceFlags: 0x03 }), `00-${T}-${P}-03`);
    assert.equal(formatTraceparent({ traceId: T, spanId: P, traceFlags: 0x02 }), `00-${T}-${P}-02`);
    assert.equal(formatTraceparent({ traceId: T, spanId: P, traceFlags: 0xff }), `00-${T}-${P}-03`);
    assert.equal(formatTraceparent({ traceId: T, spanId: P, traceFlags: 0x09 }), `00-${T}-${P}-01`);
  });

  it('downgrades a higher version to 00 (§3.2.4, §3.4 "Downgrade the version")', () => {
    const parsed = parseTraceparent(`cc-${T}-${P}-01-future`)!;
    assert.equal(
      formatTraceparent({ traceId: parsed.traceId, spanId: parsed.parentId, traceFlags: parsed.traceFlags }),
      `00-${T}-${P}-01`,
    );
  });

  it('refuses invalid ids instead of writing a header receivers discard', () => {
    assert.throws(() => formatTraceparent({ traceId: '0'.repeat(32), spanId: P, traceFlags: 1 }), RangeError);
    assert.throws(() => formatTraceparent({ traceId: T, spanId: '0'.repeat(16), traceFlags: 1 }), RangeError);
    assert.throws(() => formatTraceparent({ traceId: TRACE_ID.toUpperCase(), spanId: P, traceFlags: 1 }), RangeError);
  });

  it('round-trips through parseTraceparent', () => {
    const header = `00-${TRACE_ID}-${PARENT_ID}-03`;
    const p = parseTraceparent(header)!;
    assert.equal(formatTraceparent({ traceId: p.traceId, spanId: p.parentId, traceFlags: p.traceFlags }), header);
  });
});
