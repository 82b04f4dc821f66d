import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { encodeRpcStatusJson, encodeRpcStatusProtobuf } from '../ingest/decode-otlp.ts';
import { bearerToken, type TokenScope, type TokenSet } from './tokens.ts';

/** The UI session cookie's name (set by `POST /login`, see login.ts). */
export const SESSION_COOKIE = 'ariadne_session';

/** gRPC's UNAUTHENTICATED, also the code of the OTLP/HTTP receiver's `google.rpc.Status` for a 401. */
export const UNAUTHENTICATED = 16;

/** Why a request was refused, for the app to answer in its own format. */
export interface Refusal {
  readonly scope: TokenScope;
  /** A token (or session cookie) was sent but is not accepted, as opposed to none sent. */
  readonly presented: boolean;
  /** A sentence for the client; never holds what the client sent. */
  readonly message: string;
}

/** Answers a refused request (401); the default is `{error: 'unauthorized', message}` as JSON. */
export type DenyReply = (request: FastifyRequest, reply: FastifyReply, refusal: Refusal) => FastifyReply;

/** Options of `requireToken`. */
export interface RequireTokenOptions {
  /**
   * The tokens this request needs, or undefined when it needs none (an open route such as
   * `/healthz`, or a side with no token file).
   */
  readonly tokensFor: (request: FastifyRequest) => TokenSet | undefined;
  /** Also accept the UI session cookie (the query side: API, UI and compatible read APIs). */
  readonly acceptSession?: boolean;
  /** How a refusal is answered (default: JSON). */
  readonly deny?: DenyReply;
}

/** The value of cookie `name` in a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The message of a refusal: what to send, and how, without echoing anything the client sent. */
function refusalMessage(scope: TokenScope, presented: boolean): string {
  const what = scope === 'ingest' ? 'an ingest token' : 'a query token';
  const how =
    scope === 'ingest'
      ? ' (OpenTelemetry exporters: OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20<token>")'
      : ' (or log in to the web UI at /login)';
  return presented
    ? `the token sent is not ${what}: send Authorization: Bearer <token> with ${what}${how}`
    : `${what} is required: send Authorization: Bearer <token>${how}`;
}

/** 401 `{error, message}` as JSON: the query API's error shape. */
export const denyJson: DenyReply = (_request, reply, refusal) =>
  reply.code(401).type('application/json; charset=utf-8').send({ error: 'unauthorized', message: refusal.message });

/**
 * 401 with a `google.rpc.Status` (code UNAUTHENTICATED) in the request's content type, JSON or
 * protobuf, as the OTLP/HTTP specification wants every 4xx body; exporters log its message.
 */
export const denyOtlp: DenyReply = (request, reply, refusal) => {
  const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (contentType === 'application/json')
    return reply.code(401).type('application/json').send(encodeRpcStatusJson(UNAUTHENTICATED, refusal.message));
  return reply
    .code(401)
    .type('application/x-protobuf')
    .send(Buffer.from(encodeRpcStatusProtobuf(UNAUTHENTICATED, refusal.message)));
};

/** True when a request came with a body (declared length, or chunked). */
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/**
 * Whether the request carries an accepted token: `Authorization: Bearer <token>` matching one of
 * `tokens`, or (with `acceptSession`) the UI session cookie of one of them.
 */
export function isAuthorized(request: FastifyRequest, tokens: TokenSet, acceptSession: boolean): boolean {
  if (tokens.verify(bearerToken(request.headers.authorization))) return true;
  return acceptSession && tokens.verifySession(readCookie(request.headers.cookie, SESSION_COOKIE));
}

/**
 * A fastify `onRequest` hook that refuses, before the body is read, a request without an
 * accepted token: 401 with `WWW-Authenticate: Bearer` (RFC 6750, with `error="invalid_token"`
 * when a wrong one was sent) and the app's error body. A refused request with a body closes its
 * connection, so that an unauthenticated sender cannot make the server read (and drop) bodies.
 * Register it before any other `onRequest` hook: nothing should be spent on a stranger.
 */
export function requireToken(options: RequireTokenOptions): onRequestHookHandler {
  const deny = options.deny ?? denyJson;
  const acceptSession = options.acceptSession ?? false;
  return async function requireTokenHook(request, reply) {
    const tokens = options.tokensFor(request);
    if (tokens === undefined || isAuthorized(request, tokens, acceptSession)) return;
    const presented =
      request.headers.authorization !== undefined ||
      (acceptSession && readCookie(request.headers.cookie, SESSION_COOKIE) !== undefined);
    reply.header(
      'www-authenticate',
      presented
        ? `Bearer realm="ariadne-${tokens.scope}", error="invalid_token"`
        : `Bearer realm="ariadne-${tokens.scope}"`,
    );
    if (hasBody(request)) reply.header('connection', 'close');
    const refusal = { scope: tokens.scope, presented, message: refusalMessage(tokens.scope, presented) };
    return deny(request, reply, refusal);
  };
}
