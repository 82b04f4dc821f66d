import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KeyValue, type Span, unixNanos } from '@ariadne/core';
import { generateTrace, makeWorkload, toExportRequest } from '../../../bench/workload.ts';
import { spansFromOtlpProtobuf } from '../../ingest/decode-otlp.ts';
import { ExportTraceServiceRequest } from '../../ingest/otlp-proto-schema.ts';
import { encodeAttribute } from '../attribute-codec.ts';
import { hashAttribute } from '../attribute-index.ts';
import { ClickHousePreparer, type PreparedRows } from './preparer.ts';
import { type SpanRows, spanRows } from './rows.ts';

const MINUTE = 60_000_000_000n;
const BASE = 1_750_000_000_000_000_000n;

const str = (key: string, value: string): KeyValue => ({ key, value: { type: 'string', value } });

interface SpanInit {
  readonly trace: string;
  readonly id: string;
  readonly parent?: string;
  readonly service?: string;
  readonly name?: string;
  /** Nanoseconds after `BASE`. */
  readonly start?: bigint;
  readonly duration?: bigint;
  readonly attributes?: readonly KeyValue[];
  /** Resource attributes besides `service.name`; each span gets its own resource object. */
  readonly resource?: readonly KeyValue[];
}

/** A span as a request decodes it: its resource and scope are objects of its own, like another request's. */
function span(init: SpanInit): Span {
  const service = init.service ?? 'svc';
  const start = BASE + (init.start ?? 0n);
  return {
    traceId: init.trace.repeat(32).slice(0, 32),
    spanId: init.id.repeat(16).slice(0, 16),
    parentSpanId: init.parent === undefined ? '' : init.parent.repeat(16).slice(0, 16),
    traceState: '',
    flags: 1,
    name: init.name ?? 'op',
    kind: 2,
    startTimeUnixNano: unixNanos(start),
    endTimeUnixNano: unixNanos(start + (init.duration ?? 1_000n)),
    attributes: init.attributes ?? [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    serviceName: service,
    resource: {
      attributes: [str('service.name', service), ...(init.resource ?? [])],
      droppedAttributesCount: 0,
      schemaUrl: '',
    },
    scope: { name: 'scope', version: '1', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  };
}

/** The bench workload's spans (~20 attributes each), a request of `size` spans per part. */
function workloadParts(seed: number, parts: number, size: number): Span[][] {
  const w = makeWorkload(seed);
  const out: Span[][] = [];
  let pending: ReturnType<typeof generateTrace> = [];
  while (out.length < parts) {
    // Traces start a few seconds apart: a batch spans minutes, and traces straddle requests.
    while (pending.length < size) pending = pending.concat(generateTrace(w, 1_750_000_000_000 + out.length * 7_000));
    const request = ExportTraceServiceRequest.fromObject(toExportRequest(pending.slice(0, size)));
    pending = pending.slice(size);
    out.push(spansFromOtlpProtobuf(ExportTraceServiceRequest.encode(request).finish()));
  }
  return out;
}

const TABLES = ['spans', 'index', 'operations', 'attrIndex', 'attrTraces', 'traces', 'bodies'] as const;

/** Each table's bytes of a batch made from parts equal `spanRows` over all of its spans at once. */
function assertSameRows(batch: PreparedRows, expected: SpanRows, spanCount: number): void {
  assert.equal(batch.spanCount, spanCount);
  for (const table of TABLES) {
    const got = batch[table];
    const want = expected[table];
    assert.equal(got === undefined, want === undefined, `${table}: present in both or in neither`);
    if (got !== undefined && want !== undefined)
      assert.ok(Buffer.from(got).equals(want), `${table}: ${got.length} bytes, spanRows gives ${want.length}`);
  }
}

/** Combines the parts as ingest's prepare thread does, and checks against `spanRows` of their spans. */
function assertCombinesAsOne(parts: readonly (readonly Span[])[]): PreparedRows {
  const preparer = new ClickHousePreparer();
  const batch = preparer.combine(parts.map((p) => preparer.preparePart(p)));
  const all = parts.flat();
  assertSameRows(batch, spanRows(all, new Set()), all.length);
  return batch;
}

/** A minimal RowBinary reader for the tables' rows. */
class Reader {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}
  get done(): boolean {
    return this.at >= this.bytes.length;
  }
  uint8(): number {
    return this.bytes[this.at++];
  }
  uint32(): number {
    this.at += 4;
    return this.bytes.readUInt32LE(this.at - 4);
  }
  uint64(): bigint {
    this.at += 8;
    return this.bytes.readBigUInt64LE(this.at - 8);
  }
  private varUInt(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = this.bytes[this.at++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
      shift += 7;
    }
  }
  string(): string {
    const n = this.varUInt();
    this.at += n;
    return this.bytes.toString('utf8', this.at - n, this.at);
  }
  hex(n: number): string {
    this.at += n;
    return this.bytes.toString('hex', this.at - n, this.at);
  }
  strings(): string[] {
    return Array.from({ length: this.varUInt() }, () => this.string());
  }
}

const rowsOf = <T>(bytes: Uint8Array, read: (r: Reader) => T): T[] => {
  const r = new Reader(Buffer.from(bytes));
  const out: T[] = [];
  while (!r.done) out.push(read(r));
  return out;
};
const traceRows = (b: Uint8Array) => rowsOf(b, (r) => ({ trace: r.hex(16), first: r.uint64(), last: r.uint64() }));
const attrIndexRows = (b: Uint8Array) => rowsOf(b, (r) => ({ h: r.uint32(), minute: r.uint32(), covered: r.uint8() }));
const attrTraceRows = (b: Uint8Array) => rowsOf(b, (r) => ({ h: r.uint32(), prefix: r.uint32(), minute: r.uint32() }));
const indexRows = (b: Uint8Array) =>
  rowsOf(b, (r) => {
    const row = { service: r.string(), name: r.string(), start: r.uint64(), duration: r.uint64(), status: r.uint8() };
    const ids = { trace: r.hex(16), span: r.hex(8), attrs: r.strings() };
    return { ...row, ...ids, parentService: r.string(), parentUnresolved: r.uint8() };
  });
const bodyTexts = (b: Uint8Array | undefined) =>
  b === undefined
    ? []
    : rowsOf(b, (r) => {
        r.uint64();
        return r.string();
      });
const hashOf = (kv: KeyValue) => hashAttribute(encodeAttribute(kv));

describe('ClickHousePreparer', () => {
  // Trace a: root in part 1, children in parts 1-3; trace b in parts 1 and 3; c and d one part each.
  const part1 = [
    span({ trace: 'a', id: '1', service: 'front', start: 100n, attributes: [str('user', 'u1'), str('shared', 'x')] }),
    span({ trace: 'a', id: '2', parent: '1', service: 'cart', start: 200n, attributes: [str('shared', 'x')] }),
    span({ trace: 'b', id: '3', service: 'front', start: 300n, attributes: [str('order', 'o1')] }),
  ];
  const part2 = [
    // Children whose parents are in part 1 (1) and in part 3 (5), and one whose parent is nowhere (9).
    span({ trace: 'a', id: '4', parent: '1', service: 'pay', start: 50n, attributes: [str('user', 'u1')] }),
    span({ trace: 'c', id: '6', parent: '5', service: 'pay', start: MINUTE, attributes: [str('order', 'o1')] }),
    span({ trace: 'c', id: '7', parent: '9', service: 'pay', start: 2n * MINUTE, attributes: [str('user', 'u2')] }),
  ];
  const part3 = [
    span({
      trace: 'c',
      id: '5',
      service: 'front',
      start: MINUTE,
      duration: 5n * MINUTE,
      attributes: [str('user', 'u2')],
    }),
    span({ trace: 'b', id: '8', parent: '3', service: 'cart', start: 10n, duration: 10n * MINUTE }),
    span({ trace: 'd', id: 'e', service: 'solo', start: 3n * MINUTE, attributes: [str('order', 'o2')] }),
  ];

  it('makes from parts exactly the rows spanRows makes from all their spans at once', () => {
    assertCombinesAsOne([part1, part2, part3]);
    assertCombinesAsOne([part3, part1, part2]);
    assertCombinesAsOne([part2]);
    assertCombinesAsOne([part1, [...part1]]);
  });

  it('finds a parent in another part of the write, and leaves unresolved a parent in none', () => {
    const batch = assertCombinesAsOne([part1, part2, part3]);
    const parents = new Map(indexRows(batch.index).map((r) => [r.span, [r.parentService, r.parentUnresolved]]));
    assert.deepEqual(parents.get('4'.repeat(16)), ['front', 0], 'parent in an earlier part');
    assert.deepEqual(parents.get('6'.repeat(16)), ['front', 0], 'parent in a later part');
    assert.deepEqual(parents.get('7'.repeat(16)), ['', 1], 'parent in no part');
    assert.deepEqual(parents.get('1'.repeat(16)), ['', 0], 'a root');
    assert.deepEqual(parents.get('2'.repeat(16)), ['front', 0], 'parent in its own part');
  });

  it("names a shared span id's service as the write's last span with that id, whichever part has it", () => {
    // Zipkin's shared spans: a client half and a server half with one id, in two requests.
    const client = [span({ trace: 'a', id: 'f', service: 'client', start: 0n })];
    const child = [span({ trace: 'a', id: 'd', parent: 'f', service: 'server', start: 10n })];
    const server = [span({ trace: 'a', id: 'f', service: 'server', start: 5n })];
    for (const parts of [
      [client, child, server],
      [server, child, client],
      [child, client],
      [client, server, child],
    ]) {
      const batch = assertCombinesAsOne(parts);
      const row = indexRows(batch.index).find((r) => r.span === 'd'.repeat(16));
      assert.equal(
        row?.parentService,
        parts
          .flat()
          .filter((s) => s.spanId === 'f'.repeat(16))
          .at(-1)?.serviceName,
      );
    }
  });

  it("gives each trace one range, from its first start to its last end over the whole write's parts", () => {
    const batch = assertCombinesAsOne([part1, part2, part3]);
    const ranges = new Map(traceRows(batch.traces).map((r) => [r.trace[0], [r.first - BASE, r.last - BASE]]));
    assert.equal(traceRows(batch.traces).length, 4);
    assert.deepEqual(ranges.get('a'), [50n, 1_200n]);
    assert.deepEqual(ranges.get('b'), [10n, 10n + 10n * MINUTE]);
    assert.deepEqual(ranges.get('c'), [MINUTE, 6n * MINUTE]);
  });

  it('covers a value only if the whole write has it in one trace, though each part has it in one trace', () => {
    const batch = assertCombinesAsOne([part1, part2, part3]);
    const index = attrIndexRows(batch.attrIndex);
    const traces = attrTraceRows(batch.attrTraces);
    // order=o1: trace b in part 1, trace c in part 2. user=u2: trace c in parts 2 and 3.
    const o1 = hashOf(str('order', 'o1'));
    assert.deepEqual(
      index.filter((r) => r.h === o1).map((r) => r.covered),
      [0, 0],
      'two minutes, two traces: not covered',
    );
    assert.equal(traces.filter((r) => r.h === o1).length, 0);
    const u2Hash = hashOf(str('user', 'u2'));
    assert.deepEqual(
      index.filter((r) => r.h === u2Hash).map((r) => [r.minute, r.covered]),
      [
        [Number((BASE + 2n * MINUTE) / MINUTE), 1],
        [Number((BASE + MINUTE) / MINUTE), 1],
      ],
      'one trace over two parts and two minutes: covered in both',
    );
    assert.deepEqual(
      traces.filter((r) => r.h === u2Hash).map((r) => r.prefix),
      [0xcccccccc, 0xcccccccc],
    );
    // Every (hash, minute) once over the write.
    assert.equal(new Set(index.map((r) => `${r.h}/${r.minute}`)).size, index.length);
  });

  it('sends each resource and scope text once a write, and not again once a batch carrying it is combined', () => {
    const preparer = new ClickHousePreparer();
    const first = preparer.combine([part1, part2].map((p) => preparer.preparePart(p)));
    // Resources: front, cart, pay (each span's resource is an object of its own); one scope.
    assert.equal(bodyTexts(first.bodies).length, 4);
    // Part 3 was prepared before the batch that made `front` known was combined: still not sent.
    const late = preparer.preparePart(part3);
    const second = preparer.combine([late]);
    assert.deepEqual(bodyTexts(second.bodies), bodyTexts(spanRows([part3[2]], new Set()).bodies).slice(0, 1));
    assert.equal(preparer.combine([preparer.preparePart(part1)]).bodies, undefined);
  });

  it('does not change its parts: combined again, they give the same rows', () => {
    const preparer = new ClickHousePreparer();
    const parts = [part1, part2, part3].map((p) => preparer.preparePart(p));
    const once = new ClickHousePreparer().combine(parts);
    const twice = new ClickHousePreparer().combine(parts);
    for (const table of TABLES) assert.deepEqual(once[table], twice[table], table);
  });

  it('makes an empty batch of no parts', () => {
    assert.equal(new ClickHousePreparer().combine([]).spanCount, 0);
  });

  it('makes the rows spanRows makes for realistic requests, traces and resources spread over them', () => {
    for (const [seed, count, size] of [
      [1, 8, 150],
      [2, 5, 37],
      [3, 2, 500],
    ]) {
      const parts = workloadParts(seed, count, size);
      const batch = assertCombinesAsOne(parts);
      // The workload's requests share traces and resources: the merge is not a plain concatenation.
      const perPart = parts.map((p) => spanRows(p, new Set()));
      const sum = (f: (r: SpanRows) => number) => perPart.reduce((n, r) => n + f(r), 0);
      assert.ok(batch.traces.length < sum((r) => r.traces.length), 'traces straddle requests');
      assert.ok(batch.attrIndex.length < sum((r) => r.attrIndex.length), 'values repeat across requests');
      assert.ok((batch.bodies?.length ?? 0) < sum((r) => r.bodies?.length ?? 0), 'resources repeat');
      assert.notDeepEqual(
        Buffer.concat(perPart.map((r) => r.index)),
        Buffer.from(batch.index),
        'some parents are in other requests',
      );
    }
  });
});
