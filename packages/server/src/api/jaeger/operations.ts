import { SpanKind } from '@ariadne/core';
import type { SpanPredicate, SpanReader } from '../../query/span-store.ts';
import { JaegerParamError } from './params.ts';

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

/**
 * The operations of a service with the span kinds they were seen with, one entry per name and
 * kind, sorted by name then kind; only `kind` when given. Read as the distinct span names of the
 * service's spans of each kind (`listTagValues`), kept to the names `listOperations` knows.
 */
export async function listOperationKinds(
  reader: SpanReader,
  service: string,
  kind?: number,
): Promise<JaegerOperation[]> {
  const kinds = kind === undefined ? [0, 1, 2, 3, 4, 5] : [kind];
  const known = new Set(await reader.listOperations(service));
  const out: JaegerOperation[] = [];
  for (const k of kinds) {
    const where: SpanPredicate = {
      kind: 'and',
      args: [
        { kind: 'compare', field: { kind: 'service' }, op: '=', value: service },
        { kind: 'compare', field: { kind: 'kind' }, op: '=', value: BigInt(k) },
      ],
    };
    const names = await reader.listTagValues({ field: { kind: 'name' }, where, limit: MAX_OPERATIONS });
    for (const v of names) {
      if (v.type === 'string' && known.has(v.value)) out.push({ name: v.value, spanKind: KIND_BY_NUMBER[k] });
    }
  }
  return out.sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.spanKind < b.spanKind ? -1 : a.spanKind > b.spanKind ? 1 : 0,
  );
}
