import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { generateSpanId, generateTraceId } from '@ariadne/core';
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { createOtelPropagator } from './otel-propagator.ts';

/** One service's OpenTelemetry SDK: its tracer, and a way to flush and stop it. */
export interface Telemetry {
  readonly tracer: Tracer;
  /** Exports every ended span, then stops the SDK and the HTTP instrumentation. */
  shutdown(): Promise<void>;
}

/**
 * Sets up OpenTelemetry's Node SDK for one shop service, as an application would:
 * `NodeTracerProvider` (async-hooks context, registered as the global provider) with
 * `service.name` and `host.name`; trace and span ids from core's crypto generators (so the
 * random-trace-id flag is true); Ariadne's W3C Trace Context and Baggage propagators as the
 * global propagator through the adapter; the HTTP instrumentation for incoming and outgoing
 * requests; and a batching OTLP/HTTP (protobuf) exporter. The exporter and the batcher read the
 * standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * (default http://localhost:4318), `OTEL_BSP_SCHEDULE_DELAY` and friends.
 *
 * Call it before the service handles requests. The instrumentation patches the `node:http`
 * module object in place, so services must call `http.request` / `http.createServer` through
 * the default import, not through named imports bound before the patch.
 */
export function startTelemetry(options: { readonly serviceName: string }): Telemetry {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      'service.namespace': 'shop',
      'host.name': hostname(),
    }),
    idGenerator: { generateTraceId, generateSpanId },
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register({ propagator: createOtelPropagator({ randomTraceIds: true }) });
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new HttpInstrumentation()],
  });
  // The instrumentation hooks `require`; requiring the module once applies the patch, which ESM
  // code sees through the shared module object.
  createRequire(import.meta.url)('node:http');
  return {
    tracer: provider.getTracer('ariadne-shop', '0.1.0'),
    async shutdown() {
      await provider.forceFlush();
      unregister();
      await provider.shutdown();
    },
  };
}
