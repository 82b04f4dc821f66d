// The default import on purpose: the HTTP instrumentation patches this module object.
import http from 'node:http';
import { trace } from '@opentelemetry/api';

const MAX_BODY_BYTES = 64 * 1024;

/** A request that cannot be served as asked: answered with `status` and `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a JSON request body of at most 64 KiB; throws an {@link HttpError} 400/413 otherwise. */
export function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, 'body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** Answers with a JSON body. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A JSON answer from another service. */
export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * POSTs `body` as JSON with `http.request`, so the HTTP instrumentation makes the CLIENT span
 * and injects `traceparent`, `tracestate` and `baggage` through the global propagator. Rejects
 * on connection errors and after `timeoutMs` (default 5 s); any HTTP status resolves.
 */
export function postJson(url: string, body: unknown, options: { readonly timeoutMs?: number } = {}) {
  const text = JSON.stringify(body);
  return new Promise<JsonResponse>((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        timeout: options.timeoutMs ?? 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = raw;
          try {
            parsed = raw === '' ? undefined : JSON.parse(raw);
          } catch {
            // Not JSON: keep the text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout calling ${url}`)));
    req.on('error', reject);
    req.end(text);
  });
}

/**
 * Names the active SERVER span after its route (`POST /orders`) and sets `http.route`, as web
 * frameworks do; the HTTP instrumentation alone only knows the method.
 */
export function nameServerSpan(method: string, route: string): void {
  const span = trace.getActiveSpan();
  if (span === undefined) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
}
