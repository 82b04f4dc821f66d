import { parseBaggage, serializeBaggage } from './baggage.ts';
import type { PropagationContext } from './context.ts';
import { withBaggage } from './context.ts';
import type { TextMapGetter, TextMapPropagator, TextMapSetter } from './text-map.ts';

/** Header name of the W3C baggage field (lowercase, Baggage §Header Name). */
export const BAGGAGE_HEADER = 'baggage';

/**
 * The W3C Baggage propagator (https://www.w3.org/TR/baggage/), in the shape of OpenTelemetry's
 * `W3CBaggagePropagator`. `extract` reads every `baggage` field of the carrier with
 * `parseBaggage` (combined, limits on the combination) and returns the context with that
 * baggage, or the context unchanged when no valid member is found. `inject` writes the
 * context's baggage with `serializeBaggage` and writes nothing when it is empty. It does not
 * touch trace context and does not deduplicate across contexts.
 */
export function createBaggagePropagator<Carrier = unknown>(): TextMapPropagator<Carrier> {
  const fields = Object.freeze([BAGGAGE_HEADER]);
  return Object.freeze({
    inject(context: PropagationContext, carrier: Carrier, setter: TextMapSetter<Carrier>) {
      if (context.baggage === undefined) return;
      const header = serializeBaggage(context.baggage);
      if (header !== '') setter.set(carrier, BAGGAGE_HEADER, header);
    },
    extract(context: PropagationContext, carrier: Carrier, getter: TextMapGetter<Carrier>) {
      const header = getter.get(carrier, BAGGAGE_HEADER);
      if (header === undefined) return context;
      const baggage = parseBaggage(header);
      return baggage.size === 0 ? context : withBaggage(context, baggage);
    },
    fields: () => fields,
  });
}
