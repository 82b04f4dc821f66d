import * as grpc from '@grpc/grpc-js';
import type { TlsKeyPair } from '../auth/tls.ts';
import { grpcHttpStatus, type IngestMetrics } from '../metrics.ts';
import type { Admission } from './admission.ts';
import { encodeExportResponseProtobuf, encodeRpcStatusProtobuf, OtlpDecodeError } from './decode-otlp.ts';
import { LogFormat } from './ingest-log.ts';
import { QueueFullError, refusalReason, type WriteQueue } from './write-queue.ts';

/** Options for the OTLP/gRPC receiver. */
export interface OtlpGrpcOptions {
  readonly queue: WriteQueue;
  /** Largest message accepted, after decompression (default 16 MiB). */
  readonly maxMessageBytes: number;
  /**
   * Where spans received, accepted and refused, and call durations, are counted (default:
   * nowhere). Messages over `maxMessageBytes` are refused by grpc-js before they reach Ariadne and
   * are not counted.
   */
  readonly metrics?: IngestMetrics;
  /**
   * Checks each call's metadata before anything else (auth/grpc-auth.ts's `grpcRefusal`):
   * undefined lets it through, a message refuses it with UNAUTHENTICATED. Unset: open.
   */
  readonly authenticate?: (metadata: grpc.Metadata) => string | undefined;
  /** Certificate and key: the receiver speaks gRPC over TLS (`--tls-cert`, `--tls-key`). */
  readonly tls?: TlsKeyPair;
  /**
   * Refuses calls when overloaded (admission.ts): from the metadata, before the message arrives,
   * when the queue is full; and bounds the messages being decoded at once (default: none).
   */
  readonly admission?: Admission;
}

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** The gRPC method definition with raw bytes in and out: decoding is ours (see decode-otlp.ts). */
const traceService: grpc.ServiceDefinition = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (value: Buffer) => value,
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (value: Buffer) => value,
  },
};

function errorWithDetails(code: grpc.status, message: string, retryAfterSeconds?: number): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (retryAfterSeconds !== undefined) {
    metadata.set('grpc-status-details-bin', Buffer.from(encodeRpcStatusProtobuf(code, message, retryAfterSeconds)));
  }
  return { code, details: message, metadata };
}

/**
 * A server interceptor that answers UNAVAILABLE with `RetryInfo` from a call's metadata, before
 * its message is received, while the write queue is full (grpc-js reads a whole message before
 * the handler runs). A call the token check would refuse goes on, to be answered UNAUTHENTICATED.
 */
function refuseWhenFull(
  admission: Admission,
  metrics: IngestMetrics | undefined,
  authenticate: ((metadata: grpc.Metadata) => string | undefined) | undefined,
): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, pass) => {
              if (!admission.queueFull() || authenticate?.(metadata) !== undefined) return pass(metadata);
              metrics?.refused('otlp_grpc', 'queue_full');
              metrics?.request('otlp_grpc', EXPORT_PATH, grpcHttpStatus(grpc.status.UNAVAILABLE), 0);
              const message = 'write queue is full; retry later';
              call.sendStatus({
                ...errorWithDetails(grpc.status.UNAVAILABLE, message, 1),
                code: grpc.status.UNAVAILABLE,
                details: message,
              });
            })
            .build(),
        ),
    });
}

/**
 * The OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
 * INVALID_ARGUMENT for undecodable requests, UNAVAILABLE with `RetryInfo` when the write queue is
 * full or a write fails, OK (with partial success for rejected spans) once the spans are durable
 * (in the ingest log, or committed to the store when there is no log).
 * gzip request compression is handled by grpc-js.
 */
export class OtlpGrpcReceiver {
  private readonly server: grpc.Server;
  private readonly credentials: grpc.ServerCredentials;

  constructor(options: OtlpGrpcOptions) {
    this.credentials = options.tls
      ? grpc.ServerCredentials.createSsl(null, [{ private_key: options.tls.key, cert_chain: options.tls.cert }], false)
      : grpc.ServerCredentials.createInsecure();
    const { metrics, admission } = options;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      interceptors: admission ? [refuseWhenFull(admission, metrics, options.authenticate)] : [],
    });
    const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, send) => {
      // Every answer goes through `callback`, which records how long the call took.
      const started = performance.now();
      const callback: grpc.sendUnaryData<Buffer> = (error, value) => {
        const status = grpcHttpStatus(error?.code ?? grpc.status.OK);
        metrics?.request('otlp_grpc', EXPORT_PATH, status, (performance.now() - started) / 1000);
        send(error, value);
      };
      const refused = options.authenticate?.(call.metadata);
      if (refused !== undefined) return callback({ code: grpc.status.UNAUTHENTICATED, details: refused });
      const admitted = admission?.admit(call.request.length);
      if (admitted && !admitted.admitted) {
        metrics?.refused('otlp_grpc', admitted.reason);
        return callback(errorWithDetails(grpc.status.UNAVAILABLE, admitted.message, admitted.retryAfterSeconds));
      }
      const reservation = admitted?.reservation;
      const raw = { format: LogFormat.OTLP_PROTOBUF, body: call.request };
      options.queue.decode(raw).then(
        (decoded) => {
          reservation?.decoded(decoded.accepted + decoded.rejectedSpans);
          return options.queue.enqueueDecoded(decoded, raw).then(
            () => {
              metrics?.accepted('otlp_grpc', decoded);
              callback(
                null,
                Buffer.from(
                  encodeExportResponseProtobuf({
                    rejectedSpans: decoded.rejectedSpans,
                    errorMessage: decoded.errorMessage,
                  }),
                ),
              );
            },
            (error: Error) => {
              metrics?.refused('otlp_grpc', refusalReason(error), decoded);
              const retry = error instanceof QueueFullError ? error.retryAfterSeconds : 5;
              callback(errorWithDetails(grpc.status.UNAVAILABLE, error.message, retry));
            },
          );
        },
        (error: Error) => {
          reservation?.release();
          metrics?.refused('otlp_grpc', error instanceof OtlpDecodeError ? 'malformed' : refusalReason(error));
          if (error instanceof OtlpDecodeError) callback(errorWithDetails(grpc.status.INVALID_ARGUMENT, error.message));
          else callback(errorWithDetails(grpc.status.UNAVAILABLE, `spans could not be decoded: ${error.message}`, 5));
        },
      );
    };
    this.server.addService(traceService, { Export: handler });
  }

  /** Binds to `host:port` (port 0 picks a free one) and returns the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      this.server.bindAsync(address, this.credentials, (error, bound) => {
        if (error) reject(error);
        else resolve(bound);
      });
    });
  }

  /** Stops accepting calls and waits for the ones in flight (bounded by `timeoutMs`). */
  close(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, timeoutMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
