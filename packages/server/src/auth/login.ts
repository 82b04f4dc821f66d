import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type DenyReply, denyJson, requireToken, SESSION_COOKIE } from './http-auth.ts';
import type { TokenSet } from './tokens.ts';

/** Options of `guardQueryApp`. */
export interface QueryGuardOptions {
  /** The query tokens (`--query-token-file`). */
  readonly tokens: TokenSet;
  /** Mark the session cookie `Secure` (the API listens with TLS). */
  readonly secureCookie: boolean;
  /** The built web UI, whose `login.html` is the login page. */
  readonly webRoot?: string;
}

/** How long the UI session cookie lasts: a month, or until the token it was made from is removed. */
export const SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600;

/**
 * What the query port answers without a token: health for orchestrators (`/healthz`, `/readyz`:
 * they tell whether the server runs, nothing of the spans), and the login page with what it
 * needs. `/metrics` is not among them: it names services' volumes and the data size.
 */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/login', '/logout', '/login.css', '/favicon.svg']);

/** Largest login request body: a token and a form field name. */
const LOGIN_BODY_LIMIT = 4096;

/**
 * A path to go back to after logging in: a path of this server only (`/…`, not `//host` or
 * `/\host`, which browsers read as another origin), else `/search`.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !/^\/(?![/\\])[\x21-\x7e]*$/.test(next) || next.startsWith('/login'))
    return '/search';
  return next;
}

/** True for a browser navigating to a page (not the API, not a script or a fetch). */
function isPageRequest(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0];
  if (path.startsWith('/api/') || path === '/metrics') return false;
  return (request.headers.accept ?? '').includes('text/html');
}

/** A page without a session goes to the login page (303), which brings the browser back after; the API gets 401. */
const denyOrLogin: DenyReply = (request, reply, refusal) => {
  if (isPageRequest(request)) return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
  return denyJson(request, reply, refusal);
};

function sessionCookie(value: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The token of a login request: the `token` field of a form or of a JSON object. */
function presentedToken(body: unknown): string | undefined {
  if (body instanceof URLSearchParams) return body.get('token')?.trim() || undefined;
  if (body && typeof body === 'object' && typeof (body as { token?: unknown }).token === 'string')
    return (body as { token: string }).token.trim() || undefined;
  return undefined;
}

/**
 * Puts the query API and the web UI behind the query tokens. Every request needs
 * `Authorization: Bearer <token>` or the session cookie, except `OPEN_PATHS`; a browser opening a
 * page without one is sent to `/login`, the API answers 401.
 *
 * The login page (packages/web's `login.html`, a form with no script) posts the token to
 * `POST /login`, which sets the session cookie (HttpOnly, SameSite=Strict, Path=/, Secure under
 * TLS) and sends the browser back to where it was going (303), or answers the page again with its
 * error shown (401); the UI's own fetches then carry the cookie. The cookie holds an HMAC of the token, not the token (see `TokenSet.sessionFor`). A JSON
 * `{"token": …}` body gets 204 or 401 instead of redirects. `POST /logout` clears the cookie.
 * Register this right after the app is built, before its other hooks and plugins.
 */
export function guardQueryApp(app: FastifyInstance, options: QueryGuardOptions): void {
  const { tokens } = options;
  app.addHook(
    'onRequest',
    requireToken({
      tokensFor: (request) => (OPEN_PATHS.has(request.url.split('?')[0]) ? undefined : tokens),
      acceptSession: true,
      deny: denyOrLogin,
    }),
  );
  const loginFile = options.webRoot === undefined ? undefined : join(options.webRoot, 'login.html');
  const loginPage = loginFile && existsSync(loginFile) ? readFileSync(loginFile, 'utf8') : undefined;
  // After a wrong token, the same page with the error shown (by its stylesheet: the page has no
  // script). Answered in place rather than redirected, so that no marker (a `#fragment`) follows
  // the browser to the page it goes to after the next, right, attempt.
  const failedPage = loginPage?.replace('<body>', '<body class="failed">');
  app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: LOGIN_BODY_LIMIT },
      (_request, body, done) => done(null, new URLSearchParams(body as string)),
    );
    scope.get('/login', async (_request, reply) => {
      if (loginPage) return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(loginPage);
      return reply.send({
        message: 'the web UI is not built; POST /login with {"token": "<query token>"} sets the session cookie',
      });
    });
    scope.post<{ Querystring: { next?: string } }>(
      '/login',
      { bodyLimit: LOGIN_BODY_LIMIT },
      async (request, reply) => {
        const form = request.body instanceof URLSearchParams;
        const token = presentedToken(request.body);
        const session = token === undefined ? undefined : tokens.sessionFor(token);
        const next = safeNext(request.query.next);
        if (session === undefined) {
          request.log.warn({ ip: request.ip, tokenSent: token !== undefined }, 'UI login refused: not a query token');
          reply.header('www-authenticate', `Bearer realm="ariadne-query"`);
          if (form && failedPage)
            return reply
              .code(401)
              .type('text/html; charset=utf-8')
              .header('cache-control', 'no-store')
              .send(failedPage);
          return reply.code(401).send({
            error: 'unauthorized',
            message: token === undefined ? 'send {"token": "<query token>"}' : 'that is not a query token',
          });
        }
        reply.header('set-cookie', sessionCookie(session, SESSION_MAX_AGE_SECONDS, options.secureCookie));
        if (form) return redirect(reply, next);
        return reply.code(204).send();
      },
    );
    scope.post('/logout', async (_request, reply) => {
      reply.header('set-cookie', sessionCookie('', 0, options.secureCookie));
      return redirect(reply, '/login');
    });
  });
}

/** 303 See Other: after a form post, the browser GETs the new location. */
function redirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.redirect(location, 303);
}
