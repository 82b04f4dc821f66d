import type { Span } from '@ariadne/core';
import type { SpanPreparer } from '../../query/span-store.ts';
import { combineRows, type PartRows, partRows } from './rows.ts';

/**
 * The ClickHouse store's rows, built on ingest's prepare thread (`PreparedWriter`; see
 * ingest/prepare-worker.ts): the thread that talks to ClickHouse then only sends bytes. A part is
 * a request's rows, made as its spans arrive (`partRows`): each span's `spans` and `span_index`
 * rows, and the distinct sets of the other tables. A batch joins its parts' rows and merges their
 * sets (`combineRows`), so that the attribute index, the (service, name) pairs, the trace ranges
 * and the resource and scope texts are distinct over the whole insert, as in
 * `ClickHouseSpanStore.writeSpans`: built per request, they would repeat in every request of an
 * insert. Most of the work is done per part, so that a large batch does not hold up the thread
 * (and the verdicts of the requests it decodes meanwhile) while it is combined.
 */

/** The module ingest's prepare thread loads for this store: this file. */
export const CLICKHOUSE_PREPARER_MODULE = import.meta.url;

/** A preparer starts knowing no stored resource or scope text: its first batch repeats them, harmlessly. */
export type ClickHousePreparerState = Record<string, never>;

/** One insert's rows per table, as RowBinary bytes (each its own buffer, transferable). */
export interface PreparedRows {
  readonly spanCount: number;
  readonly spans: Uint8Array;
  readonly index: Uint8Array;
  readonly operations: Uint8Array;
  readonly attrIndex: Uint8Array;
  readonly attrTraces: Uint8Array;
  readonly traces: Uint8Array;
  /** Resource and scope texts not yet known to be stored; inserted before the spans. */
  readonly bodies: Uint8Array | undefined;
}

/** Resource and scope texts a node remembers (as stored, and as read back) before it starts over. */
export const MAX_KNOWN_BODIES = 100_000;

/**
 * The resource and scope texts a preparer already wrote: assumed stored once a batch carrying
 * them is combined (if that write fails, the queue starts a new preparer, which knows none).
 */
export class KnownBodies {
  private readonly ids = new Set<bigint>();

  get set(): ReadonlySet<bigint> {
    return this.ids;
  }

  add(ids: readonly bigint[]): void {
    if (this.ids.size + ids.length > MAX_KNOWN_BODIES) this.ids.clear();
    for (const id of ids) this.ids.add(id);
  }
}

/**
 * Prepares one node's inserts: a part per request (`partRows`), a batch per insert
 * (`combineRows`), and remembers the resource and scope texts its batches carried.
 */
export class ClickHousePreparer implements SpanPreparer<PartRows, PreparedRows> {
  private readonly known = new KnownBodies();

  preparePart(spans: readonly Span[]): PartRows {
    return partRows(spans);
  }

  combine(parts: readonly PartRows[]): PreparedRows {
    const rows = combineRows(parts, this.known.set);
    this.known.add(rows.newBodies);
    let spanCount = 0;
    for (const p of parts) spanCount += p.spanCount;
    // `combineRows` gives each table's rows a buffer of their own: transferable as they are.
    return {
      spanCount,
      spans: rows.spans,
      index: rows.index,
      operations: rows.operations,
      attrIndex: rows.attrIndex,
      attrTraces: rows.attrTraces,
      traces: rows.traces,
      bodies: rows.bodies,
    };
  }

  transferables(batch: PreparedRows): ArrayBuffer[] {
    const views = [batch.spans, batch.index, batch.operations, batch.attrIndex, batch.attrTraces, batch.traces];
    if (batch.bodies) views.push(batch.bodies);
    return views.map((v) => v.buffer as ArrayBuffer);
  }
}

/** What the prepare thread calls (`SpanPreparerModule`). */
export function createPreparer(_state: ClickHousePreparerState): ClickHousePreparer {
  return new ClickHousePreparer();
}
