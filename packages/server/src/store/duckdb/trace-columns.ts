/**
 * The columns trace reads select from `spans`, and the pieces of the packed read: a row's strings
 * come joined into one (one string conversion instead of nine), are split here, and the rows,
 * which come unordered, are put in trace order. Pure functions over SQL text and column arrays.
 */
import { SLOT_COLUMNS } from '../duckdb-schema.ts';

/**
 * The filled slot values of a row, in slot order, joined by chr(31) (never inside an encoded
 * attribute); the layout says which slots they are (attribute-slots.ts). One concat_ws is about
 * twice as fast as a chain of `||` over the slot columns.
 */
function slotTextSql(slotCount: number): string {
  if (slotCount === 0) return "''";
  return `coalesce(concat_ws(chr(31), ${SLOT_COLUMNS.slice(0, slotCount).join(', ')}), '')`;
}

/**
 * What a trace read returns of each span, in this order (the `SpanColumn` indices); the plain
 * read selects these, the packed read assembles them (`assembleTraceColumns`).
 */
export function spanReadColumns(slotCount: number): string {
  return `span_id, parent_span_id, start_ns, duration_ns, service, name, kind, status_code,
  coalesce(status_message, ''), coalesce(trace_state, ''), flags, coalesce(attr_layout, ''), dropped_attributes,
  coalesce(events, ''), dropped_events, coalesce(links, ''), dropped_links, resource_no, scope_id,
  array_to_string(attrs_rest, chr(31)) AS attrs_rest, ${slotTextSql(slotCount)} AS attr_slots`;
}

/** Where each column of `spanReadColumns` is in the columns of a trace read. */
export const SpanColumn = {
  spanId: 0,
  parentSpanId: 1,
  startNs: 2,
  durationNs: 3,
  service: 4,
  name: 5,
  kind: 6,
  statusCode: 7,
  statusMessage: 8,
  traceState: 9,
  flags: 10,
  layout: 11,
  droppedAttributes: 12,
  events: 13,
  droppedEvents: 14,
  links: 15,
  droppedLinks: 16,
  resourceNo: 17,
  scopeId: 18,
  attrsRest: 19,
  attrSlots: 20,
} as const;

/** The number columns of the packed read, in `assembleTraceColumns`' order. */
export const PACKED_NUMBER_COLUMNS =
  'span_id, parent_span_id, start_ns, duration_ns, kind, status_code, flags, dropped_attributes, dropped_events, dropped_links, resource_no, scope_id';
/** How many columns `PACKED_NUMBER_COLUMNS` names. */
export const PACKED_NUMBER_COUNT = 12;

/** The string columns of a span, packed into one per row by the packed read, in assembleTraceColumns' order. */
export function stringColumns(slotCount: number): string[] {
  return [
    'service',
    'name',
    "coalesce(status_message, '')",
    "coalesce(trace_state, '')",
    "coalesce(attr_layout, '')",
    "coalesce(events, '')",
    "coalesce(links, '')",
    'array_to_string(attrs_rest, chr(31))',
    slotTextSql(slotCount),
  ];
}

/**
 * `rows` (indices into the columns `start`, `spanId`, `rowId`) ordered as
 * \`ORDER BY start_ns, span_id, rowid\` would; `rows` itself when they are in order already.
 */
export function traceOrder(
  start: readonly bigint[],
  spanId: readonly bigint[],
  rowId: readonly bigint[],
  rows: number[],
): number[] {
  const before = (a: number, b: number) =>
    start[a] !== start[b] ? start[a] < start[b] : spanId[a] !== spanId[b] ? spanId[a] < spanId[b] : rowId[a] < rowId[b];
  let sorted = true;
  for (let i = 1; i < rows.length && sorted; i++) if (before(rows[i], rows[i - 1])) sorted = false;
  if (sorted) return rows;
  return [...rows].sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
}

/**
 * Reorders the rows of `columns` (in place) as \`ORDER BY start_ns, span_id, rowid\` would, given
 * the indices of those three columns; a no-op when they are in order already.
 */
export function inTraceOrder(columns: unknown[][], startAt: number, spanIdAt: number, rowIdAt: number): void {
  const start = columns[startAt] as bigint[];
  const all = Array.from({ length: start.length }, (_, i) => i);
  const order = traceOrder(start, columns[spanIdAt] as bigint[], columns[rowIdAt] as bigint[], all);
  if (order === all) return;
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c];
    columns[c] = order.map((i) => column[i]);
  }
}

/** Splits rows of `fields` strings joined by chr(28) into columns; undefined if a row has more (a value held chr(28)). */
export function splitPacked(packed: readonly string[], fields: number): string[][] | undefined {
  const columns: string[][] = Array.from({ length: fields }, () => new Array(packed.length));
  for (let row = 0; row < packed.length; row++) {
    const parts = packed[row].split('\x1c');
    if (parts.length !== fields) return undefined;
    for (let f = 0; f < fields; f++) columns[f][row] = parts[f];
  }
  return columns;
}

/**
 * The columns of spanReadColumns from the number columns (in `PACKED_NUMBER_COLUMNS`' order) and
 * the string columns (in stringColumns' order).
 */
export function assembleTraceColumns(numbers: unknown[][], strings: string[][]): unknown[][] {
  const [service, name, statusMessage, traceState, layout, events, links, rest, slotText] = strings;
  const [spanId, parentId, startNs, durationNs, kind, status, flags, droppedA, droppedE, droppedL, res, scope] =
    numbers;
  return [
    spanId,
    parentId,
    startNs,
    durationNs,
    service,
    name,
    kind,
    status,
    statusMessage,
    traceState,
    flags,
    layout,
    droppedA,
    events,
    droppedE,
    links,
    droppedL,
    res,
    scope,
    rest,
    slotText,
  ];
}
