import { type LimitedHeads, limitSpan, SPAN_LIMITS } from './limits.ts';
import type { AnyValue, KeyValue, Span } from './span.ts';

/** The span kinds OTLP defines, `SPAN_KIND_UNSPECIFIED` (0) to `SPAN_KIND_CONSUMER` (5). */
const MAX_SPAN_KIND = 5;
/** The status codes OTLP defines, `STATUS_CODE_UNSET` (0) to `STATUS_CODE_ERROR` (2). */
const MAX_STATUS_CODE = 2;

/**
 * Why OTLP says a decoded span must be rejected, or undefined if it is valid: trace and span ids
 * of the right length and not all zeros, a parent id that is empty or a valid span id, an end
 * time not before the start, and a span kind and status code that OTLP defines (protobuf enums
 * are open, so a decoder passes any int32 on; stored in a byte, 999 became 231 and -1 255).
 * Expects lowercase hex ids, as every decoder in Ariadne produces. Does not look at the text of
 * strings: see `textInvalidReason`.
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
  if (!(Number.isInteger(span.kind) && span.kind >= 0 && span.kind <= MAX_SPAN_KIND)) {
    return `span kind ${span.kind} is not one OTLP defines (0 to ${MAX_SPAN_KIND})`;
  }
  const code = span.status.code;
  if (!(Number.isInteger(code) && code >= 0 && code <= MAX_STATUS_CODE)) {
    return `status code ${code} is not one OTLP defines (0 to ${MAX_STATUS_CODE})`;
  }
  return undefined;
}

/**
 * A lone UTF-16 surrogate: in a `u` regular expression a valid surrogate pair is one code point,
 * so only unpaired halves match. Ariadne's OTLP decoders turn bytes that are not UTF-8 into lone
 * surrogates, one per byte, and JSON can carry them as `\ud800` escapes.
 */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const LONE_SURROGATE_G = /[\uD800-\uDFFF]/gu;

function badText(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

function badValue(value: AnyValue): boolean {
  switch (value.type) {
    case 'string':
      return badText(value.value);
    case 'array':
      return value.value.some(badValue);
    case 'kvlist':
      return badAttributes(value.value) !== undefined;
    default:
      return false;
  }
}

/** The key of the first attribute whose key or value holds text that is not Unicode. */
function badAttributes(list: readonly KeyValue[]): string | undefined {
  for (const kv of list) if (badText(kv.key) || badValue(kv.value)) return kv.key;
  return undefined;
}

/**
 * Why a span must be rejected for its text, or undefined: every string of the span, its events,
 * links, resource and scope must be valid Unicode, as protobuf requires of `string` fields and
 * JSON of its text. A string that is not (invalid UTF-8 in protobuf, or a lone surrogate escape in
 * JSON) arrives here holding a lone surrogate. Walks every string, so decoders ask for it only
 * when their input had such text.
 */
export function textInvalidReason(span: Span): string | undefined {
  const where = (what: string) => `invalid UTF-8 in ${what}`;
  if (badText(span.name)) return where('the name');
  if (badText(span.traceState)) return where('the trace state');
  if (badText(span.status.message)) return where('the status message');
  let key = badAttributes(span.attributes);
  if (key !== undefined) return where(`attribute ${JSON.stringify(key)}`);
  for (const event of span.events) {
    if (badText(event.name) || badAttributes(event.attributes) !== undefined) return where('an event');
  }
  for (const link of span.links) {
    if (badText(link.traceState) || badAttributes(link.attributes) !== undefined) return where('a link');
  }
  key = badAttributes(span.resource.attributes);
  if (key !== undefined || badText(span.resource.schemaUrl)) return where('the resource');
  const scope = span.scope;
  if (badText(scope.name) || badText(scope.version) || badText(scope.schemaUrl)) return where('the scope');
  if (badAttributes(scope.attributes) !== undefined) return where('the scope');
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

/** Options of `validateSpans`. */
export interface ValidateOptions {
  /**
   * Also reject spans holding text that is not valid Unicode (`textInvalidReason`). Decoders ask
   * for it when their input had such text; checking every string of every span otherwise costs
   * ingest time for nothing.
   */
  readonly checkText?: boolean;
}

/**
 * A decoder that hands each span to `visit` as soon as it is decoded, saying whether that span's
 * text must be checked (`textInvalidReason`). Validating spans as they come means that rejected
 * ones never pile up: a 16 MiB request of empty spans made 3 GiB of span objects when all were
 * decoded before any was validated.
 */
export type SpanSource = (visit: (span: Span, checkText: boolean, limited?: number) => void) => void;

/**
 * Splits decoded spans into valid and rejected, as OTLP partial success needs. A parent id of all
 * zeros is treated as "no parent" (some SDKs send it), not as an error. Takes the spans as a list
 * or straight from a decoder (`SpanSource`).
 */
export function validateSpans(spans: readonly Span[] | SpanSource, options: ValidateOptions = {}): ValidatedSpans {
  const validator = new SpanValidator(options);
  if (typeof spans === 'function') spans(validator.visit);
  else for (const span of spans) validator.visit(span, false);
  const { rejectedSpans, errorMessage } = validator.verdict();
  return { spans: validator.takeValid(), rejectedSpans, errorMessage };
}

/**
 * `validateSpans` one span at a time, for a decoder that works in slices: `visit` each decoded
 * span, `takeValid` the valid ones so far, and `verdict` at the end.
 */
export class SpanValidator {
  private readonly checkAll: boolean;
  private valid: Span[] = [];
  private readonly reasons: string[] = [];
  private rejected = 0;
  private accepted = 0;
  private limited = 0;
  private index = 0;
  private readonly limitedHeads: LimitedHeads = new WeakMap();

  constructor(options: ValidateOptions = {}) {
    this.checkAll = options.checkText === true;
  }

  /**
   * Validates one span (`checkText`: its text may not be Unicode) and keeps it within
   * `SPAN_LIMITS`; `limited`: items the decoder already dropped for those limits. A bound function.
   */
  readonly visit = (decoded: Span, checkText: boolean, limited = 0): void => {
    const within = limitSpan(decoded, this.limitedHeads);
    this.limited += limited + within.dropped + within.droppedFromHeads;
    let span = within.span;
    if (span.parentSpanId.length === 16 && isAllZero(span.parentSpanId)) {
      span = { ...span, parentSpanId: '' };
    }
    const reason = spanInvalidReason(span) ?? (this.checkAll || checkText ? textInvalidReason(span) : undefined);
    if (reason === undefined) {
      this.valid.push(span);
      this.accepted++;
    } else {
      this.rejected++;
      if (this.reasons.length < 5) {
        // A name that is not Unicode is shown with replacement characters: the message is sent back.
        const name = span.name.replace(LONE_SURROGATE_G, '\uFFFD');
        this.reasons.push(`span ${this.index} (${name || 'unnamed'}): ${reason}`);
      }
    }
    this.index++;
  };

  /** The valid spans visited since the last call. */
  takeValid(): Span[] {
    const valid = this.valid;
    this.valid = [];
    return valid;
  }

  /** How many spans were valid and rejected so far, and why the first few were rejected. */
  verdict(): { readonly acceptedSpans: number; readonly rejectedSpans: number; readonly errorMessage: string } {
    let errorMessage = this.reasons.join('; ');
    if (this.rejected > this.reasons.length) errorMessage += `; and ${this.rejected - this.reasons.length} more`;
    if (this.limited > 0) {
      // A warning with nothing rejected is still sent back (OTLP partial success allows it).
      const warning = `${this.limited} attributes, events or links beyond ${SPAN_LIMITS.attributes} per list were dropped (counted in the dropped counts of their spans, events, links, resources and scopes)`;
      errorMessage = errorMessage === '' ? warning : `${errorMessage}; ${warning}`;
    }
    return { acceptedSpans: this.accepted, rejectedSpans: this.rejected, errorMessage };
  }
}
