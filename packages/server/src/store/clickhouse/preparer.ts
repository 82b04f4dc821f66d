import type { Span } from '@ariadne/core';
import type { SpanPreparer } from '../../query/span-store.ts';
import { spanRows } from './rows.ts';

/**
 * The ClickHouse store's rows, built on ingest's prepare thread (`PreparedWriter`; see
 * ingest/prepare-worker.ts): the thread that talks to ClickHouse then only sends bytes. A part is
 * a request's decoded spans as they are, and a batch is built from all of its parts at once
 * (`spanRows`), so that the attribute index and the (service, name) pairs are distinct over the
 * whole insert, as in `ClickHouseSpanStore.writeSpans`: built per request, they would repeat in
 * every request of an insert.
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

/** A copy in a buffer of its own: RowBinary writers' buffers may be slices of Node's shared pool. */
function own(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

export class ClickHousePreparer implements SpanPreparer<readonly Span[], PreparedRows> {
  private readonly known = new KnownBodies();

  preparePart(spans: readonly Span[]): readonly Span[] {
    return spans;
  }

  combine(parts: readonly (readonly Span[])[]): PreparedRows {
    const spans = parts.length === 1 ? parts[0] : parts.flat();
    const rows = spanRows(spans, this.known.set);
    this.known.add(rows.newBodies);
    return {
      spanCount: spans.length,
      spans: own(rows.spans),
      index: own(rows.index),
      operations: own(rows.operations),
      attrIndex: own(rows.attrIndex),
      attrTraces: own(rows.attrTraces),
      traces: own(rows.traces),
      bodies: rows.bodies && own(rows.bodies),
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
