import type { KeyValue, Span, SpanEvent, SpanLink } from '../model/span.ts';
import { unixNanos } from '../model/units.ts';

/**
 * Span factory for the analysis tests and the benchmark: hand-drawn traces are written in small
 * integer offsets from `BASE_NANOS`, with everything else defaulted. Not for production code.
 */

/** The unix-nanosecond origin of hand-drawn test traces (2023-11-14). */
export const BASE_NANOS = 1_700_000_000_000_000_000n;

/** What a test span needs; `start` and `end` are offsets from `BASE_NANOS`. */
export interface TestSpanInit {
  readonly id: string;
  readonly parent?: string;
  readonly start: number;
  readonly end: number;
  readonly service?: string;
  readonly name?: string;
  readonly kind?: number;
  readonly status?: number;
  readonly statusMessage?: string;
  /** Sets the resource attribute `host.name`. */
  readonly host?: string;
  readonly attributes?: readonly KeyValue[];
  readonly events?: readonly SpanEvent[];
  readonly links?: readonly SpanLink[];
  readonly traceId?: string;
}

/** Pads a short test id (like `a`) to a 16-hex-digit span id, so `testId('a')` is stable. */
export function testId(id: string): string {
  if (/^[0-9a-f]{16}$/.test(id)) return id;
  let hex = '';
  for (const ch of id) hex += ch.charCodeAt(0).toString(16).padStart(2, '0');
  return hex.slice(-16).padStart(16, '0');
}

/** Builds one span; ids are passed through `testId`. */
export function testSpan(init: TestSpanInit): Span {
  const service = init.service ?? 'svc';
  const resourceAttributes: KeyValue[] = [{ key: 'service.name', value: { type: 'string', value: service } }];
  if (init.host !== undefined)
    resourceAttributes.push({ key: 'host.name', value: { type: 'string', value: init.host } });
  return {
    traceId: init.traceId ?? '0af7651916cd43dd8448eb211c80319c',
    spanId: testId(init.id),
    parentSpanId: init.parent === undefined ? '' : testId(init.parent),
    traceState: '',
    flags: 1,
    name: init.name ?? init.id,
    kind: init.kind ?? 1,
    startTimeUnixNano: unixNanos(BASE_NANOS + BigInt(init.start)),
    endTimeUnixNano: unixNanos(BASE_NANOS + BigInt(init.end)),
    attributes: init.attributes ?? [],
    droppedAttributesCount: 0,
    events: init.events ?? [],
    droppedEventsCount: 0,
    links: init.links ?? [],
    droppedLinksCount: 0,
    status: { code: init.status ?? 0, message: init.statusMessage ?? '' },
    serviceName: service,
    resource: { attributes: resourceAttributes, droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: 'test', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  };
}

export { seededRandom } from '../model/seeded-random.ts';
