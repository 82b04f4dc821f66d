import { TraceFlags } from './context.ts';
import { isValidSpanId, isValidTraceId } from './ids.ts';

/** Length of a version `00` traceparent: `vv-` + 32 + `-` + 16 + `-` + 2. */
const V00_LENGTH = 55;

/**
 * The four fields of a valid `traceparent` header, as parsed by {@link parseTraceparent}.
 * `version` is the two hex characters received (`00`, or a higher version whose first four
 * fields were read); `traceFlags` is the flags byte as received, unknown bits included.
 */
export interface Traceparent {
  readonly version: string;
  readonly traceId: string;
  readonly parentId: string;
  readonly traceFlags: number;
}

const LOWER_HEX_2 = /^[0-9a-f]{2}$/;

/**
 * Parses a `traceparent` header value (W3C Trace Context Level 2, §3.2
 * https://www.w3.org/TR/trace-context-2/#traceparent-header) into its fields, or `undefined`
 * when the header is invalid and the receiver must restart the trace:
 *
 * ```
 * 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
 * vv-<------------ trace-id -------->-<- parent-id -->-ff
 * ```
 *
 * - every field is lowercase hex only (`HEXDIGLC`, §3.2.2); uppercase is invalid;
 * - version `ff` is invalid (§3.2.2.1);
 * - an all-zero trace-id or parent-id is invalid (§3.2.2.3, §3.2.2.4);
 * - version `00` is exactly 55 characters (§3.2.2.2), nothing may follow the flags;
 * - a higher version (§3.2.4 Versioning of traceparent) is at least 55 characters, and if it is
 *   longer the character after the flags must be `-`; only the first four fields are read and
 *   the rest is ignored.
 *
 * Surrounding optional whitespace (spaces, tabs) is trimmed, as HTTP does for field values.
 * It does not mask the flags: {@link formatTraceparent} and the propagator drop unknown bits.
 */
export function parseTraceparent(header: string): Traceparent | undefined {
  const value = header.replace(/^[ \t]+|[ \t]+$/g, '');
  if (value.length < V00_LENGTH) return undefined;
  const version = value.slice(0, 2);
  if (!LOWER_HEX_2.test(version) || value[2] !== '-' || version === 'ff') return undefined;
  if (version === '00' && value.length !== V00_LENGTH) return undefined;
  if (value.length > V00_LENGTH && value[V00_LENGTH] !== '-') return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (value[35] !== '-' || value[52] !== '-') return undefined;
  if (!isValidTraceId(traceId) || !isValidSpanId(parentId) || !LOWER_HEX_2.test(flags)) return undefined;
  return Object.freeze({ version, traceId, parentId, traceFlags: Number.parseInt(flags, 16) });
}

/** The fields {@link formatTraceparent} needs: a trace id, the new parent id and the flags. */
export interface TraceparentFields {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

/**
 * Formats a version `00` `traceparent` value from a span context: the span id becomes the
 * `parent-id` seen by the receiver. Always writes version `00`, the highest this code knows,
 * also when the trace came in with a higher version (§3.2.4, §3.4 "Downgrade the version").
 * Only the sampled (0x01) and random-trace-id (0x02) bits are written; other bits are reserved
 * and set to zero (§3.2.2.5.3 Other Flags). Throws a `RangeError` for an id that is not valid
 * lowercase hex or is all zeros, rather than emit a header every receiver would discard.
 * Giving the outgoing request a new parent id is the caller's job (see `createChildSpanContext`).
 */
export function formatTraceparent(fields: TraceparentFields): string {
  if (!isValidTraceId(fields.traceId)) throw new RangeError(`invalid trace id: ${fields.traceId}`);
  if (!isValidSpanId(fields.spanId)) throw new RangeError(`invalid span id: ${fields.spanId}`);
  const flags = (fields.traceFlags & TraceFlags.KNOWN).toString(16).padStart(2, '0');
  return `00-${fields.traceId}-${fields.spanId}-${flags}`;
}
