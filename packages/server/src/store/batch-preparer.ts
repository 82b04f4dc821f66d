import { createHash } from 'node:crypto';
import {
  type AnyValue,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type Span,
  serviceNameOf,
} from '@ariadne/core';
import type { SpanPreparer } from '../query/span-store.ts';
import { attributeValueText, encodeAttribute, encodeAttributeList } from './attribute-codec.ts';
import { FrequentValueTracker, hashAttribute, IndexPairs, minuteOf } from './attribute-index.ts';
import { AttributeSlots, MAX_SLOTS, placeAttribute } from './attribute-slots.ts';
import { ChunkBuilder, type ColumnKind, chunkBuffers, type PreparedChunk } from './chunk-builder.ts';
import { eventsToText, linksToText, resourceBody, scopeBody } from './span-text.ts';

/**
 * Turns a write batch of spans into the rows of the DuckDB store's tables (duckdb-store.ts),
 * without touching the database: everything a write computes in JavaScript (sorting, resource and
 * scope numbering, attribute encoding and slots, the attribute index) happens here, and the result
 * is plain data (`PreparedBatch`), transferable to another thread. The store then only copies it
 * into DuckDB (`DuckDbSpanStore.writePrepared`). This split lets the ingest path prepare batches
 * on a worker thread while the thread that owns the database appends the previous one.
 *
 * Two steps: `preparePart` turns some spans (on the ingest path, one request's, as soon as it is
 * decoded) into rows; `combine` joins parts into a batch. `prepare` does both for one part.
 *
 * The preparer keeps what earlier parts assigned (attribute slots, resource numbers, known
 * scopes and operations, frequent attribute values) and assumes every batch it combined is
 * committed, in order; each batch carries every assignment made since the previous one. If a
 * batch is not committed, its state is wrong: build a new preparer from the store's
 * `preparerState()` (parts it prepared are then stale too).
 */

/** What a preparer starts from: the store's committed assignments (plain data, cloneable). */
export interface PreparerState {
  /** Attribute slot assignments, `[key, slot]`. */
  readonly slots: readonly (readonly [string, number])[];
  /** Stored resources, `[content hash, number]`. */
  readonly resources: readonly (readonly [bigint, number])[];
  readonly scopeIds: readonly bigint[];
  /** Stored (service, span name) pairs. */
  readonly operations: readonly (readonly [string, string])[];
  /** Attribute hashes marked frequent (no longer indexed). */
  readonly frequent: readonly number[];
  /** An attribute value seen in this many write batches stops being indexed. */
  readonly attributeIndexThreshold: number;
  /** Batches the store has committed since it was opened (the state is as of after the last). */
  readonly writes: number;
}

/** A resource new to the store. */
export interface NewResource {
  readonly id: bigint;
  readonly no: number;
  readonly service: string;
  /** The resource attributes as an encoded list (attribute-codec.ts). */
  readonly attributes: string;
  readonly body: string;
}

/**
 * The rows of some spans (on the ingest path, one request's), prepared as soon as they arrive so
 * that the decoded span objects die young; `combine` joins parts into a write batch. Plain data.
 */
export interface PreparedPart {
  readonly spanCount: number;
  readonly spans: readonly PreparedChunk[];
  readonly traceParts: readonly PreparedChunk[];
  /** The part's distinct (attribute hash, minute) pairs, of values not frequent when prepared. */
  readonly pairs: IndexPairs;
  /** The part's distinct (service, span name) pairs. */
  readonly operations: readonly (readonly [string, string])[];
  readonly minStartNs: bigint | undefined;
  readonly maxStartNs: bigint | undefined;
}

/** The rows one write batch adds to the store's tables. */
export interface PreparedBatch {
  readonly spanCount: number;
  /** Rows of `spans` (columns: `SPAN_COLUMN_KINDS`). */
  readonly spans: readonly PreparedChunk[];
  /** Rows of `trace_parts` (columns: `TRACE_PART_KINDS`). */
  readonly traceParts: readonly PreparedChunk[];
  /** Rows of `attr_index` (columns: `ATTR_INDEX_KINDS`). */
  readonly attrIndex: readonly PreparedChunk[];
  /** Attribute hashes now marked frequent. */
  readonly frequentMarks: readonly number[];
  readonly resources: readonly NewResource[];
  readonly scopes: readonly { readonly id: bigint; readonly body: string }[];
  /** Attribute keys given a slot by this batch, with slots from `firstSlot` on. */
  readonly slotKeys: readonly string[];
  readonly firstSlot: number;
  readonly operations: readonly (readonly [string, string])[];
  /**
   * Every (service, span name) pair of the batch's spans (`operations` holds only those the
   * preparer took for new): what the store inserts once retention has deleted pairs that a
   * preparer may still take for stored.
   */
  readonly allOperations: readonly (readonly [string, string])[];
  /** Earliest and latest span start in the batch (undefined when it holds no spans). */
  readonly minStartNs: bigint | undefined;
  readonly maxStartNs: bigint | undefined;
  /**
   * Which write this is (the state's `writes` + 1 for the first batch prepared from it): the store
   * refuses a batch prepared for another place in its history, e.g. after a write it did not see.
   */
  readonly writeNo: number;
}

/** Column kinds of the store's `spans` table, in table order. */
export const SPAN_COLUMN_KINDS: readonly ColumnKind[] = [
  'u128', // trace_id
  'u64', // span_id
  'u64', // parent_span_id
  'u64', // start_ns
  'u64', // duration_ns
  'varchar', // service
  'varchar', // name
  'varchar', // parent_service
  'u8', // kind
  'u8', // status_code
  'varchar', // status_message
  'varchar', // trace_state
  'u32', // flags
  'varchar', // attr_layout
  'varchar[]', // attrs_rest
  'u32', // dropped_attributes
  'varchar', // events
  'u32', // dropped_events
  'varchar', // links
  'u32', // dropped_links
  'u32', // resource_no
  'u64', // scope_id
  ...Array.from({ length: MAX_SLOTS }, (): ColumnKind => 'varchar'), // a0 … a31
];
const FIRST_SLOT_COLUMN = 22;
/** trace_id, start_ns, last_start_ns, spans. */
export const TRACE_PART_KINDS: readonly ColumnKind[] = ['u128', 'u64', 'u64', 'u32'];
/** h, minute. */
export const ATTR_INDEX_KINDS: readonly ColumnKind[] = ['u32', 'u32'];

/**
 * The module ingest's prepare thread loads for this store (`PreparedWriter.preparerModule`): this
 * file, which imports nothing of DuckDB itself.
 */
export const BATCH_PREPARER_MODULE = import.meta.url;

/** What the prepare thread calls (`SpanPreparerModule`). */
export function createPreparer(state: PreparerState): BatchPreparer {
  return new BatchPreparer(state);
}

/** The buffers of a prepared batch, to transfer (not copy) it to another thread. */
export function batchBuffers(batch: PreparedBatch): ArrayBuffer[] {
  return chunkBuffers([...batch.spans, ...batch.traceParts, ...batch.attrIndex]);
}

/** What the preparer remembers of an attribute object. */
interface StoredAttribute {
  /** Stored form (attribute-codec.ts). */
  readonly encoded: string;
  /** Its value part, as a slot column holds it. */
  readonly value: string;
  /** Attribute index hash; undefined for types that are not indexed. */
  readonly hash: number | undefined;
  /**
   * For an array, the index hashes of its scalar elements as if each were the attribute's value:
   * TraceQL's `=` matches an array holding the value, so the index must lead there too.
   */
  readonly elementHashes: readonly number[] | undefined;
  /** The key's slot column, or -1 if it has none. */
  readonly slot: number;
  /** Known to be frequent (a value once frequent stays so for this preparer). */
  frequent: boolean;
  /** The `id` of the preparer it was derived for (slots differ between preparers). */
  readonly owner: number;
}

/**
 * Where a preparer keeps what it derived from an attribute object: on the object, as a
 * non-enumerable symbol property (invisible to comparisons and serialization). Decoders share one
 * `KeyValue` object between spans when the bytes repeat (most attributes do), so this saves
 * encoding, hashing and placing the same attribute again for every span; a property read is
 * several times cheaper than a Map lookup keyed by the object, twenty times a span, and the memo
 * dies with the object.
 */
const STORED = Symbol('storedAttribute');
/** Preparer ids (a number, not the preparer: a memo must not keep an old preparer alive). */
let nextPreparerId = 1;
type MemoKeyValue = KeyValue & { [STORED]?: StoredAttribute };

/** Entries kept in each per-object cache before it starts over (a bound on its memory). */
const CACHE_ENTRIES = 200_000;

export class BatchPreparer implements SpanPreparer<PreparedPart, PreparedBatch> {
  private readonly id = nextPreparerId++;
  /** What attribute objects that cannot take a memo (frozen ones) become; bounded like the next. */
  private readonly storedAttributes = new Map<KeyValue, StoredAttribute>();
  /**
   * Content hashes of resource and scope objects: decoders share these objects between requests,
   * so the JSON and SHA-256 behind a hash are computed once per object, not per batch.
   */
  private readonly contentHashes = new Map<Resource | InstrumentationScope, bigint>();
  private readonly resourceNumbers = new Map<bigint, number>();
  private nextResourceNo = 1;
  private readonly knownScopeIds: Set<bigint>;
  /** Span names stored, by service. */
  private readonly knownOperations = new Map<string, Set<string>>();
  private readonly slots: AttributeSlots;
  private readonly frequent: FrequentValueTracker;

  /** The `writeNo` of the next batch. */
  private nextWriteNo: number;

  // Assignments made since the last batch was combined, by any part: the next batch commits them
  // all, also those of parts it does not hold (a part may be combined later, or dropped). They
  // only ever grow, so committing one early is harmless, and each part's rows only use
  // assignments made before it.
  private newResources: NewResource[] = [];
  private newScopes: { id: bigint; body: string }[] = [];
  private newOperations: [string, string][] = [];
  private newSlotKeys: string[] = [];
  /** The first slot the next batch's `slotKeys` are given. */
  private firstNewSlot: number;

  constructor(state: PreparerState) {
    this.nextWriteNo = state.writes + 1;
    this.slots = new AttributeSlots(state.slots);
    this.firstNewSlot = this.slots.count;
    for (const [hash, no] of state.resources) {
      this.resourceNumbers.set(hash, no);
      this.nextResourceNo = Math.max(this.nextResourceNo, no + 1);
    }
    this.knownScopeIds = new Set(state.scopeIds);
    for (const [service, name] of state.operations) this.operationsOf(service).add(name);
    this.frequent = new FrequentValueTracker({ threshold: state.attributeIndexThreshold }, state.frequent);
  }

  private operationsOf(service: string): Set<string> {
    let names = this.knownOperations.get(service);
    if (names === undefined) {
      names = new Set();
      this.knownOperations.set(service, names);
    }
    return names;
  }

  /** The rows of one batch: one part, combined. */
  prepare(spans: readonly Span[]): PreparedBatch {
    return this.combine([this.preparePart(spans)]);
  }

  transferables(batch: PreparedBatch): ArrayBuffer[] {
    return batchBuffers(batch);
  }

  /**
   * The rows of some spans, sorted by trace and start among themselves. The spans are not
   * modified, apart from the hidden memo on their attribute objects (`STORED`). Makes the
   * assignments they need; the next `combine` commits them.
   */
  preparePart(spans: readonly Span[]): PreparedPart {
    const newResources = this.newResources;
    const resourceNos = new Map<Resource, number>();
    const scopeIds = new Map<InstrumentationScope, bigint>();
    const newScopes = this.newScopes;
    const newOperations = this.newOperations;
    const partOperations = new Map<string, Set<string>>();
    const operations: [string, string][] = [];
    // Distinct (hash, minute) pairs of these spans.
    const pairs = new IndexPairs(spans.length * 2);
    let batchMin: bigint | undefined;
    let batchMax: bigint | undefined;
    const slotBatch = this.slots.batch();
    // Sorted by trace, then start: a trace's rows sit together (trace_id compresses to runs and
    // a lookup reads few row groups). Sorting here is much cheaper than an ORDER BY in DuckDB.
    const sorted = [...spans].sort(byTraceThenStart);
    const out = new ChunkBuilder(SPAN_COLUMN_KINDS, sorted.length);
    const parts = new ChunkBuilder(TRACE_PART_KINDS, countTraces(sorted));
    let lastMinuteSpanStart = -1n;
    let minute = 0;
    if (this.storedAttributes.size > CACHE_ENTRIES) this.storedAttributes.clear();
    if (this.contentHashes.size > CACHE_ENTRIES) this.contentHashes.clear();
    let layout = new Uint8Array(256);
    const rest: string[] = [];
    const fields: (string | undefined)[] = new Array(MAX_SLOTS).fill(undefined);
    const serviceBySpanId = new Map<string, string>();
    for (let first = 0; first < sorted.length; ) {
      // One trace: [first, end).
      const traceId = sorted[first].traceId;
      let end = first + 1;
      while (end < sorted.length && sorted[end].traceId === traceId) end++;
      // The parent's service where the parent is in this batch (dependencies need no self-join
      // then); NULL where it is not (joined at query time), '' for roots.
      serviceBySpanId.clear();
      if (end - first > 1)
        for (let i = first; i < end; i++) serviceBySpanId.set(sorted[i].spanId, sorted[i].serviceName);
      const partRow = parts.next();
      parts.hex(0, partRow, traceId);
      parts.u64(1, partRow, sorted[first].startTimeUnixNano as bigint);
      parts.u64(2, partRow, sorted[end - 1].startTimeUnixNano as bigint);
      parts.u32(3, partRow, end - first);
      for (let at = first; at < end; at++) {
        const span = sorted[at];
        let resourceNo = resourceNos.get(span.resource);
        if (resourceNo === undefined) {
          let hash = this.contentHashes.get(span.resource);
          if (hash === undefined) {
            hash = hashId(resourceBody(span.resource));
            this.contentHashes.set(span.resource, hash);
          }
          resourceNo = this.resourceNumbers.get(hash);
          if (resourceNo === undefined) {
            resourceNo = this.nextResourceNo++;
            this.resourceNumbers.set(hash, resourceNo);
            newResources.push({
              id: hash,
              no: resourceNo,
              service: serviceNameOf(span.resource),
              attributes: encodeAttributeList(span.resource.attributes),
              body: resourceBody(span.resource),
            });
          }
          resourceNos.set(span.resource, resourceNo);
        }
        let scopeId = scopeIds.get(span.scope);
        if (scopeId === undefined) {
          scopeId = this.contentHashes.get(span.scope);
          if (scopeId === undefined) {
            scopeId = hashId(scopeBody(span.scope));
            this.contentHashes.set(span.scope, scopeId);
          }
          scopeIds.set(span.scope, scopeId);
          if (!this.knownScopeIds.has(scopeId)) {
            this.knownScopeIds.add(scopeId);
            newScopes.push({ id: scopeId, body: scopeBody(span.scope) });
          }
        }
        const names = this.operationsOf(span.serviceName);
        if (!names.has(span.name)) {
          names.add(span.name);
          newOperations.push([span.serviceName, span.name]);
        }
        let here = partOperations.get(span.serviceName);
        if (here === undefined) {
          here = new Set();
          partOperations.set(span.serviceName, here);
        }
        if (!here.has(span.name)) {
          here.add(span.name);
          operations.push([span.serviceName, span.name]);
        }
        const start = span.startTimeUnixNano as bigint;
        if (batchMin === undefined || start < batchMin) batchMin = start;
        if (batchMax === undefined || start > batchMax) batchMax = start;
        if (start !== lastMinuteSpanStart) {
          minute = minuteOf(start);
          lastMinuteSpanStart = start;
        }
        // Attributes: each to its key's slot column (the first of a key in a span) or to the rest
        // list, in order, with the layout saying which (attribute-slots.ts).
        const list = span.attributes;
        let layoutLength = 0;
        rest.length = 0;
        if (list.length > layout.length) layout = new Uint8Array(list.length * 2);
        for (let i = 0; i < list.length; i++) {
          const kv = list[i];
          let stored = (kv as MemoKeyValue)[STORED];
          if (stored === undefined || stored.owner !== this.id) stored = this.storedAttributes.get(kv);
          if (stored === undefined) {
            const encoded = encodeAttribute(kv);
            const t = kv.value.type;
            const indexed = t === 'string' || t === 'int' || t === 'double' || t === 'bool';
            stored = {
              encoded,
              value: attributeValueText(encoded),
              hash: indexed ? hashAttribute(encoded) : undefined,
              elementHashes: kv.value.type === 'array' ? arrayElementHashes(kv.key, kv.value.value) : undefined,
              slot: slotBatch.slotFor(kv.key) ?? -1,
              frequent: false,
              owner: this.id,
            };
            if (STORED in kv) (kv as MemoKeyValue)[STORED] = stored;
            else if (Object.isExtensible(kv)) Object.defineProperty(kv, STORED, { value: stored, writable: true });
            else this.storedAttributes.set(kv, stored);
          }
          layout[layoutLength++] = placeAttribute(stored.slot, fields, stored.value, stored.encoded, rest);
          if (stored.hash !== undefined && !stored.frequent) {
            const h = stored.hash;
            if (this.frequent.isFrequent(h)) {
              stored.frequent = true;
              continue;
            }
            pairs.add(h, minute);
          }
          if (stored.elementHashes !== undefined)
            for (const h of stored.elementHashes) if (!this.frequent.isFrequent(h)) pairs.add(h, minute);
        }

        const row = out.next();
        out.hex(0, row, traceId);
        out.hex(1, row, span.spanId);
        out.hex(2, row, span.parentSpanId);
        out.u64(3, row, start);
        out.u64(4, row, span.endTimeUnixNano - span.startTimeUnixNano);
        out.varchar(5, row, span.serviceName);
        out.varchar(6, row, span.name);
        out.varchar(7, row, span.parentSpanId === '' ? '' : (serviceBySpanId.get(span.parentSpanId) ?? null));
        out.u8(8, row, span.kind & 0xff);
        out.u8(9, row, span.status.code & 0xff);
        // Usually empty string columns hold NULL for '' (reads coalesce).
        out.varchar(10, row, span.status.message === '' ? null : span.status.message);
        out.varchar(11, row, span.traceState === '' ? null : span.traceState);
        out.u32(12, row, span.flags >>> 0);
        if (layoutLength === 0) out.setNull(13, row);
        else out.varcharAscii(13, row, layout, layoutLength);
        out.varcharList(14, row, rest);
        out.u32(15, row, span.droppedAttributesCount);
        out.varchar(16, row, span.events.length === 0 ? null : eventsToText(span.events));
        out.u32(17, row, span.droppedEventsCount);
        out.varchar(18, row, span.links.length === 0 ? null : linksToText(span.links));
        out.u32(19, row, span.droppedLinksCount);
        out.u32(20, row, resourceNo);
        out.u64(21, row, scopeId);
        for (let slot = 0; slot < MAX_SLOTS; slot++) {
          const value = fields[slot];
          if (value === undefined) out.setNull(FIRST_SLOT_COLUMN + slot, row);
          else {
            out.varchar(FIRST_SLOT_COLUMN + slot, row, value);
            fields[slot] = undefined;
          }
        }
      }
      first = end;
    }

    this.slots.commit(slotBatch);
    for (const key of slotBatch.newKeys) this.newSlotKeys.push(key);
    return {
      spanCount: sorted.length,
      spans: out.finish(),
      traceParts: parts.finish(),
      pairs,
      operations,
      minStartNs: batchMin,
      maxStartNs: batchMax,
    };
  }

  /**
   * A write batch of parts this preparer prepared, in any order, with every assignment made
   * since the last batch. Assumes the batch is committed (see the class comment).
   */
  combine(parts: readonly PreparedPart[]): PreparedBatch {
    // Distinct (hash, minute) pairs of the batch. A hash marked frequent after its part was
    // prepared (by an earlier batch) needs no rows, and must not be counted or marked again.
    let pairs = parts.length === 1 ? parts[0].pairs : undefined;
    if (pairs === undefined) {
      let size = 0;
      for (const part of parts) size += part.pairs.size;
      const merged = new IndexPairs(size);
      for (const part of parts) {
        part.pairs.forEach((h, m) => {
          if (!this.frequent.isFrequent(h)) merged.add(h, m);
        });
      }
      pairs = merged;
    }
    const hashes = pairs.distinctHashes();
    for (const h of hashes) if (this.frequent.isFrequent(h)) hashes.delete(h);
    // Values that have now been seen in enough batches stop being indexed (marked in the same
    // transaction, so the index stays exact for every value not marked).
    const frequentMarks = this.frequent.observe(hashes);
    this.frequent.markFrequent(frequentMarks);
    let indexRows = 0;
    pairs.forEach((h) => {
      if (!this.frequent.isFrequent(h)) indexRows++;
    });
    const index = new ChunkBuilder(ATTR_INDEX_KINDS, indexRows);
    pairs.forEach((h, m) => {
      if (this.frequent.isFrequent(h)) return;
      const row = index.next();
      index.u32(0, row, h);
      index.u32(1, row, m);
    });
    let spanCount = 0;
    let minStartNs: bigint | undefined;
    let maxStartNs: bigint | undefined;
    const spans: PreparedChunk[] = [];
    const traceParts: PreparedChunk[] = [];
    for (const part of parts) {
      spanCount += part.spanCount;
      for (const chunk of part.spans) spans.push(chunk);
      for (const chunk of part.traceParts) traceParts.push(chunk);
      if (part.minStartNs !== undefined && (minStartNs === undefined || part.minStartNs < minStartNs)) {
        minStartNs = part.minStartNs;
      }
      if (part.maxStartNs !== undefined && (maxStartNs === undefined || part.maxStartNs > maxStartNs)) {
        maxStartNs = part.maxStartNs;
      }
    }
    const batch: PreparedBatch = {
      spanCount,
      spans,
      traceParts,
      attrIndex: index.finish(),
      frequentMarks,
      resources: this.newResources,
      scopes: this.newScopes,
      slotKeys: this.newSlotKeys,
      firstSlot: this.firstNewSlot,
      operations: this.newOperations,
      allOperations: parts.length === 1 ? parts[0].operations : parts.flatMap((part) => part.operations),
      writeNo: this.nextWriteNo++,
      minStartNs,
      maxStartNs,
    };
    this.newResources = [];
    this.newScopes = [];
    this.newOperations = [];
    this.newSlotKeys = [];
    this.firstNewSlot = this.slots.count;
    return batch;
  }
}

function byTraceThenStart(a: Span, b: Span): number {
  if (a.traceId !== b.traceId) return a.traceId < b.traceId ? -1 : 1;
  return a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0;
}

/** Distinct trace ids in spans sorted by trace. */
function countTraces(sorted: readonly Span[]): number {
  let count = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i].traceId !== sorted[i - 1].traceId) count++;
  return count;
}

function hashId(text: string): bigint {
  return createHash('sha256').update(text).digest().readBigUInt64BE(0);
}

/** Index hashes of the scalar elements of an array attribute, each as `key = element`. */
export function arrayElementHashes(key: string, values: readonly AnyValue[]): number[] {
  const out: number[] = [];
  for (const value of values) {
    if (value.type === 'string' || value.type === 'int' || value.type === 'double' || value.type === 'bool')
      out.push(hashAttribute(encodeAttribute({ key, value })));
  }
  return out;
}
