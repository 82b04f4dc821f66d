/**
 * Test support for the compatible APIs' client tests (Jaeger UI and Grafana replays, Grafana's
 * Tempo data source, Zipkin clients): a real `ariadne serve` on free ports with the Zipkin,
 * Jaeger and Tempo listeners on, on the embedded store or on a real ClickHouse server of its own
 * (the harness's, stopped with it); the suites declared once per store; and OpenTelemetry tracer
 * providers that export over OTLP/HTTP to that server. Not for production code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { type RunningServer, startServer } from '../main.ts';
import { clickHouseMissing, startClickHouse } from '../store/testdata/clickhouse-server.ts';

/** Where the server under test keeps its spans. */
export type TestStore = 'embedded' | 'clickhouse';

/** A running server with every compatible API on, and the URLs the clients are pointed at. */
export interface CompatTestServer {
  readonly server: RunningServer;
  readonly store: TestStore;
  /** `http://127.0.0.1:PORT` of the Zipkin, Jaeger and Tempo listeners. */
  readonly zipkin: string;
  readonly jaeger: string;
  readonly tempo: string;
  close(): Promise<void>;
}

/** A port free at the time of asking (the compatible APIs take no port 0: 0 turns them off). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * Starts `ariadne serve` in process on free ports with a fresh data directory and the Zipkin,
 * Jaeger and Tempo ports on; with `clickhouse`, its spans in a ClickHouse server started for it.
 */
export async function startCompatServer(store: TestStore): Promise<CompatTestServer> {
  const clickHouse = store === 'clickhouse' ? await startClickHouse() : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-compat-'));
  try {
    const server = await startServer({
      store: clickHouse ? `clickhouse://${new URL(clickHouse.url).host}/compat` : undefined,
      dataDir,
      host: '127.0.0.1',
      apiPort: 0,
      otlpHttpPort: 0,
      otlpGrpcPort: 0,
      zipkinPort: await freePort(),
      jaegerPort: await freePort(),
      tempoPort: await freePort(),
      // Clients send spans and read them back at once.
      readConsistency: 'read-your-writes',
    });
    const { zipkin, jaeger, tempo } = server.compatUrls;
    return {
      server,
      store,
      zipkin,
      jaeger,
      tempo,
      async close() {
        await server.close();
        await clickHouse?.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await clickHouse?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Declares a suite once per store: `describe(`${title} (embedded store)`)` and the same on
 * ClickHouse, skipped when clickhouse-server is not installed, and then, under `CI=true`, a
 * failing test that says so (in CI a missing server is a failure, not a skip).
 */
export function describeOnEachStore(title: string, suite: (store: TestStore) => void): void {
  const missing = clickHouseMissing();
  if (missing && process.env.CI === 'true') {
    test(`${title}: clickhouse-server is installed (required when CI=true)`, () => assert.fail(missing));
  }
  describe(`${title} (embedded store)`, () => suite('embedded'));
  describe(`${title} (ClickHouse store)`, { skip: missing ?? false }, () => suite('clickhouse'));
}

/** How an OTLP/HTTP exporter encodes: JSON or protobuf. */
export type OtlpEncoding = 'json' | 'protobuf';

/**
 * One tracer provider per resource, each exporting every ended span at once over OTLP/HTTP to
 * the server, as an instrumented service does; `flush()` sends what is left and shuts them down.
 */
export function otlpTracerProviders(
  otlpHttpUrl: string,
  resources: readonly Attributes[],
  encoding: OtlpEncoding,
): { readonly providers: BasicTracerProvider[]; flush(): Promise<void> } {
  const exporter = (): SpanExporter => {
    const url = `${otlpHttpUrl}/v1/traces`;
    return encoding === 'json' ? new OtlpJsonExporter({ url }) : new OtlpProtoExporter({ url });
  };
  const providers = resources.map(
    (attributes) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes(attributes),
        spanProcessors: [new SimpleSpanProcessor(exporter())],
      }),
  );
  return {
    providers,
    async flush() {
      for (const p of providers) {
        await p.forceFlush();
        await p.shutdown();
      }
    },
  };
}
