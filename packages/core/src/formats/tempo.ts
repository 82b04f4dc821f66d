import type { AnyValueJson, KeyValueJson, SpanJson, TracesDataJson } from '../model/otlp-json.ts';
import { anyValueToJson, spansToTracesData } from '../model/otlp-json.ts';
import type { Span } from '../model/span.ts';
import { bytesToBase64, StatusCode } from '../model/span.ts';
import type { KindValue, StatusValue } from '../traceql/ast.ts';
import type { TraceQLTraceMatch } from '../traceql/evaluate.ts';
import type { TraceQLValue } from '../traceql/traceql-values.ts';
import { traceqlValueToAnyValue } from '../traceql/traceql-values.ts';

/**
 * Grafana Tempo's response shapes, from the span model (one way: Tempo has no format Ariadne
 * imports). Spec: /work/shared/specs/compat-apis.md §2.
 *
 * ```
 *   spans ──tempoTraceJson──────────▶ {resourceSpans}            (tempopb.Trace)
 *         ──tempoTraceV1Json────────▶ {batches}                  (/api/traces/{id})
 *         ──tempoTraceByIdV2Json────▶ {trace: {resourceSpans}}   (/api/v2/traces/{id})
 *   spans + TraceQL match ──tempoTraceSearchMetadata──▶ {traceID, rootServiceName, …, spanSets}
 *   tag value ──tempoTagValue──▶ {type, value}                   (/api/v2/search/tag/…/values)
 * ```
 *
 * Everything is JSON as Tempo writes it with gogo's `jsonpb.Marshaler{}`: lowerCamel field
 * names, 64-bit integers as decimal strings, `bytes` (trace and span ids in traces) as base64,
 * enums by name (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`), and zero values left out (an empty
 * string, 0, false, an empty list; an enum at its zero value). Clients written against Tempo
 * read absent fields as zero. Grafana decodes search results with `encoding/json` into strings,
 * so `startTimeUnixNano`, `durationNanos` and `intValue` must stay strings.
 *
 * The protobuf encodings of the same messages are the server's (it has a protobuf library; core
 * has no dependencies).
 */

// ------------------------------------------------------------------------------------------------
// Traces

/** A `KeyValue` as Tempo writes it (the same as OTLP/JSON's). */
export type TempoKeyValueJson = KeyValueJson;

/** A span of a trace, gogo-jsonpb style: ids in base64, enums by name, zero fields absent. */
export interface TempoSpanJson {
  readonly traceId?: string;
  readonly spanId?: string;
  readonly traceState?: string;
  readonly parentSpanId?: string;
  readonly flags?: number;
  readonly name?: string;
  readonly kind?: string | number;
  readonly startTimeUnixNano?: string;
  readonly endTimeUnixNano?: string;
  readonly attributes?: readonly TempoKeyValueJson[];
  readonly droppedAttributesCount?: number;
  readonly events?: readonly {
    readonly timeUnixNano?: string;
    readonly name?: string;
    readonly attributes?: readonly TempoKeyValueJson[];
    readonly droppedAttributesCount?: number;
  }[];
  readonly droppedEventsCount?: number;
  readonly links?: readonly {
    readonly traceId?: string;
    readonly spanId?: string;
    readonly traceState?: string;
    readonly attributes?: readonly TempoKeyValueJson[];
    readonly droppedAttributesCount?: number;
    readonly flags?: number;
  }[];
  readonly droppedLinksCount?: number;
  readonly status: { readonly message?: string; readonly code?: string | number };
}

/** A resource with its spans, grouped by scope. */
export interface TempoResourceSpansJson {
  readonly resource: { readonly attributes?: readonly TempoKeyValueJson[]; readonly droppedAttributesCount?: number };
  readonly scopeSpans?: readonly {
    readonly scope: {
      readonly name?: string;
      readonly version?: string;
      readonly attributes?: readonly TempoKeyValueJson[];
      readonly droppedAttributesCount?: number;
    };
    readonly spans?: readonly TempoSpanJson[];
    readonly schemaUrl?: string;
  }[];
  readonly schemaUrl?: string;
}

/** `tempopb.Trace` as JSON: `{}` for a trace without spans. */
export interface TempoTraceJson {
  readonly resourceSpans?: readonly TempoResourceSpansJson[];
}

const KIND_ENUM = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_ENUM = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

/**
 * A trace as Tempo's `tempopb.Trace` JSON: one `resourceSpans` entry per distinct resource, one
 * `scopeSpans` per distinct scope within it, in first-seen order (as `spansToTracesData` groups
 * them), spans in the order given. Empty for no spans.
 */
export function tempoTraceJson(spans: readonly Span[]): TempoTraceJson {
  if (spans.length === 0) return {};
  return { resourceSpans: spansToTracesData(spans).resourceSpans.map(resourceSpansJson) };
}

/**
 * The body of Tempo's `GET /api/traces/{id}` in JSON: `tempoTraceJson` with `resourceSpans`
 * named `batches`, as Tempo still writes it for compatibility (`tempopb.MarshalToJSONV1`).
 */
export function tempoTraceV1Json(spans: readonly Span[]): { readonly batches?: readonly TempoResourceSpansJson[] } {
  const trace = tempoTraceJson(spans);
  return trace.resourceSpans === undefined ? {} : { batches: trace.resourceSpans };
}

/**
 * The body of Tempo's `GET /api/v2/traces/{id}` in JSON (`TraceByIDResponse`): the trace, empty
 * (`{"trace":{}}`) for an unknown id, which Tempo answers with 200 rather than 404. Always
 * complete: Ariadne has no partial traces to report in `status`.
 */
export function tempoTraceByIdV2Json(spans: readonly Span[]): { readonly trace: TempoTraceJson } {
  return { trace: tempoTraceJson(spans) };
}

type ResourceSpansOtlp = TracesDataJson['resourceSpans'][number];

function resourceSpansJson(rs: ResourceSpansOtlp): TempoResourceSpansJson {
  return omitZero({
    resource: omitZero({ ...rs.resource }),
    scopeSpans: rs.scopeSpans.map((ss) =>
      omitZero({ scope: omitZero({ ...ss.scope }), spans: ss.spans.map(spanJson), schemaUrl: ss.schemaUrl }),
    ),
    schemaUrl: rs.schemaUrl,
  }) as TempoResourceSpansJson;
}

function spanJson(span: SpanJson): TempoSpanJson {
  return omitZero({
    traceId: hexToBase64(span.traceId),
    spanId: hexToBase64(span.spanId),
    traceState: span.traceState,
    parentSpanId: hexToBase64(span.parentSpanId),
    flags: span.flags,
    name: span.name,
    kind: span.kind === 0 ? undefined : (KIND_ENUM[span.kind] ?? span.kind),
    startTimeUnixNano: zeroText(span.startTimeUnixNano),
    endTimeUnixNano: zeroText(span.endTimeUnixNano),
    attributes: span.attributes,
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((e) => omitZero({ ...e, timeUnixNano: zeroText(e.timeUnixNano) })),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map((l) => omitZero({ ...l, traceId: hexToBase64(l.traceId), spanId: hexToBase64(l.spanId) })),
    droppedLinksCount: span.droppedLinksCount,
    // A message field: present (possibly `{}`) as Tempo's stored spans always have one.
    status: omitZero({
      message: span.status.message,
      code: span.status.code === 0 ? undefined : (STATUS_ENUM[span.status.code] ?? span.status.code),
    }),
  }) as unknown as TempoSpanJson;
}

/** A 64-bit decimal text, or undefined for "0" (a zero value jsonpb leaves out). */
function zeroText(text: string): string | undefined {
  return text === '0' ? undefined : text;
}

/** Copies `fields` without the ones at their zero value (undefined, '', 0, false, []). */
function omitZero<T extends object>(fields: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === '' || value === 0 || value === false) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out as Partial<T>;
}

/** Base64 of the bytes a hex id stands for; undefined for the empty id. */
function hexToBase64(hex: string): string | undefined {
  if (hex === '') return undefined;
  const bytes = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytesToBase64(bytes);
}

// ------------------------------------------------------------------------------------------------
// Search

/** Tempo's placeholder for the root service of a trace whose root span has not arrived. */
export const TEMPO_ROOT_SPAN_NOT_YET_RECEIVED = '<root span not yet received>';

/** A span of a matched spanset, as `/api/search` lists it. */
export interface TempoSearchSpanJson {
  readonly spanID: string;
  /** Only when the query read `name` (or selected it). */
  readonly name?: string;
  readonly startTimeUnixNano?: string;
  readonly durationNanos?: string;
  /** The fields the query read or selected, by unscoped name; intrinsics as words. */
  readonly attributes?: readonly TempoKeyValueJson[];
}

/** A matched spanset: at most `spss` spans, `matched` counting all of them. */
export interface TempoSpanSetJson {
  readonly spans?: readonly TempoSearchSpanJson[];
  readonly matched?: number;
  /** `by()` groups and aggregate values (`count()`, `avg(duration)`). */
  readonly attributes?: readonly TempoKeyValueJson[];
}

/** One trace of a search response (`tempopb.TraceSearchMetadata`). */
export interface TempoTraceSearchMetadataJson {
  readonly traceID: string;
  readonly rootServiceName?: string;
  readonly rootTraceName?: string;
  readonly startTimeUnixNano?: string;
  readonly durationMs?: number;
  /** Deprecated by Tempo, still read by Grafana: the first of `spanSets`. */
  readonly spanSet?: TempoSpanSetJson;
  readonly spanSets?: readonly TempoSpanSetJson[];
  readonly serviceStats?: Readonly<Record<string, { readonly spanCount?: number; readonly errorCount?: number }>>;
}

/** Options of {@link tempoTraceSearchMetadata}. */
export interface TempoSearchMetadataOptions {
  /** Spans listed per spanset at most (Tempo's `spss`); 0 lists none. `matched` counts them all. */
  readonly spansPerSpanset: number;
}

/**
 * One matching trace as Tempo's search lists it (`pkg/traceql/engine.go` asTraceSearchMetadata):
 * the trace id in hex without leading zeros; the root span's service and name (the earliest span
 * without a parent; `<root span not yet received>` and no name when there is none); the trace's
 * start and duration (earliest start to latest end, in whole milliseconds); span and error counts
 * per service; and, with a TraceQL `match`, its spansets: each span with its id, start, duration,
 * its `name` when the query read it, and as `attributes` the other fields the query read or
 * selected (not `duration` nor `span:id`, as in Tempo). Without `match` (Tempo's tag search),
 * no spansets. `spans` must be one trace's, not empty.
 */
export function tempoTraceSearchMetadata(
  spans: readonly Span[],
  match: TraceQLTraceMatch | undefined,
  options: TempoSearchMetadataOptions,
): TempoTraceSearchMetadataJson {
  let root: Span | undefined;
  let start = spans[0].startTimeUnixNano;
  let end = spans[0].endTimeUnixNano;
  const stats = new Map<string, { spanCount: number; errorCount: number }>();
  for (const span of spans) {
    if (span.parentSpanId === '' && (root === undefined || span.startTimeUnixNano < root.startTimeUnixNano)) {
      root = span;
    }
    if (span.startTimeUnixNano < start) start = span.startTimeUnixNano;
    if (span.endTimeUnixNano > end) end = span.endTimeUnixNano;
    let s = stats.get(span.serviceName);
    if (s === undefined) {
      s = { spanCount: 0, errorCount: 0 };
      stats.set(span.serviceName, s);
    }
    s.spanCount++;
    if (span.status.code === StatusCode.ERROR) s.errorCount++;
  }
  const durationMs = (end - start) / 1_000_000n;
  const serviceStats = Object.fromEntries(
    [...stats.keys()].sort().map((service) => [service, omitZero({ ...stats.get(service) })]),
  );
  const spanSets = match?.spansets.map((set) =>
    omitZero({
      spans: set.spans.slice(0, Math.max(0, options.spansPerSpanset)).map((span) => searchSpanJson(span, match)),
      matched: set.matched,
      attributes: set.attributes.map((a) => ({ key: a.name, value: tempoAnyValue(a.value) })),
    }),
  );
  return {
    traceID: tempoTraceIdHex(spans[0].traceId),
    ...omitZero({
      rootServiceName: root === undefined ? TEMPO_ROOT_SPAN_NOT_YET_RECEIVED : root.serviceName,
      rootTraceName: root?.name,
      startTimeUnixNano: zeroText(start.toString()),
      durationMs: durationMs > 0xffffffffn ? 0xffffffff : Number(durationMs),
      spanSet: spanSets?.[0],
      spanSets,
      serviceStats,
    }),
  };
}

/** Fields Tempo reports per span elsewhere, not among a span's `attributes`. */
const NOT_ATTRIBUTES: ReadonlySet<string> = new Set(['name', 'duration', 'span:id']);

function searchSpanJson(span: Span, match: TraceQLTraceMatch): TempoSearchSpanJson {
  const fields = match.fieldsOf(span);
  const name = fields.find((f) => f.key === 'name');
  return {
    spanID: span.spanId.padStart(16, '0'),
    ...omitZero({
      name: name === undefined ? undefined : name.value.type === 'string' ? name.value.value : undefined,
      startTimeUnixNano: zeroText(span.startTimeUnixNano.toString()),
      durationNanos: zeroText((span.endTimeUnixNano - span.startTimeUnixNano).toString()),
      attributes: fields
        .filter((f) => !NOT_ATTRIBUTES.has(f.key))
        .map((f) => ({ key: f.key, value: tempoAnyValue(f.value) })),
    }),
  };
}

/**
 * A TraceQL value as the OTLP value Tempo shows in search results: ints (as strings), floats,
 * bools, strings and arrays keep their types; durations become Go duration text (`1.5s`), status
 * and kind their words, nil the text `nil`.
 */
export function tempoAnyValue(value: TraceQLValue): AnyValueJson {
  return anyValueToJson(traceqlValueToAnyValue(value));
}

/** A trace id as Tempo's search prints it: lowercase hex without leading zeros. */
export function tempoTraceIdHex(traceId: string): string {
  return traceId.toLowerCase().replace(/^0+/, '');
}

// ------------------------------------------------------------------------------------------------
// Tags

/**
 * The intrinsic tag names Tempo offers for autocompletion (`pkg/search/util.go`
 * GetVirtualIntrinsicValues), in its order. `nestedSet*` are searchable but not offered.
 */
export const TEMPO_INTRINSIC_TAGS: readonly string[] = [
  'duration',
  'name',
  'status',
  'statusMessage',
  'kind',
  'rootServiceName',
  'rootName',
  'traceDuration',
  'event:name',
  'event:timeSinceStart',
  'link:spanID',
  'link:traceID',
  'instrumentation:name',
  'instrumentation:version',
  'trace:id',
  'span:id',
  'span:parentID',
  'span:status',
  'span:statusMessage',
  'span:duration',
  'span:name',
  'span:kind',
  'trace:rootName',
  'trace:rootService',
  'trace:duration',
];

/** The values of `status`, as Tempo lists them. */
export const TEMPO_STATUS_VALUES: readonly StatusValue[] = ['ok', 'error', 'unset'];

/** The values of `kind`, as Tempo lists them. */
export const TEMPO_KIND_VALUES: readonly KindValue[] = [
  'client',
  'server',
  'producer',
  'consumer',
  'internal',
  'unspecified',
];

/** A stored attribute value, as a tag-values lookup returns it. */
export type TempoTagValueInput =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'int'; readonly value: bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean };

/** A typed tag value (`tempopb.TagValue`): its TraceQL type and its text. */
export interface TempoTagValueJson {
  readonly type: 'string' | 'int' | 'float' | 'bool' | 'keyword' | 'duration';
  readonly value: string;
}

/** A value as `/api/v2/search/tag/{tag}/values` lists it: its type, and its value as text. */
export function tempoTagValue(value: TempoTagValueInput): TempoTagValueJson {
  return { type: value.type, value: tempoTagValueText(value) };
}

/** A value as text, as the old `/api/search/tag/{tag}/values` lists it (`500`, `1.5`, `true`). */
export function tempoTagValueText(value: TempoTagValueInput): string {
  return typeof value.value === 'string' ? value.value : String(value.value);
}
