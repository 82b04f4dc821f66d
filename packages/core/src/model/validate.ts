import type { Span } from './span.ts';

/**
 * Why OTLP says a decoded span must be rejected, or undefined if it is valid: trace and span ids
 * of the right length and not all zeros, a parent id that is empty or a valid span id, and an end
 * time not before the start. Expects lowercase hex ids, as every decoder in Ariadne produces.
 */
export function spanInvalidReason(span: Span): string | undefined {
  if (span.traceId.length !== 32 || !isHex(span.traceId)) {
    return `trace id must be 16 bytes, got ${span.traceId.length / 2}`;
  }
  if (isAllZero(span.traceId)) return 'trace id is all zeros';
  if (span.spanId.length !== 16 || !isHex(span.spanId)) {
    return `span id must be 8 bytes, got ${span.spanId.length / 2}`;
  }
  if (isAllZero(span.spanId)) return 'span id is all zeros';
  if (span.parentSpanId.length !== 0) {
    if (span.parentSpanId.length !== 16 || !isHex(span.parentSpanId)) {
      return `parent span id must be empty or 8 bytes, got ${span.parentSpanId.length / 2}`;
    }
  }
  if (span.endTimeUnixNano < span.startTimeUnixNano) return 'end time is before start time';
  return undefined;
}

/** Lowercase hex digits only (a loop: a regular expression cost more, called three times a span). */
function isHex(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function isAllZero(hex: string): boolean {
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48) return false;
  return true;
}

/** Spans split into the valid ones and a count and summary of the rejected ones. */
export interface ValidatedSpans {
  readonly spans: Span[];
  readonly rejectedSpans: number;
  /** Empty when nothing was rejected; otherwise the first few reasons, with span positions. */
  readonly errorMessage: string;
}

/**
 * Splits decoded spans into valid and rejected, as OTLP partial success needs. A parent id of all
 * zeros is treated as "no parent" (some SDKs send it), not as an error.
 */
export function validateSpans(spans: readonly Span[]): ValidatedSpans {
  const valid: Span[] = [];
  const reasons: string[] = [];
  let rejected = 0;
  for (let i = 0; i < spans.length; i++) {
    let span = spans[i];
    if (span.parentSpanId.length === 16 && isAllZero(span.parentSpanId)) {
      span = { ...span, parentSpanId: '' };
    }
    const reason = spanInvalidReason(span);
    if (reason === undefined) {
      valid.push(span);
    } else {
      rejected++;
      if (reasons.length < 5) reasons.push(`span ${i} (${span.name || 'unnamed'}): ${reason}`);
    }
  }
  let errorMessage = reasons.join('; ');
  if (rejected > reasons.length) errorMessage += `; and ${rejected - reasons.length} more`;
  return { spans: valid, rejectedSpans: rejected, errorMessage };
}
