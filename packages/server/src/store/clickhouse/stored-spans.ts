import { type Span, unixNanos } from '@ariadne/core';
import { decodeAttribute } from '../attribute-codec.ts';
import { eventsFromText, linksFromText, resourceFromBody, scopeFromBody } from '../span-text.ts';
import { KV_SEP, SPAN_COLUMNS } from './rows.ts';

/**
 * Rows of the ClickHouse `spans` table read back to spans (rows.ts writes them): pure, no I/O.
 */

/** The columns of `spans` as the store selects them: ids as lowercase hex, 64-bit numbers as strings. */
export const SPAN_SELECT = SPAN_COLUMNS.map((c) =>
  // Aliases must not shadow the columns: a WHERE on trace_id would compare with the hex text.
  c === 'trace_id' || c === 'span_id' || c === 'parent_span_id' ? `lower(hex(${c})) AS ${c}_hex` : c,
).join(', ');

/** A row of `spans` as `SPAN_SELECT` returns it in JSONEachRow. */
export interface StoredSpanRow {
  readonly trace_id_hex: string;
  readonly span_id_hex: string;
  readonly parent_span_id_hex: string;
  readonly start_ns: string;
  readonly duration_ns: string;
  readonly service: string;
  readonly name: string;
  readonly kind: number;
  readonly status_code: number;
  readonly status_message: string;
  readonly trace_state: string;
  readonly flags: number;
  readonly attr_keys: string[];
  readonly attr_values: string[];
  readonly dropped_attributes: number;
  readonly events: string;
  readonly dropped_events: number;
  readonly links: string;
  readonly dropped_links: number;
  readonly resource_id: string;
  readonly scope_id: string;
}

const ROOT_PARENT = '0000000000000000';

/**
 * The spans of stored rows, ordered by start (then span id), each span once even if a retried
 * insert stored it twice. `bodies` holds the resource and scope texts by id (decimal). Resources,
 * scopes and attributes shared by many spans are decoded once.
 */
export function spansFromRows(rows: readonly StoredSpanRow[], bodies: ReadonlyMap<string, string>): Span[] {
  const resources = new Map<string, Span['resource']>();
  const scopes = new Map<string, Span['scope']>();
  const attributes = new Map<string, Span['attributes'][number]>();
  const text = (id: string) => {
    const found = bodies.get(id);
    if (found === undefined) throw new Error(`corrupt store: no resource or scope text ${id}`);
    return found;
  };
  const seen = new Set<string>();
  const spans: Span[] = [];
  for (const row of rows) {
    // A retried insert's exact repeat is skipped; spans sharing an id (Zipkin's client and server
    // halves) differ in kind, start or parent and are all kept.
    const identity = `${row.span_id_hex}/${row.kind}/${row.start_ns}/${row.parent_span_id_hex}`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    let resource = resources.get(row.resource_id);
    if (resource === undefined) {
      resource = resourceFromBody(text(row.resource_id));
      resources.set(row.resource_id, resource);
    }
    let scope = scopes.get(row.scope_id);
    if (scope === undefined) {
      scope = scopeFromBody(text(row.scope_id));
      scopes.set(row.scope_id, scope);
    }
    const start = BigInt(row.start_ns);
    spans.push({
      traceId: row.trace_id_hex,
      spanId: row.span_id_hex,
      parentSpanId: row.parent_span_id_hex === ROOT_PARENT ? '' : row.parent_span_id_hex,
      traceState: row.trace_state,
      flags: Number(row.flags),
      name: row.name,
      kind: Number(row.kind),
      startTimeUnixNano: unixNanos(start),
      endTimeUnixNano: unixNanos(start + BigInt(row.duration_ns)),
      attributes: row.attr_keys.map((key, i) => {
        const encoded = key + KV_SEP + row.attr_values[i];
        let kv = attributes.get(encoded);
        if (kv === undefined) {
          kv = decodeAttribute(encoded);
          attributes.set(encoded, kv);
        }
        return kv;
      }),
      droppedAttributesCount: Number(row.dropped_attributes),
      events: row.events === '' ? [] : eventsFromText(row.events),
      droppedEventsCount: Number(row.dropped_events),
      links: row.links === '' ? [] : linksFromText(row.links),
      droppedLinksCount: Number(row.dropped_links),
      status: { code: Number(row.status_code), message: row.status_message },
      serviceName: row.service,
      resource,
      scope,
    });
  }
  spans.sort((a, b) =>
    a.startTimeUnixNano < b.startTimeUnixNano
      ? -1
      : a.startTimeUnixNano > b.startTimeUnixNano
        ? 1
        : a.spanId < b.spanId
          ? -1
          : a.spanId > b.spanId
            ? 1
            : 0,
  );
  return spans;
}
