import type { Span } from '@ariadne/core';
import type { TraceQuery } from '../query/span-store.ts';
import { attributeFilterCandidates, encodeAttribute } from './attribute-codec.ts';

/**
 * Whether one span meets every span condition of a search (service, operation, status,
 * durations, the time window on its start, and each `key=value` filter on its own attributes or
 * its resource's), with the same meaning as the stores' SQL: a filter value matches an attribute
 * whose stored text is one of `attributeFilterCandidates`. For stores that narrow candidates by
 * an index and check the rest on the spans they read.
 */
export function spanMatcher(query: TraceQuery): (span: Span) => boolean {
  const filters = (query.attributes ?? []).map((f) => new Set(attributeFilterCandidates(f.key, f.value)));
  const status = query.status === undefined ? undefined : query.status === 'error' ? 2 : query.status === 'ok' ? 1 : 0;
  return (span) => {
    const start = span.startTimeUnixNano as bigint;
    const duration = (span.endTimeUnixNano as bigint) - start;
    if (query.startUnixNano !== undefined && start < query.startUnixNano) return false;
    if (query.endUnixNano !== undefined && start >= query.endUnixNano) return false;
    if (query.service !== undefined && span.serviceName !== query.service) return false;
    if (query.operation !== undefined && span.name !== query.operation) return false;
    if (status !== undefined && span.status.code !== status) return false;
    if (query.minDurationNanos !== undefined && duration < query.minDurationNanos) return false;
    if (query.maxDurationNanos !== undefined && duration > query.maxDurationNanos) return false;
    if (filters.length === 0) return true;
    const texts = new Set([...span.attributes, ...span.resource.attributes].map(encodeAttribute));
    return filters.every((candidates) => [...candidates].some((c) => texts.has(c)));
  };
}
