import type { UnixNanos } from '@ariadne/core';
import type { FastifyReply } from 'fastify';
import type { SpanReader } from '../../query/span-store.ts';

/** Replies, errors and parameters shared by the Jaeger API's route modules. */

/** What the route modules share. */
export interface JaegerRouteContext {
  readonly reader: SpanReader;
  readonly now: () => UnixNanos;
}

/** An error with the HTTP status to answer it with. */
export class JaegerApiError extends Error {
  constructor(
    readonly status: 404 | 501 | 400,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Sends a JSON body; indented by four spaces (as Jaeger) when `prettyPrint` is set and not
 * `false`.
 */
export function sendJson(reply: FastifyReply, body: unknown, prettyPrint = ''): FastifyReply {
  const pretty = prettyPrint !== '' && prettyPrint !== 'false';
  return reply.type('application/json').send(JSON.stringify(body, null, pretty ? 4 : undefined));
}

/** The query parameters of a request, repeated keys kept (Jaeger reads `traceID`, `tag`, `tags` repeatedly). */
export function queryOf(url: string): URLSearchParams {
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

/** A parameter as Go's `Query().Get` reads it: the first value, `''` when absent. */
export function param(q: URLSearchParams, name: string): string {
  return q.get(name) ?? '';
}
