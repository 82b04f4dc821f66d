import { compileTraceQL, SpanKind } from '@ariadne/core';
import type { SpanPredicate, SpanReader } from '../../query/span-store.ts';
import { searchTraceQL } from '../../query/traceql-search.ts';
import { JaegerParamError } from './params.ts';
import { quote } from './search.ts';

/** An operation as Jaeger lists it: a span name and the span kind it was seen with (`''` unspecified). */
export interface JaegerOperation {
  readonly name: string;
  readonly spanKind: string;
}

/** Jaeger's span kind names, by OTLP number. */
const KIND_BY_NUMBER: readonly string[] = ['', 'internal', 'server', 'client', 'producer', 'consumer'];

/** Operation names of one service listed per kind, at most. */
const MAX_OPERATIONS = 10_000;

/**
 * Parses Jaeger's `spanKind` parameter: `server`, `client`, `producer`, `consumer`, `internal`
 * (or `unspecified`); empty is every kind (undefined).
 */
export function parseSpanKind(text: string, name = 'spanKind'): number | undefined {
  if (text === '') return undefined;
  if (text === 'unspecified') return SpanKind.UNSPECIFIED;
  const kind = KIND_BY_NUMBER.indexOf(text);
  if (kind <= 0) {
    throw new JaegerParamError(
      `unable to parse param '${name}': unsupported span kind ${JSON.stringify(text)}; use server, client, producer, consumer or internal`,
    );
  }
  return kind;
}

/** Recent traces of one operation whose spans show its kinds, on a store that cannot filter by kind. */
const KIND_SAMPLE_TRACES = 10;

/** A span kind no span has: a store that lists names for it ignores the kind condition. */
const NO_SUCH_KIND = 99n;

/** The condition "of `service`, of span kind `kind`". */
function ofServiceAndKind(service: string, kind: bigint): SpanPredicate {
  return {
    kind: 'and',
    args: [
      { kind: 'compare', field: { kind: 'service' }, op: '=', value: service },
      { kind: 'compare', field: { kind: 'kind' }, op: '=', value: kind },
    ],
  };
}

/** Sorted by name, then kind. */
function byNameThenKind(a: JaegerOperation, b: JaegerOperation): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.spanKind < b.spanKind ? -1 : a.spanKind > b.spanKind ? 1 : 0;
}

/**
 * The operations of a service with the span kinds they were seen with, one entry per name and
 * kind, sorted by name then kind; only `kind` when given. Read as the distinct span names of the
 * service's spans of each kind (`listTagValues`), kept to the names `listOperations` knows.
 *
 * A store may ignore a condition it cannot express (`TagValuesQuery.where`): the ClickHouse store
 * has no span kind in its index, and would list every name under every kind. One probe with a
 * kind no span has tells; such a store's kinds are read instead from the spans of the
 * operation's most recent traces (at most {@link KIND_SAMPLE_TRACES} per name, through the
 * TraceQL search), so a kind seen only on older spans may be missing there.
 */
export async function listOperationKinds(
  reader: SpanReader,
  service: string,
  kind?: number,
): Promise<JaegerOperation[]> {
  const kinds = kind === undefined ? [0, 1, 2, 3, 4, 5] : [kind];
  const known = new Set(await reader.listOperations(service));
  const probe = await reader.listTagValues({
    field: { kind: 'name' },
    where: ofServiceAndKind(service, NO_SUCH_KIND),
    limit: 1,
  });
  if (probe.length > 0) return sampleOperationKinds(reader, service, [...known], kinds);
  const out: JaegerOperation[] = [];
  for (const k of kinds) {
    const where = ofServiceAndKind(service, BigInt(k));
    const names = await reader.listTagValues({ field: { kind: 'name' }, where, limit: MAX_OPERATIONS });
    for (const v of names) {
      if (v.type === 'string' && known.has(v.value)) out.push({ name: v.value, spanKind: KIND_BY_NUMBER[k] });
    }
  }
  return out.sort(byNameThenKind);
}

/** The kinds of each operation as its spans in a few recent traces show them, kept to `kinds`. */
async function sampleOperationKinds(
  reader: SpanReader,
  service: string,
  names: readonly string[],
  kinds: readonly number[],
): Promise<JaegerOperation[]> {
  const out: JaegerOperation[] = [];
  for (const name of names.slice(0, MAX_OPERATIONS)) {
    const source = `{ resource.service.name = ${quote(service)} && name = ${quote(name)} }`;
    const result = await searchTraceQL(reader, compileTraceQL(source), {
      limit: KIND_SAMPLE_TRACES,
      maxTracesEvaluated: KIND_SAMPLE_TRACES,
      source,
    });
    const seen = new Set<number>();
    for (const hit of result.traces)
      for (const span of hit.spans) if (span.serviceName === service && span.name === name) seen.add(span.kind);
    for (const k of seen) if (kinds.includes(k)) out.push({ name, spanKind: KIND_BY_NUMBER[k] ?? '' });
  }
  return out.sort(byNameThenKind);
}
