import { Buffer } from 'node:buffer';
import { type Span, validateSpans } from '@ariadne/core';
import fc from 'fast-check';
import { decodeOtlpJson, decodeOtlpJsonInSlices, decodeOtlpProtobuf, OtlpDecodeError } from './decode-otlp.ts';
import { ExportTraceServiceRequest } from './otlp-proto-schema.ts';

/**
 * Property-based fuzz targets for the OTLP decoders, shared by the tests (a few hundred inputs
 * each, decode-otlp.fuzz.test.ts) and `npm run fuzz` (a million and more, bench/fuzz.ts). Test-only:
 * nothing in the server imports this.
 *
 * Inputs are arbitrary bytes, arbitrary JSON, and real requests (encoded by protobufjs, and as OTLP
 * JSON by `requestToJson`) with bytes flipped, inserted, deleted or replaced by huge length
 * prefixes, or with a JSON value replaced by an arbitrary one. Every target checks the same
 * contract: a decoder returns or throws `OtlpDecodeError`, nothing else; whatever it returns holds
 * only valid spans; and it finishes within `MAX_MILLIS_PER_INPUT`.
 */

/** Longest one input may take to decode: far above the few microseconds they take, far below a hang. */
export const MAX_MILLIS_PER_INPUT = 1000;

/** A fuzz target: a named property, and its share of a fuzz run's inputs. */
export interface FuzzTarget {
  readonly name: string;
  readonly property: fc.IProperty<unknown>;
  /** Relative number of inputs this target gets in a run. */
  readonly weight: number;
}

/** A 64-bit integer as protobufjs's `fromObject` takes it. */
function long(value: bigint, unsigned: boolean) {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned };
}

/**
 * Four-byte sequences that are not UTF-8 (a byte that never occurs, an encoded surrogate, an
 * overlong form, beyond U+10FFFF, a sequence cut short, a stray continuation byte, a truncated
 * 4-byte sequence). In a generated string, `INVALID_MARK + k` stands for `INVALID_UTF8[k]`: both
 * are four bytes, so the encoded request stays well formed when the mark is swapped for the bytes.
 */
export const INVALID_UTF8: readonly (readonly number[])[] = [
  [0xff, 0xfe, 0xfd, 0xfc],
  [0xed, 0xa0, 0x80, 0x41],
  [0xc0, 0xaf, 0x41, 0x42],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82, 0x41, 0x41],
  [0x80, 0x41, 0x42, 0x43],
  [0xf0, 0x9f, 0x98, 0x41],
];
const INVALID_MARK = '\x7f\x7f\x7f';

/** Swaps every mark in `bytes` (an encoded request) for its invalid UTF-8 bytes, in place. */
function insertInvalidUtf8(bytes: Uint8Array): Uint8Array {
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (bytes[i] !== 0x7f || bytes[i + 1] !== 0x7f || bytes[i + 2] !== 0x7f) continue;
    const k = bytes[i + 3] - 0x30;
    if (k < 0 || k >= INVALID_UTF8.length) continue;
    bytes.set(INVALID_UTF8[k], i);
    i += 3;
  }
  return bytes;
}

const text = fc.string({
  unit: fc.constantFrom('a', 'Z', '0', '.', ' ', '"', '\\', 'é', '주', '😀', '\u0000', '\x1f', '\u2028'),
  maxLength: 8,
});
/** Mostly text, sometimes text holding bytes that are not UTF-8. */
const maybeBadText = fc.oneof(
  { weight: 40, arbitrary: text },
  {
    weight: 1,
    arbitrary: fc
      .tuple(text, fc.integer({ min: 0, max: INVALID_UTF8.length - 1 }), text)
      .map(([a, k, b]) => `${a}${INVALID_MARK}${k}${b}`),
  },
);
/**
 * Bytes without 0x7f, so that no id or byte value can look like a mark; unbiased, or ids would be
 * all zeros most of the time.
 */
const bytesOf = (min: number, max: number) =>
  fc.noBias(fc.uint8Array({ minLength: min, maxLength: max })).map((b) => b.map((x) => (x === 0x7f ? 0 : x)));
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const int32Enum = (max: number) =>
  fc.oneof(
    { weight: 10, arbitrary: fc.integer({ min: 0, max }) },
    { weight: 1, arbitrary: fc.constantFrom(-1, max + 1, 999, 2 ** 31 - 1, -(2 ** 31)) },
  );

const { anyValue } = fc.letrec<{ anyValue: object; keyValue: object }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ stringValue: maybeBadText }),
    fc.record({ boolValue: fc.boolean() }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ({ intValue: long(v, false) })),
    fc.double().map((v) => ({ doubleValue: v })),
    bytesOf(0, 6).map((v) => ({ bytesValue: v })),
    fc.constant({}),
    fc.array(tie('anyValue'), { maxLength: 3 }).map((values) => ({ arrayValue: { values } })),
    fc.array(tie('keyValue'), { maxLength: 3 }).map((values) => ({ kvlistValue: { values } })),
  ),
  keyValue: fc.record({ key: maybeBadText, value: tie('anyValue') }),
}));
const attributes = fc.array(fc.record({ key: maybeBadText, value: anyValue }), { maxLength: 3 });
const time = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => long(v, true));

/** A start and an end time, mostly in order (most spans should pass validation). */
const times = fc
  .tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.nat({ max: 9 }))
  .map(([start, length, dice]) => ({
    startTimeUnixNano: long(start, true),
    endTimeUnixNano: long(dice === 0 ? start - length : start + length, true),
  }));

const spanFields = fc.record(
  {
    traceId: fc.oneof({ weight: 8, arbitrary: bytesOf(16, 16) }, bytesOf(0, 17), fc.constant(new Uint8Array(16))),
    spanId: fc.oneof({ weight: 8, arbitrary: bytesOf(8, 8) }, bytesOf(0, 9)),
    parentSpanId: fc.oneof(bytesOf(0, 0), bytesOf(8, 8), fc.constant(new Uint8Array(8))),
    traceState: maybeBadText,
    flags: uint32,
    name: maybeBadText,
    kind: int32Enum(5),
    attributes,
    droppedAttributesCount: uint32,
    events: fc.array(
      fc.record({ timeUnixNano: time, name: maybeBadText, attributes, droppedAttributesCount: uint32 }),
      { maxLength: 2 },
    ),
    droppedEventsCount: uint32,
    links: fc.array(
      fc.record({
        traceId: bytesOf(16, 16),
        spanId: bytesOf(8, 8),
        traceState: maybeBadText,
        attributes,
        droppedAttributesCount: uint32,
        flags: uint32,
      }),
      { maxLength: 2 },
    ),
    droppedLinksCount: uint32,
    status: fc.record({ code: int32Enum(2), message: maybeBadText }),
  },
  { requiredKeys: ['traceId', 'spanId'] },
);
const span = fc.tuple(spanFields, times).map(([fields, t]) => ({ ...fields, ...t }));

/**
 * An `ExportTraceServiceRequest` as protobufjs's `fromObject` takes it: valid and invalid spans
 * (short or zero ids, end before start, kinds and status codes OTLP does not define, text that is
 * not UTF-8 marked with `INVALID_MARK`).
 */
export const otlpRequest = fc.record({
  resourceSpans: fc.array(
    fc.record(
      {
        resource: fc.record({ attributes, droppedAttributesCount: uint32 }),
        schemaUrl: maybeBadText,
        scopeSpans: fc.array(
          fc.record(
            {
              scope: fc.record({
                name: maybeBadText,
                version: maybeBadText,
                attributes,
                droppedAttributesCount: uint32,
              }),
              schemaUrl: maybeBadText,
              spans: fc.array(span, { maxLength: 4 }),
            },
            { requiredKeys: ['spans'] },
          ),
          { maxLength: 2 },
        ),
      },
      { requiredKeys: ['scopeSpans'] },
    ),
    { maxLength: 2 },
  ),
});

/** The protobuf encoding of a generated request, with its marks made invalid UTF-8. */
export function requestToProtobuf(request: object): Uint8Array {
  const bytes = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish();
  return insertInvalidUtf8(Uint8Array.from(bytes));
}

type Obj = Record<string, unknown>;

function unsigned(value: { low: number; high: number }): bigint {
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

function valueToJson(value: Obj): Obj {
  if ('intValue' in value) return { intValue: BigInt.asIntN(64, unsigned(value.intValue as never)).toString() };
  if ('doubleValue' in value) {
    const d = value.doubleValue as number;
    // OTLP JSON writes NaN and the infinities as strings; -0 too, or it would come back as 0.
    return { doubleValue: Number.isFinite(d) && !Object.is(d, -0) ? d : String(Object.is(d, -0) ? '-0' : d) };
  }
  if ('bytesValue' in value) return { bytesValue: Buffer.from(value.bytesValue as Uint8Array).toString('base64') };
  if ('arrayValue' in value) {
    return { arrayValue: { values: ((value.arrayValue as Obj).values as Obj[]).map(valueToJson) } };
  }
  if ('kvlistValue' in value) {
    return { kvlistValue: { values: attributesToJson((value.kvlistValue as Obj).values as Obj[]) } };
  }
  return value;
}

function attributesToJson(list: Obj[] | undefined): Obj[] | undefined {
  return list?.map((kv) => ({ key: kv.key, value: valueToJson(kv.value as Obj) }));
}

const hex = (bytes: unknown) => (bytes === undefined ? undefined : Buffer.from(bytes as Uint8Array).toString('hex'));
const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT'];

/**
 * The OTLP JSON encoding of a generated request, written independently of the decoders: hex ids
 * (upper case for some), 64-bit integers as decimal strings, bytes as base64, some span kinds by
 * name. Marks are made invalid UTF-8, as in `requestToProtobuf`.
 */
export function requestToJson(request: { resourceSpans: Obj[] }): Uint8Array {
  const json = {
    resourceSpans: request.resourceSpans.map((rs) => ({
      resource: rs.resource && {
        attributes: attributesToJson((rs.resource as Obj).attributes as Obj[]),
        droppedAttributesCount: (rs.resource as Obj).droppedAttributesCount,
      },
      schemaUrl: rs.schemaUrl,
      scopeSpans: (rs.scopeSpans as Obj[]).map((ss) => ({
        scope: ss.scope && {
          ...(ss.scope as Obj),
          attributes: attributesToJson((ss.scope as Obj).attributes as Obj[]),
        },
        schemaUrl: ss.schemaUrl,
        spans: (ss.spans as Obj[]).map((s, i) => ({
          ...s,
          traceId: i % 3 === 1 ? hex(s.traceId)?.toUpperCase() : hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          kind: i % 2 === 1 && KIND_NAMES[s.kind as number] ? KIND_NAMES[s.kind as number] : s.kind,
          startTimeUnixNano: unsigned(s.startTimeUnixNano as never).toString(),
          endTimeUnixNano: unsigned(s.endTimeUnixNano as never).toString(),
          attributes: attributesToJson(s.attributes as Obj[]),
          events: (s.events as Obj[] | undefined)?.map((e) => ({
            ...e,
            timeUnixNano: unsigned(e.timeUnixNano as never).toString(),
            attributes: attributesToJson(e.attributes as Obj[]),
          })),
          links: (s.links as Obj[] | undefined)?.map((l) => ({
            ...l,
            traceId: hex(l.traceId),
            spanId: hex(l.spanId),
            attributes: attributesToJson(l.attributes as Obj[]),
          })),
        })),
      })),
    })),
  };
  return insertInvalidUtf8(Uint8Array.from(Buffer.from(JSON.stringify(json))));
}

/** Decodes with `decode` and checks the contract (see the file comment); throws if it is broken. */
export function checkDecoder(decode: (bytes: Uint8Array) => ReturnType<typeof decodeOtlpJson>, bytes: Uint8Array) {
  const started = performance.now();
  let result: ReturnType<typeof decodeOtlpJson> | undefined;
  try {
    result = decode(bytes);
  } catch (error) {
    if (!(error instanceof OtlpDecodeError)) throw error;
  }
  const millis = performance.now() - started;
  if (millis > MAX_MILLIS_PER_INPUT) throw new Error(`decoding ${bytes.length} bytes took ${Math.round(millis)} ms`);
  if (result === undefined) return;
  const again = validateSpans(result.spans, { checkText: true });
  if (again.rejectedSpans !== 0) throw new Error(`an invalid span was accepted: ${again.errorMessage}`);
  // With nothing rejected, the only message is the warning about items dropped for SPAN_LIMITS.
  if (result.rejectedSpans === 0 && result.errorMessage !== '' && !LIMITS_WARNING.test(result.errorMessage))
    throw new Error(`an error message without rejections: ${result.errorMessage}`);
}

/** `SpanValidator`'s warning about attributes, events or links dropped for `SPAN_LIMITS`. */
const LIMITS_WARNING = /^\d+ attributes, events or links beyond \d+ per list were dropped/;

/** One change to a byte string; positions are taken modulo its length. */
type Mutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly byte: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'repeat'; readonly at: number; readonly length: number; readonly times: number };

/** Byte runs worth inserting: huge or negative length prefixes and varints, every wire type. */
const SPECIAL_BYTES: readonly Uint8Array[] = [
  [0xff, 0xff, 0xff, 0xff, 0x0f],
  [0xff, 0xff, 0xff, 0xff, 0x07],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
  [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
  [0x12, 0x80, 0x80, 0x80, 0x80, 0x08],
  [0x0b],
  [0x0c],
  [0x0f],
  [0x00],
  [0x22, 0x5c, 0x75, 0x64, 0x38, 0x30, 0x30, 0x22],
  [0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39, 0x39],
  [0x7b],
  [0x5b],
].map((b) => Uint8Array.from(b));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(...SPECIAL_BYTES)),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    op: fc.constant('repeat' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 32 }),
    times: fc.integer({ min: 2, max: 50 }),
  }),
);

/** `parts` joined into one array. */
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Applies mutations to a copy of `bytes`. */
export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out: Uint8Array = Uint8Array.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + (m.op === 'insert' ? 1 : 0));
    switch (m.op) {
      case 'flip':
        if (out.length > 0) out[at] ^= 1 << m.bit;
        break;
      case 'set':
        if (out.length > 0) out[at] = m.byte;
        break;
      case 'insert':
        out = concat(out.subarray(0, at), m.bytes, out.subarray(at));
        break;
      case 'delete':
        out = concat(out.subarray(0, at), out.subarray(at + m.length));
        break;
      case 'repeat': {
        const run = out.subarray(at, at + m.length);
        out = concat(out.subarray(0, at), ...Array.from({ length: m.times }, () => run), out.subarray(at));
        break;
      }
    }
  }
  return out;
}

/**
 * Real requests to mutate: generated once (fixed seed) and picked by index, which is much faster
 * than generating a request for every input and shrinks to the smallest request that fails.
 */
function corpus(encode: (request: { resourceSpans: Obj[] }) => Uint8Array): Uint8Array[] {
  return fc.sample(otlpRequest, { numRuns: 64, seed: 20261125 }).map((r) => encode(r as { resourceSpans: Obj[] }));
}

/** A decoded result as JSON text (bigints and bytes spelled out), which also tells where two differ. */
const show = (value: unknown) =>
  JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (Object.is(v, -0)) return '-0';
    return v;
  });

/** Protobuf and JSON: the same request decodes to the same result (spans, rejections, message). */
function sameResult(request: { resourceSpans: Obj[] }): void {
  const fromProtobuf = decodeOtlpProtobuf(requestToProtobuf(request));
  const fromJson = decodeOtlpJson(requestToJson(request));
  const a = show(fromProtobuf);
  const b = show(fromJson);
  if (a !== b) throw new Error(`protobuf and JSON differ:\n protobuf ${a}\n JSON     ${b}`);
}

/** The decoder fuzz targets. Built on first use: generating the corpora takes a moment. */
export function decoderFuzzTargets(): FuzzTarget[] {
  const protobufCorpus = corpus(requestToProtobuf);
  const jsonCorpus = corpus(requestToJson);
  const jsonValues = fc
    .sample(otlpRequest, { numRuns: 64, seed: 7 })
    .map((r) => JSON.parse(Buffer.from(requestToJson(r as { resourceSpans: Obj[] })).toString('latin1')) as unknown);
  const mutations = fc.array(mutation, { minLength: 1, maxLength: 6 });
  const tricky = fc.constantFrom<unknown>(
    'constructor',
    '__proto__',
    'toString',
    'hasOwnProperty',
    'SPAN_KIND_SERVER',
    'NaN',
    'Infinity',
    '-0',
    '1e3',
    '0x10',
    ' 1',
    '18446744073709551616',
    '-9223372036854775809',
    '\ud800',
    4294967296,
    -1,
    1.5,
    1e300,
    null,
    [],
    {},
  );
  return [
    {
      name: 'protobuf decoder: arbitrary bytes',
      weight: 3,
      property: fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => checkDecoder(decodeOtlpProtobuf, bytes)),
    },
    {
      name: 'protobuf decoder: mutated real requests',
      weight: 4,
      property: fc.property(fc.nat({ max: protobufCorpus.length - 1 }), mutations, (i, m) =>
        checkDecoder(decodeOtlpProtobuf, mutate(protobufCorpus[i], m)),
      ),
    },
    {
      name: 'JSON decoder: arbitrary JSON',
      weight: 2,
      property: fc.property(fc.json({ maxDepth: 4 }), (text) => checkDecoder(decodeOtlpJson, Buffer.from(text))),
    },
    {
      name: 'JSON decoder: arbitrary bytes',
      weight: 1,
      property: fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => checkDecoder(decodeOtlpJson, bytes)),
    },
    {
      name: 'JSON decoder: mutated real requests',
      weight: 3,
      property: fc.property(fc.nat({ max: jsonCorpus.length - 1 }), mutations, (i, m) =>
        checkDecoder(decodeOtlpJson, mutate(jsonCorpus[i], m)),
      ),
    },
    {
      name: 'JSON decoder: a value of a real request replaced',
      weight: 3,
      property: fc.property(
        fc.nat({ max: jsonValues.length - 1 }),
        fc.nat(),
        fc.oneof(tricky, fc.jsonValue({ maxDepth: 2 })),
        (i, at, replacement) =>
          checkDecoder(decodeOtlpJson, Buffer.from(JSON.stringify(replaceNth(jsonValues[i], at, replacement)))),
      ),
    },
    {
      name: 'JSON text: large integers kept exact, and only JSON that JSON.parse takes',
      weight: 2,
      property: fc.property(
        fc.oneof(
          fc.json({ maxDepth: 3 }),
          // Tokens that reach the rewriting of long integer literals, where they are and are not values.
          fc.array(fc.constantFrom(...JSON_TOKENS), { maxLength: 24, size: 'max' }).map((tokens) => tokens.join('')),
          // A long literal in every kind of place, valid or not.
          fc
            .tuple(
              fc.constantFrom('{"a":', '{', '[', '["a" ', '{"a":1,', '[1,', '', '{"a":"'),
              fc.stringMatching(/^-?0{0,2}[0-9]{15,21}$/),
              fc.constantFrom('}', ':1}', ']', '.5]', 'e1}', '"}', ''),
            )
            .map((parts) => parts.join('')),
        ),
        (text) => checkJsonText(text),
      ),
    },
    {
      name: 'JSON decoder in slices: the same as whole, for mutated real requests',
      weight: 3,
      property: fc.property(
        fc.nat({ max: jsonCorpus.length - 1 }),
        mutations,
        fc.integer({ min: 1, max: 400 }),
        (i, m, slice) => sameInSlices(mutate(jsonCorpus[i], m), slice),
      ),
    },
    {
      name: 'JSON decoder in slices: the same as whole, for a value replaced or structure broken',
      weight: 2,
      property: fc.property(
        fc.nat({ max: jsonValues.length - 1 }),
        fc.nat(),
        fc.oneof(tricky, fc.jsonValue({ maxDepth: 2 })),
        fc.array(
          fc.constantFrom(...JSON_TOKENS, '"spans":[', '"scopeSpans":[{', '"resourceSpans":[{', '"sp\\u0061ns":'),
          {
            maxLength: 3,
          },
        ),
        fc.nat(),
        fc.integer({ min: 1, max: 400 }),
        (i, at, replacement, tokens, where, slice) => {
          const text = JSON.stringify(replaceNth(jsonValues[i], at, replacement));
          const cut = where % (text.length + 1);
          sameInSlices(Buffer.from(text.slice(0, cut) + tokens.join('') + text.slice(cut)), slice);
        },
      ),
    },
    {
      name: 'protobuf and JSON decode the same request alike',
      weight: 1,
      property: fc.property(otlpRequest, (request) => sameResult(request as { resourceSpans: Obj[] })),
    },
  ];
}

/**
 * OTLP/JSON decoded in slices of `sliceBytes` and whole: the same spans, rejections and message,
 * or both refused. Syntax errors get the same message; type errors may name another field when a
 * request has several (the slices check every resource and scope before the spans).
 */
export function sameInSlices(bytes: Uint8Array, sliceBytes: number): void {
  let whole: ReturnType<typeof decodeOtlpJson> | Error;
  try {
    whole = decodeOtlpJson(bytes);
  } catch (error) {
    whole = error as Error;
  }
  let sliced: ReturnType<typeof decodeOtlpJson> | Error;
  try {
    const spans: Span[] = [];
    const slices = decodeOtlpJsonInSlices(bytes, sliceBytes);
    let next = slices.next();
    for (; !next.done; next = slices.next()) spans.push(...next.value);
    sliced = { spans, rejectedSpans: next.value.rejectedSpans, errorMessage: next.value.errorMessage };
  } catch (error) {
    sliced = error as Error;
  }
  if (whole instanceof Error || sliced instanceof Error) {
    if (!(whole instanceof OtlpDecodeError) || !(sliced instanceof OtlpDecodeError)) {
      throw new Error(
        `whole: ${String(whole instanceof Error ? whole : 'decoded')}; in slices: ${String(sliced instanceof Error ? sliced : 'decoded')}`,
      );
    }
    const typeErrors = /^invalid OTLP JSON:/.test(whole.message) && /^invalid OTLP JSON:/.test(sliced.message);
    if (!typeErrors && whole.message !== sliced.message) {
      throw new Error(`refused with other messages: whole "${whole.message}", in slices "${sliced.message}"`);
    }
    return;
  }
  const a = show(whole);
  const b = show(sliced);
  if (a !== b) throw new Error(`whole and in slices of ${sliceBytes} bytes differ:\n whole  ${a}\n slices ${b}`);
}

const JSON_TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ':',
  ',',
  ' ',
  '"a"',
  '"\\"',
  '0',
  '-',
  '.5',
  'e5',
  'true',
  '1234567890123456',
  '-12345678901234567890',
  '00000000000000001',
  '99999999999999999999999',
];

/** The value at the `n`th node (depth first, modulo their number) replaced by `replacement`. */
function replaceNth(value: unknown, n: number, replacement: unknown): unknown {
  let count = 0;
  const countNodes = (v: unknown): void => {
    count++;
    if (v !== null && typeof v === 'object') for (const child of Object.values(v)) countNodes(child);
  };
  countNodes(value);
  let target = n % count;
  const copy = (v: unknown): unknown => {
    if (target-- === 0) return replacement;
    if (Array.isArray(v)) return v.map(copy);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, child]) => [k, copy(child)]));
    }
    return v;
  };
  return copy(value);
}

/** `parseOtlpJsonText` accepts exactly what JSON.parse accepts (checked through the decoder). */
function checkJsonText(text: string): void {
  let parses = true;
  try {
    JSON.parse(text);
  } catch {
    parses = false;
  }
  const bytes = Buffer.from(text);
  try {
    decodeOtlpJson(bytes);
  } catch (error) {
    if (!(error instanceof OtlpDecodeError)) throw error;
    if (parses && /^invalid JSON:/.test(error.message)) throw new Error(`valid JSON refused: ${error.message}`);
    return;
  }
  if (!parses) throw new Error('text that JSON.parse refuses was decoded');
}
