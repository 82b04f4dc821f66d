import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SpanContext } from './context.ts';
import { ROOT_CONTEXT, TraceFlags, withSpanContext } from './context.ts';
import { createChildSpanContext } from './ids.ts';
import type { HeaderRecord } from './text-map.ts';
import { headerRecordGetter, headerRecordSetter } from './text-map.ts';
import { createTraceContextPropagator } from './trace-context-propagator.ts';
import { parseTraceState } from './trace-state.ts';

const propagator = createTraceContextPropagator<HeaderRecord>();
const T = '12345678901234567890123456789012';
const P = '1234567890123456';
const extract = (headers: HeaderRecord) => propagator.extract(ROOT_CONTEXT, headers, headerRecordGetter).spanContext;
const inject = (spanContext: SpanContext | undefined) => {
  const carrier: HeaderRecord = {};
  propagator.inject(withSpanContext(ROOT_CONTEXT, spanContext), carrier, headerRecordSetter);
  return carrier;
};

describe('trace context propagator: extract', () => {
  it('continues a valid traceparent as a remote span context (§3.2)', () => {
    assert.deepEqual(extract({ traceparent: `00-${T}-${P}-01` }), {
      traceId: T,
      spanId: P,
      traceFlags: 0x01,
      isRemote: true,
    });
  });

  it('expects the header names in any case (§3.2.1, §3.3.1)', () => {
    for (const name of ['TraceParent', 'TrAcEpArEnT', 'TRACEPARENT']) {
      assert.equal(extract({ [name]: `00-${T}-${P}-01`, TraceState: 'foo=1' })?.traceState?.get('foo'), '1');
    }
  });

  it('ignores fields with other names, such as trace-parent or trace.state (test suite)', () => {
    assert.equal(extract({ 'trace-parent': `00-${T}-${P}-01` }), undefined);
    assert.equal(extract({ traceparent: `00-${T}-${P}-01`, 'trace-state': 'foo=1' })?.traceState, undefined);
  });

  it('restarts the trace on an invalid traceparent and drops tracestate with it (§3.3, §3.4)', () => {
    const context = propagator.extract(
      ROOT_CONTEXT,
      { traceparent: `00-00000000000000000000000000000000-${P}-01`, tracestate: 'foo=1' },
      headerRecordGetter,
    );
    assert.equal(context.spanContext, undefined);
    assert.equal(context, ROOT_CONTEXT);
    for (const bad of [
      `ff-${T}-${P}-01`,
      `00-${T}-0000000000000000-01`,
      `00-4BF92F3577B34DA6A3CE929D0E0E4736-${P}-01`,
    ]) {
      assert.equal(extract({ traceparent: bad, tracestate: 'foo=1' }), undefined, bad);
    }
  });

  it('restarts the trace when traceparent is sent twice (test suite)', () => {
    assert.equal(extract({ traceparent: [`00-${T.slice(0, -1)}1-${P}-01`, `00-${T}-${P}-01`] }), undefined);
  });

  it('does not use tracestate without traceparent (test suite)', () => {
    assert.equal(extract({ tracestate: 'foo=1,bar=2' }), undefined);
  });

  it('keeps the traceparent when tracestate is invalid (§3.3: failure to parse tracestate MUST NOT affect traceparent)', () => {
    const sc = extract({ traceparent: `00-${T}-${P}-00`, tracestate: 'foo=1,FOO=2' });
    assert.equal(sc?.traceId, T);
    assert.equal(sc?.traceState, undefined);
  });

  it('inherits a tracestate with a duplicated key, keeping the first (§3.5, test suite test_tracestate_duplicated_keys)', () => {
    for (const tracestate of ['foo=1,foo=1', 'foo=1,foo=2', ['foo=1', 'foo=1'], ['foo=1', 'foo=2']]) {
      const sc = extract({ traceparent: `00-${T}-${P}-00`, tracestate });
      assert.equal(sc?.traceId, T);
      assert.equal(sc?.traceState?.serialize(), 'foo=1', String(tracestate));
    }
  });

  it('inherits tracestate and combines repeated tracestate fields in order (§3.3.2)', () => {
    const sc = extract({ traceparent: `00-${T}-${P}-00`, tracestate: ['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3'] });
    assert.equal(sc?.traceState?.serialize(), 'foo=1,bar=2,rojo=1,congo=2,baz=3');
  });

  it('keeps the random-trace-id flag and drops reserved flag bits (§3.2.2.5.2, §3.2.2.5.3)', () => {
    assert.equal(extract({ traceparent: `00-${T}-${P}-03` })?.traceFlags, 0x03);
    assert.equal(extract({ traceparent: `00-${T}-${P}-02` })?.traceFlags, 0x02);
    assert.equal(extract({ traceparent: `00-${T}-${P}-ff` })?.traceFlags, 0x03);
  });

  it('reads the known flags of a higher version, including the random flag (§3.2.4)', () => {
    assert.deepEqual(extract({ traceparent: `cc-${T}-${P}-03-what-the-future-will-be-like` }), {
      traceId: T,
      spanId: P,
      traceFlags: 0x03,
      isRemote: true,
    });
  });

  it('does not change the context it was given', () => {
    const before = ROOT_CONTEXT;
    propagator.extract(before, { traceparent: `00-${T}-${P}-01` }, headerRecordGetter);
    assert.deepEqual(before, {});
  });
});

describe('trace context propagator: inject', () => {
  it('writes traceparent and tracestate of the span context, lowercase names (§3.2.1)', () => {
    const carrier = inject({
      traceId: T,
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      traceState: parseTraceState('congo=t61rcWkgMzE'),
    });
    assert.deepEqual(carrier, { traceparent: `00-${T}-b7ad6b7169203331-01`, tracestate: 'congo=t61rcWkgMzE' });
  });

  it('sends no empty tracestate (§3.3.2: SHOULD avoid sending them)', () => {
    assert.deepEqual(Object.keys(inject({ traceId: T, spanId: P, traceFlags: 0, traceState: parseTraceState('') })), [
      'traceparent',
    ]);
  });

  it('writes nothing without a valid span context', () => {
    assert.deepEqual(inject(undefined), {});
    assert.deepEqual(inject({ traceId: '0'.repeat(32), spanId: P, traceFlags: 1 }), {});
    assert.deepEqual(inject({ traceId: T, spanId: 'XYZ', traceFlags: 1 }), {});
  });

  it('continues the incoming trace with a new parent-id, same trace id, flags and tracestate (§3.4)', () => {
    const incoming = extract({ traceparent: `00-${T}-${P}-03`, tracestate: 'rojo=00f067aa0ba902b7' })!;
    const first = inject(createChildSpanContext(incoming));
    const second = inject(createChildSpanContext(incoming));
    for (const carrier of [first, second]) {
      const [version, traceId, parentId, flags] = String(carrier.traceparent).split('-');
      assert.equal(version, '00');
      assert.equal(traceId, T);
      assert.notEqual(parentId, P);
      assert.equal(flags, '03');
      assert.equal(carrier.tracestate, 'rojo=00f067aa0ba902b7');
    }
    assert.notEqual(first.traceparent, second.traceparent);
  });

  it('never sets the random flag on a continued trace whose incoming flag was unset (§3.2.2.5.2)', () => {
    const incoming = extract({ traceparent: `00-${T}-${P}-01` })!;
    const out = String(inject(createChildSpanContext(incoming)).traceparent);
    assert.equal(Number.parseInt(out.slice(53), 16) & TraceFlags.RANDOM, 0);
  });

  it('downgrades a higher version to 00 when continuing (§3.2.4)', () => {
    const incoming = extract({ traceparent: `cc-${T}-${P}-01-future` })!;
    assert.match(String(inject(createChildSpanContext(incoming)).traceparent), new RegExp(`^00-${T}-[0-9a-f]{16}-01$`));
  });

  it('truncates a long tracestate to 512 characters when injecting (§3.3.3.1)', () => {
    const header = Array.from({ length: 20 }, (_, i) => `k${i}=${'v'.repeat(40)}`).join(',');
    const carrier = inject({ traceId: T, spanId: P, traceFlags: 1, traceState: parseTraceState(header) });
    assert.ok(String(carrier.tracestate).length <= 512);
    assert.ok(String(carrier.tracestate).startsWith('k0='));
  });

  it('lists its fields', () => {
    assert.deepEqual(propagator.fields(), ['traceparent', 'tracestate']);
  });
});
