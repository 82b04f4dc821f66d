import type { Metadata } from '@grpc/grpc-js';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Logger } from '../logger.ts';
import { grpcRefusal } from './grpc-auth.ts';
import { denyOtlp, requireToken } from './http-auth.ts';
import { addSecurityHeaders } from './security-headers.ts';
import { readTlsKeyPair, type TlsFiles, type TlsKeyPair } from './tls.ts';
import { type TokenScope, TokenSet } from './tokens.ts';

/** What `ariadne serve` was told about tokens and TLS (`--ingest-token-file`, `--query-token-file`, `--tls-*`). */
export interface SecurityConfig {
  readonly ingestTokenFile?: string;
  readonly queryTokenFile?: string;
  readonly tls?: TlsFiles;
  /** The address the server listens on: without tokens on a non-loopback address, a warning. */
  readonly host: string;
  readonly logger: Logger;
  /** How often the token files are checked for changes (default 5 s); 0: only on `reload()`. */
  readonly watchIntervalMs?: number;
}

/**
 * The tokens and the certificate of a running server, and the hooks that apply them to each
 * listener. Every part is optional: with none configured, every listener is open and plain, as
 * on a developer's machine with the default `--host 127.0.0.1`.
 */
export interface ServerSecurity {
  readonly ingestTokens?: TokenSet;
  readonly queryTokens?: TokenSet;
  readonly tls?: TlsKeyPair;
  /** `https` or `http`: the scheme of every HTTP listener's URL. */
  readonly scheme: 'https' | 'http';
  /** The OTLP/HTTP receiver's check (ingest tokens, 401 as a `google.rpc.Status`), if any. */
  readonly otlpHttpHook?: onRequestHookHandler;
  /** The OTLP/gRPC receiver's check (ingest tokens, UNAUTHENTICATED), if any. */
  readonly grpcCheck?: (metadata: Metadata) => string | undefined;
  /** The Zipkin collector routes' check (ingest tokens), if any. */
  readonly zipkinIngestHook?: onRequestHookHandler;
  /**
   * Guards a compatible API (Zipkin, Jaeger, Tempo): security headers always, and with query
   * tokens a token check on every route but CORS preflights and `skip` (Zipkin's collector
   * routes, which take ingest tokens). Call it right after the app is built.
   */
  guardCompatApp(app: FastifyInstance, skip?: (request: FastifyRequest) => boolean): void;
  /** Re-reads the token files (SIGHUP); a file that fails keeps its tokens, and the failure is logged. */
  reload(): Promise<void>;
  /** Stops watching the token files. */
  close(): void;
}

/**
 * Reads the token files and the certificate (failing with a clear message if any cannot be used),
 * and watches the token files, so that a token added or removed takes effect without a restart.
 * Logs which protections are on, never a token.
 */
export async function loadServerSecurity(config: SecurityConfig): Promise<ServerSecurity> {
  const { logger } = config;
  const load = async (path: string | undefined, scope: TokenScope) => {
    if (path === undefined) return undefined;
    const set = await TokenSet.load(path, scope);
    logger.info({ file: path, tokens: set.size }, `${scope} tokens loaded: ${scope} needs a token`);
    return set;
  };
  const ingestTokens = await load(config.ingestTokenFile, 'ingest');
  const queryTokens = await load(config.queryTokenFile, 'query');
  const tls = config.tls ? await readTlsKeyPair(config.tls) : undefined;
  if (tls) logger.info({ cert: config.tls?.certFile }, 'TLS on every listener');
  if (!isLoopback(config.host) && (!ingestTokens || !queryTokens))
    logger.warn(
      { host: config.host, ingestTokens: !!ingestTokens, queryTokens: !!queryTokens },
      'listening beyond this machine without ingest and query tokens: anyone who reaches the ports can send or read spans (--ingest-token-file, --query-token-file)',
    );

  const sets = [ingestTokens, queryTokens].filter((s): s is TokenSet => s !== undefined);
  const reloadOne = async (set: TokenSet) => {
    try {
      const count = await set.reload();
      logger.info({ file: set.path, tokens: count }, `${set.scope} token file reloaded`);
    } catch (error) {
      logger.error(
        { err: error, file: set.path },
        `${set.scope} token file not reloaded: the tokens loaded before still apply`,
      );
    }
  };
  const interval = config.watchIntervalMs ?? 5_000;
  if (interval > 0) for (const set of sets) set.watch(() => void reloadOne(set), interval);

  const ingestHook = (deny?: typeof denyOtlp) =>
    ingestTokens ? requireToken({ tokensFor: () => ingestTokens, deny }) : undefined;
  return {
    ingestTokens,
    queryTokens,
    tls,
    scheme: tls ? 'https' : 'http',
    otlpHttpHook: ingestHook(denyOtlp),
    grpcCheck: ingestTokens ? (metadata) => grpcRefusal(ingestTokens, metadata) : undefined,
    zipkinIngestHook: ingestHook(),
    guardCompatApp(app, skip) {
      if (queryTokens)
        app.addHook(
          'onRequest',
          requireToken({
            tokensFor: (request) => (request.method === 'OPTIONS' || skip?.(request) ? undefined : queryTokens),
            acceptSession: true,
          }),
        );
      addSecurityHeaders(app);
    },
    async reload() {
      await Promise.all(sets.map(reloadOne));
    },
    close() {
      for (const set of sets) set.unwatch();
    },
  };
}

/** True for an address only this machine reaches. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
