import { spansFromJaegerJson } from '../formats/jaeger.ts';
import { spansFromZipkinJson } from '../formats/zipkin.ts';
import { OtlpJsonError, spansFromOtlpJson } from '../model/otlp-json.ts';
import { base64ToBytes, bytesToHex, type Span } from '../model/span.ts';
import { TraceImportError } from './import-error.ts';

/**
 * Reads a trace file in whichever format it is, detected from its shape:
 * ```
 * { "resourceSpans": [...] }                 OTLP JSON (ExportTraceServiceRequest, TracesData)
 * { "batches": [...] } / { "trace": {...} }  OTLP JSON as Grafana Tempo's API returns it
 * one OTLP JSON object per line              the Collector's file exporter
 * [ { "traceId", "id", ... }, ... ]          Zipkin v2 spans
 * [ [ {...}, ... ], ... ]                    Zipkin v2 traces
 * { "data": [ { "traceID", "spans", "processes" } ] }   Jaeger query API
 * ```
 */

/** A trace file format that `importTraces` reads. */
export type TraceFormat = 'otlp-json' | 'zipkin-v2' | 'jaeger';

/** Spans read from a file, with the format they were detected as. */
export interface ImportedTraces {
  readonly format: TraceFormat;
  /** All spans of all traces in the file; group them with `splitByTrace`. */
  readonly spans: Span[];
}

const EXPECTED =
  'expected OTLP JSON ({"resourceSpans": [...]}), Zipkin v2 JSON (an array of spans with traceId and id, ' +
  'or an array of such arrays) or Jaeger JSON ({"data": [{"traceID", "spans", "processes"}]})';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Names the format of a parsed JSON document, or undefined when it is none of them. Zipkin v1
 * (spans with `binaryAnnotations`) is recognised only to be refused with a clear error.
 */
export function detectTraceFormat(body: unknown): TraceFormat | undefined {
  if (Array.isArray(body)) {
    let first: unknown = body[0];
    if (Array.isArray(first)) first = first.find((x) => x !== undefined) ?? {};
    if (body.length === 0) return 'zipkin-v2';
    if (isObject(first) && 'traceId' in first && 'id' in first) {
      if (
        'binaryAnnotations' in first ||
        (Array.isArray(first.annotations) && isObject(first.annotations[0]) && 'endpoint' in first.annotations[0])
      ) {
        throw new TraceImportError('this is Zipkin v1 JSON, which is not supported: export it from /api/v2 instead');
      }
      return 'zipkin-v2';
    }
    if (isObject(first) && Object.keys(first).length === 0) return 'zipkin-v2';
    return undefined;
  }
  if (!isObject(body)) return undefined;
  if (Array.isArray(body.resourceSpans) || Array.isArray(body.batches)) return 'otlp-json';
  if (isObject(body.trace) && Array.isArray(body.trace.resourceSpans)) return 'otlp-json';
  if (Array.isArray(body.data) && body.data.every((t) => isObject(t) && Array.isArray(t.spans))) return 'jaeger';
  if (Array.isArray(body.spans) && ('traceID' in body || 'processes' in body)) return 'jaeger';
  return undefined;
}

/** Tempo's API wraps OTLP differently and, as protobuf JSON, encodes ids in base64. */
function normaliseOtlp(body: Record<string, unknown>): unknown {
  let root = body;
  if (isObject(root.trace)) root = root.trace;
  const resourceSpans = (root.resourceSpans ?? root.batches) as unknown[];
  return {
    resourceSpans: resourceSpans.map((rs) => {
      if (!isObject(rs)) return rs;
      const scopeSpans = (rs.scopeSpans ?? rs.instrumentationLibrarySpans) as unknown;
      return {
        ...rs,
        scopeSpans: Array.isArray(scopeSpans)
          ? scopeSpans.map((ss) =>
              isObject(ss)
                ? {
                    ...ss,
                    scope: ss.scope ?? ss.instrumentationLibrary,
                    spans: Array.isArray(ss.spans) ? ss.spans.map(fixIds) : ss.spans,
                  }
                : ss,
            )
          : scopeSpans,
      };
    }),
  };
}

function fixId(value: unknown, bytes: number): unknown {
  if (typeof value !== 'string' || value === '' || (value.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(value))) {
    return value;
  }
  try {
    const decoded = base64ToBytes(value);
    return decoded.length === bytes ? bytesToHex(decoded) : value;
  } catch {
    return value;
  }
}

function fixIds(span: unknown): unknown {
  if (!isObject(span)) return span;
  return {
    ...span,
    traceId: fixId(span.traceId, 16),
    spanId: fixId(span.spanId, 8),
    parentSpanId: fixId(span.parentSpanId, 8),
    links: Array.isArray(span.links)
      ? span.links.map((l) => (isObject(l) ? { ...l, traceId: fixId(l.traceId, 16), spanId: fixId(l.spanId, 8) } : l))
      : span.links,
  };
}

/**
 * Converts a parsed JSON document in any supported format. Throws `TraceImportError` for an
 * unknown format or a malformed field (with its path).
 */
export function importTracesFromJson(body: unknown): ImportedTraces {
  const format = detectTraceFormat(body);
  if (format === undefined) throw new TraceImportError(`unrecognised trace format: ${EXPECTED}`);
  if (format === 'zipkin-v2') return { format, spans: spansFromZipkinJson(body) };
  if (format === 'jaeger') return { format, spans: spansFromJaegerJson(body) };
  try {
    return { format, spans: spansFromOtlpJson(normaliseOtlp(body as Record<string, unknown>)) };
  } catch (error) {
    if (error instanceof OtlpJsonError) throw new TraceImportError(`OTLP JSON: ${error.message}`);
    throw error;
  }
}

/**
 * Parses and converts the text of a trace file: one JSON document in any supported format, or
 * JSON lines (one OTLP, Zipkin or Jaeger document per line, as the Collector's file exporter
 * writes). Throws `TraceImportError` for text that is not JSON or not a known format.
 */
export function importTraces(text: string): ImportedTraces {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    if (lines.length > 1) {
      const spans: Span[] = [];
      let format: TraceFormat | undefined;
      for (let i = 0; i < lines.length; i++) {
        let doc: unknown;
        try {
          doc = JSON.parse(lines[i]);
        } catch (lineError) {
          throw new TraceImportError(`not JSON (line ${i + 1}): ${(lineError as Error).message}`);
        }
        const part = importTracesFromJson(doc);
        format ??= part.format;
        for (const span of part.spans) spans.push(span);
      }
      return { format: format ?? 'otlp-json', spans };
    }
    throw new TraceImportError(`not JSON: ${(error as Error).message}`);
  }
  return importTracesFromJson(body);
}
