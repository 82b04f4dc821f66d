import { fileURLToPath } from 'node:url';
import { buildApiApp } from './api/app.ts';
import { OtlpGrpcReceiver } from './ingest/otlp-grpc.ts';
import { buildOtlpHttpApp } from './ingest/otlp-http.ts';
import { WriteQueue } from './ingest/write-queue.ts';
import { DuckDbSpanStore } from './store/duckdb-store.ts';
import { memoryBudget, parseMemorySize } from './store/memory-budget.ts';

/**
 * The one place where Ariadne's parts are wired together. Read top to bottom, `startServer` is the
 * data flow: store ← write queue ← OTLP receivers (HTTP, gRPC); store ← query API ← web UI / CLI.
 */

/** Everything `ariadne serve` can be told. See cli/config.ts for flags and environment variables. */
export interface ServerConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly apiPort: number;
  readonly otlpHttpPort: number;
  readonly otlpGrpcPort: number;
  /** Largest OTLP request accepted, after decompression. */
  readonly maxBodyBytes?: number;
  /** Spans accepted but not yet committed before receivers answer 503 / UNAVAILABLE. */
  readonly maxPendingSpans?: number;
  /** Spans per store transaction (requests are never split). */
  readonly maxBatchSpans?: number;
  /** Memory limit shared by the database and the pending spans (store/memory-budget.ts), e.g. `2GB`. */
  readonly memoryLimit?: string;
  /** Delete spans older than this many nanoseconds, continuously; unset keeps everything. */
  readonly retentionNanos?: bigint;
  /** Directory of the built web UI; defaults to packages/web/dist. */
  readonly webRoot?: string;
}

/** A running server: where it listens, and how to stop it. */
export interface RunningServer {
  readonly apiUrl: string;
  readonly otlpHttpUrl: string;
  /** `host:port` of the OTLP/gRPC receiver. */
  readonly otlpGrpcAddress: string;
  /** `http://host:port` of the OTLP/gRPC receiver, as OTLP exporters take it. */
  readonly otlpGrpcUrl: string;
  readonly store: DuckDbSpanStore;
  /** Stops receiving, commits everything already accepted, closes the store. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the store, the OTLP receivers and the query API. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const maxBodyBytes = config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  // Memory: one limit, shared by the database and the spans waiting to be committed.
  const memoryBytes = config.memoryLimit === undefined ? undefined : parseMemorySize(config.memoryLimit);
  const budget = memoryBytes === undefined ? undefined : memoryBudget(memoryBytes);

  // Store: the embedded DuckDB database in the data directory.
  const store = await DuckDbSpanStore.open({
    dataDir: config.dataDir,
    memoryLimit: budget?.databaseMemoryLimit ?? config.memoryLimit,
    retentionNanos: config.retentionNanos,
  });

  // Ingest: receivers decode, validate and enqueue; the queue batches and commits before acking.
  const queue = new WriteQueue({
    writer: store,
    maxPendingSpans: config.maxPendingSpans ?? budget?.maxPendingSpans ?? 200_000,
    maxBatchSpans: config.maxBatchSpans ?? budget?.maxBatchSpans ?? 50_000,
  });
  const otlpHttp = buildOtlpHttpApp({ queue, maxBodyBytes });
  const grpc = new OtlpGrpcReceiver({ queue, maxMessageBytes: maxBodyBytes });

  // Query: the HTTP API and the web UI read from the store.
  let ready = false;
  const api = buildApiApp({ store, webRoot: config.webRoot ?? DEFAULT_WEB_ROOT, isReady: () => ready });

  const started: { close: () => Promise<unknown> }[] = [];
  try {
    await otlpHttp.listen({ host: config.host, port: config.otlpHttpPort });
    started.push(otlpHttp);
    const grpcPort = await grpc.listen(config.host, config.otlpGrpcPort);
    started.push(grpc);
    await api.listen({ host: config.host, port: config.apiPort });
    started.push(api);
    ready = true;
    const port = (app: typeof api) => {
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : 0;
    };
    const host = urlHost(config.host);
    let closing: Promise<void> | undefined;
    return {
      apiUrl: `http://${host}:${port(api)}`,
      otlpHttpUrl: `http://${host}:${port(otlpHttp)}`,
      otlpGrpcAddress: `${host}:${grpcPort}`,
      otlpGrpcUrl: `http://${host}:${grpcPort}`,
      store,
      close() {
        closing ??= (async () => {
          ready = false;
          // Stop receiving first, then commit what was accepted, then stop answering queries.
          await Promise.all([otlpHttp.close(), grpc.close()]);
          await queue.close();
          await api.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    await store.close();
    throw error;
  }
}
