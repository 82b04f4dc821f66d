import type { Metadata } from '@grpc/grpc-js';
import { bearerToken, type TokenSet } from './tokens.ts';

/**
 * Checks a gRPC call's `authorization` metadata (`Bearer <token>`, as OpenTelemetry exporters
 * send `OTEL_EXPORTER_OTLP_HEADERS`) against `tokens`. Returns undefined when the call may go
 * on (accepted, or no tokens required), else the message of the UNAUTHENTICATED status, which
 * never holds what the client sent.
 */
export function grpcRefusal(tokens: TokenSet | undefined, metadata: Metadata): string | undefined {
  if (tokens === undefined) return undefined;
  const values = metadata.get('authorization');
  const header = typeof values[0] === 'string' ? values[0] : undefined;
  if (tokens.verify(bearerToken(header))) return undefined;
  return header === undefined
    ? 'an ingest token is required: send the metadata authorization: Bearer <token> (OpenTelemetry exporters: OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20<token>")'
    : 'the token sent is not an ingest token: send the metadata authorization: Bearer <token> with an ingest token';
}
