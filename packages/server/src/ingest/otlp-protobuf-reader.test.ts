import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '@ariadne/core';
import { OtlpDecodeError, spansFromOtlpProtobuf, spansFromOtlpProtobufLibrary } from './decode-otlp.ts';
import { ExportTraceServiceRequest } from './otlp-proto-schema.ts';

const prng = seededRandom;

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)];
const int = (rand: Rand, n: number) => Math.floor(rand() * n);
const bytes = (rand: Rand, n: number) => Uint8Array.from({ length: n }, () => int(rand, 256));
const text = (rand: Rand) =>
  Array.from({ length: int(rand, 40) }, () =>
    pick(rand, ['a', 'Z', '0', '.', ' ', 'é', '주', '😀', '\u0000', '\x1f']),
  ).join('');
const long = (rand: Rand) => ({ low: int(rand, 2 ** 32) | 0, high: int(rand, 2 ** 32) | 0, unsigned: false });
const ulong = (rand: Rand) => ({ low: int(rand, 2 ** 32) | 0, high: int(rand, 2 ** 32) | 0, unsigned: true });

function anyValue(rand: Rand, depth: number): object {
  switch (int(rand, depth > 2 ? 6 : 8)) {
    case 0:
      return { stringValue: text(rand) };
    case 1:
      return { boolValue: rand() < 0.5 };
    case 2:
      return { intValue: long(rand) };
    case 3:
      return { doubleValue: pick(rand, [0, -0, 1.5, -1e300, Number.NaN, Number.POSITIVE_INFINITY, rand()]) };
    case 4:
      return { bytesValue: bytes(rand, int(rand, 10)) };
    case 5:
      return {};
    case 6:
      return { arrayValue: { values: Array.from({ length: int(rand, 4) }, () => anyValue(rand, depth + 1)) } };
    default:
      return { kvlistValue: { values: attributes(rand, depth + 1) } };
  }
}

function attributes(rand: Rand, depth = 0) {
  return Array.from({ length: int(rand, 5) }, () => ({ key: text(rand), value: anyValue(rand, depth) }));
}

function randomRequest(rand: Rand) {
  return {
    resourceSpans: Array.from({ length: 1 + int(rand, 3) }, () => ({
      resource: rand() < 0.9 ? { attributes: attributes(rand), droppedAttributesCount: int(rand, 3) } : undefined,
      schemaUrl: rand() < 0.5 ? text(rand) : '',
      scopeSpans: Array.from({ length: int(rand, 3) }, () => ({
        scope: rand() < 0.8 ? { name: text(rand), version: text(rand), attributes: attributes(rand) } : undefined,
        schemaUrl: rand() < 0.3 ? text(rand) : '',
        spans: Array.from({ length: int(rand, 5) }, () => ({
          traceId: bytes(rand, pick(rand, [16, 16, 16, 15, 0])),
          spanId: bytes(rand, pick(rand, [8, 8, 8, 7])),
          parentSpanId: bytes(rand, pick(rand, [0, 8])),
          traceState: rand() < 0.2 ? text(rand) : '',
          flags: int(rand, 2 ** 32),
          name: text(rand),
          kind: int(rand, 6),
          startTimeUnixNano: ulong(rand),
          endTimeUnixNano: ulong(rand),
          attributes: attributes(rand),
          droppedAttributesCount: int(rand, 4),
          events: Array.from({ length: int(rand, 3) }, () => ({
            timeUnixNano: ulong(rand),
            name: text(rand),
            attributes: attributes(rand),
            droppedAttributesCount: int(rand, 2),
          })),
          droppedEventsCount: int(rand, 3),
          links: Array.from({ length: int(rand, 2) }, () => ({
            traceId: bytes(rand, 16),
            spanId: bytes(rand, 8),
            traceState: text(rand),
            attributes: attributes(rand),
            droppedAttributesCount: int(rand, 2),
            flags: int(rand, 2 ** 32),
          })),
          droppedLinksCount: int(rand, 3),
          status: rand() < 0.7 ? { code: int(rand, 3), message: text(rand) } : undefined,
        })),
      })),
    })),
  };
}

function encode(request: object): Uint8Array {
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish();
}

/** Spans compared as plain data: NaN equals NaN under deepStrictEqual already. */
describe('hand-written OTLP protobuf reader', () => {
  it('decodes 500 randomized requests exactly as protobufjs does', () => {
    const rand = prng(20261125);
    let spans = 0;
    for (let i = 0; i < 500; i++) {
      const bytes = encode(randomRequest(rand));
      const expected = spansFromOtlpProtobufLibrary(bytes);
      assert.deepStrictEqual(spansFromOtlpProtobuf(bytes), expected, `request ${i}`);
      spans += expected.length;
    }
    assert.ok(spans > 1000, `exercised ${spans} spans`);
  });

  it('reads runs of equal trace ids and ids that differ in one byte, of every length, exactly', () => {
    const id = (last: number, length = 16) =>
      Buffer.from(Array.from({ length }, (_, i) => (i === length - 1 ? last : 7)));
    const traceIds = [id(1), id(1), id(2), id(1), id(1, 15), id(1, 17), id(1), Buffer.alloc(0), id(1)];
    const bytes = ExportTraceServiceRequest.encode(
      ExportTraceServiceRequest.fromObject({
        resourceSpans: [
          {
            scopeSpans: [{ spans: traceIds.map((traceId, i) => ({ traceId, spanId: id(i, 8), name: `s${i}` })) }],
          },
        ],
      }),
    ).finish();
    const spans = spansFromOtlpProtobuf(bytes);
    assert.deepEqual(
      spans.map((s) => s.traceId),
      traceIds.map((b) => b.toString('hex')),
    );
    assert.deepEqual(spans, spansFromOtlpProtobufLibrary(bytes));
  });

  it('tells apart repeated attributes that differ in a byte or two, at every position of every length', () => {
    // The decoder keeps recently decoded attributes by their bytes, in 8,192 slots: thousands of
    // near-equal values of one length share slots, and each must still decode as itself.
    const rand = prng(7);
    const marks = ['#', '%', '&', '*', '+', '-', '=', '@'];
    const values = new Set<string>();
    for (const length of [1, 3, 4, 5, 12, 13, 29, 30, 31, 32, 33, 60]) {
      const base = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.slice(0, length);
      for (let n = 0; n < 1500; n++) {
        const chars = [...base];
        for (let k = 0; k < 2; k++) chars[int(rand, length)] = pick(rand, marks);
        values.add(chars.join(''));
      }
    }
    // Every combination of 8 characters in the last 3 (a value's last bytes are compared one by one
    // when the attribute's encoded length is not a multiple of 4: 7 bytes of framing here).
    for (const length of [3, 4, 7, 8, 32]) {
      for (let combo = 0; combo < 512; combo++) {
        values.add(
          `${'abcdefghijklmnopqrstuvwxyzABCDEF'.slice(0, length - 3)}${marks[combo & 7]}${marks[(combo >> 3) & 7]}${marks[combo >> 6]}`,
        );
      }
    }
    const list = [...values];
    const spans = Array.from({ length: Math.ceil(list.length / 40) * 2 }, (_, i) => ({
      traceId: new Uint8Array(16).fill(1),
      spanId: new Uint8Array(8).fill(2),
      name: 'n',
      // Each run of 40 values twice in a row: the second time they are found in the slots.
      attributes: list.slice((i >> 1) * 40, (i >> 1) * 40 + 40).map((v) => ({ key: 'k', value: { stringValue: v } })),
    }));
    const request = encode({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
    const decoded = spansFromOtlpProtobuf(request);
    assert.deepEqual(decoded, spansFromOtlpProtobufLibrary(request));
    const seen = decoded.flatMap((s) => s.attributes.map((a) => (a.value.type === 'string' ? a.value.value : '')));
    assert.deepEqual(new Set(seen), values);
  });

  it('skips unknown fields of every wire type, as protobufjs does', () => {
    const rand = prng(7);
    const base = encode(randomRequest(rand));
    // field 99 varint, field 100 fixed64, field 101 length-delimited, field 102 fixed32
    const unknown = [
      0x98, 0x06, 0x96, 0x01, 0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xaa, 0x06, 0x02, 0x41, 0x42, 0xb5, 0x06, 1, 2, 3, 4,
    ];
    const bytes = new Uint8Array([...unknown, ...base, ...unknown]);
    assert.deepStrictEqual(spansFromOtlpProtobuf(bytes), spansFromOtlpProtobufLibrary(base));
  });

  it('rejects a known field sent with the wrong wire type, where protobufjs silently skips it', () => {
    const bytes = new Uint8Array([0x08, 0x00]); // resourceSpans (field 1) as a varint
    assert.deepStrictEqual(spansFromOtlpProtobufLibrary(bytes), []);
    assert.throws(
      () => spansFromOtlpProtobuf(bytes),
      (e: Error) => {
        assert.ok(e instanceof OtlpDecodeError);
        assert.match(e.message, /resourceSpans\[0\]: wrong wire type 0, expected 2/);
        return true;
      },
    );
  });

  it('rejects truncation at every byte of a valid request', () => {
    const bytes = encode({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: new Uint8Array(16).fill(1),
                  spanId: new Uint8Array(8).fill(2),
                  name: 'x',
                  startTimeUnixNano: 5,
                },
              ],
            },
          ],
        },
      ],
    });
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.throws(() => spansFromOtlpProtobuf(bytes.subarray(0, cut)), OtlpDecodeError, `cut at ${cut}`);
    }
  });

  it('rejects absurd declared lengths and nesting without allocating', () => {
    assert.throws(
      () => spansFromOtlpProtobuf(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])),
      /length 4294967295 exceeds the 0 bytes left/,
    );
    assert.throws(() => spansFromOtlpProtobuf(new Uint8Array([0x17])), /unsupported wire type 7/);
    assert.throws(() => spansFromOtlpProtobuf(new Uint8Array([0x0f])), /wrong wire type 7, expected 2/);
  });

  it('shares one immutable object for byte-identical resources, scopes and attributes across requests', () => {
    const request = (name: string) =>
      encode({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shared' } }] },
            scopeSpans: [
              {
                scope: { name: 'lib', version: '1' },
                spans: [
                  {
                    traceId: new Uint8Array(16).fill(1),
                    spanId: new Uint8Array(8).fill(2),
                    name,
                    attributes: [{ key: 'k', value: { stringValue: 'v' } }],
                  },
                ],
              },
            ],
          },
        ],
      });
    const [a] = spansFromOtlpProtobuf(request('a'));
    const [b] = spansFromOtlpProtobuf(request('b'));
    assert.equal(a.resource, b.resource);
    assert.equal(a.scope, b.scope);
    assert.equal(a.attributes[0], b.attributes[0]);
    assert.notEqual(a.name, b.name);
    const [other] = spansFromOtlpProtobuf(
      encode({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'other' } }] },
            scopeSpans: [{ spans: [{ name: 'c' }] }],
          },
        ],
      }),
    );
    assert.equal(other.serviceName, 'other');
    assert.notEqual(other.resource, a.resource);
  });
});
