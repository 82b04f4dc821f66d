import type { FastifyInstance } from 'fastify';

/**
 * The Content Security Policy of the UI and the APIs: scripts, images, fonts and fetches from this
 * origin only, no inline script (nor `eval`), no plugins, no framing, forms posting only here.
 * Inline styles are allowed: the TraceQL editor (CodeMirror) writes its theme into `<style>`
 * elements, and a style cannot run code. The built UI (packages/web) runs under it: its browser
 * tests check that no page reports a violation.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The headers every response of the UI and the query APIs carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * Adds `SECURITY_HEADERS` to every response of `app` (errors and 404s too), unless a route set
 * one of them itself. They cost nothing on JSON answers and keep a browser from sniffing, framing
 * or leaking the URL (which holds trace ids and queries) of any page.
 */
export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
    return payload;
  });
}
