import type { PropagationContext } from './context.ts';

/**
 * Reads fields from a carrier (HTTP headers, message properties), as OpenTelemetry's
 * `TextMapGetter`. `get` may return several values because HTTP fields may repeat; it must
 * match names case-insensitively when the carrier's names are not already lowercase
 * (Trace Context §3.2.1: "Vendors MUST expect the header name in any case").
 */
export interface TextMapGetter<Carrier = unknown> {
  keys(carrier: Carrier): string[];
  get(carrier: Carrier, key: string): string | string[] | undefined;
}

/** Writes one field into a carrier, as OpenTelemetry's `TextMapSetter`. Names are lowercase. */
export interface TextMapSetter<Carrier = unknown> {
  set(carrier: Carrier, key: string, value: string): void;
}

/**
 * The shape of OpenTelemetry's `TextMapPropagator`, without depending on OpenTelemetry:
 * `inject` writes the context into a carrier, `extract` returns a new context with what the
 * carrier holds (the input context is never changed), `fields` lists the field names it uses.
 */
export interface TextMapPropagator<Carrier = unknown> {
  inject(context: PropagationContext, carrier: Carrier, setter: TextMapSetter<Carrier>): void;
  extract(context: PropagationContext, carrier: Carrier, getter: TextMapGetter<Carrier>): PropagationContext;
  fields(): readonly string[];
}

/** A plain header record, as Node's `IncomingHttpHeaders`/`headersDistinct` or a `fetch` init object. */
export type HeaderRecord = Record<string, string | string[] | number | undefined>;

/**
 * Getter for a {@link HeaderRecord}. Names match case-insensitively; a name present under
 * several spellings, or as an array, gives all its values in record order. Numbers are turned
 * into strings. It does not split comma-joined values: that is each header's own grammar.
 */
export const headerRecordGetter: TextMapGetter<HeaderRecord> = Object.freeze({
  keys: (carrier: HeaderRecord) => Object.keys(carrier),
  get(carrier: HeaderRecord, key: string) {
    const wanted = key.toLowerCase();
    const values: string[] = [];
    for (const [name, value] of Object.entries(carrier)) {
      if (name.toLowerCase() !== wanted || value === undefined) continue;
      if (Array.isArray(value)) values.push(...value);
      else values.push(String(value));
    }
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  },
});

/** Setter for a {@link HeaderRecord}: replaces the field with a single string value. */
export const headerRecordSetter: TextMapSetter<HeaderRecord> = Object.freeze({
  set(carrier: HeaderRecord, key: string, value: string) {
    carrier[key] = value;
  },
});

/**
 * One propagator made of several, run in order: `inject` calls each one, `extract` threads the
 * context through each one, `fields` is the union. It does not catch errors of its members.
 */
export function createCompositePropagator<Carrier = unknown>(
  propagators: readonly TextMapPropagator<Carrier>[],
): TextMapPropagator<Carrier> {
  const fields = Object.freeze([...new Set(propagators.flatMap((p) => p.fields()))]);
  return Object.freeze({
    inject(context: PropagationContext, carrier: Carrier, setter: TextMapSetter<Carrier>) {
      for (const p of propagators) p.inject(context, carrier, setter);
    },
    extract(context: PropagationContext, carrier: Carrier, getter: TextMapGetter<Carrier>) {
      return propagators.reduce((ctx, p) => p.extract(ctx, carrier, getter), context);
    },
    fields: () => fields,
  });
}
