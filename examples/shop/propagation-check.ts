/**
 * A tiny service for the W3C trace-context test harness (https://github.com/w3c/trace-context/tree/main/test):
 * `POST /` with a JSON array `[{"url": ..., "arguments": [...]}]`; for each element, in order,
 * it POSTs `arguments` as JSON to `url` with `traceparent`, `tracestate` and `baggage` propagated
 * by the Ariadne core propagators, then answers 200. Every call continues the incoming trace
 * with its own new parent id; an invalid or missing traceparent starts a new trace (and drops
 * the received tracestate). A failed downstream call makes the answer 502.
 *
 *   npm run propagation-check -- --port 7777
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createBaggagePropagator } from '../../packages/core/src/propagation/baggage-propagator.ts';
import { ROOT_CONTEXT, withSpanContext } from '../../packages/core/src/propagation/context.ts';
import { createChildSpanContext } from '../../packages/core/src/propagation/ids.ts';
import type { HeaderRecord } from '../../packages/core/src/propagation/text-map.ts';
import {
  createCompositePropagator,
  headerRecordGetter,
  headerRecordSetter,
} from '../../packages/core/src/propagation/text-map.ts';
import { createTraceContextPropagator } from '../../packages/core/src/propagation/trace-context-propagator.ts';

const CALL_TIMEOUT_MS = 5000;
const MAX_BODY_BYTES = 1024 * 1024;

const propagator = createCompositePropagator<HeaderRecord>([
  createTraceContextPropagator<HeaderRecord>(),
  createBaggagePropagator<HeaderRecord>(),
]);

interface Call {
  readonly url: string;
  readonly arguments: unknown;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseCalls(body: string): readonly Call[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const calls: Call[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null || typeof item.url !== 'string') return undefined;
    const url = item.url as string;
    if (!/^http:\/\//.test(url)) return undefined;
    calls.push({ url, arguments: item.arguments ?? [] });
  }
  return calls;
}

function post(url: string, headers: HeaderRecord, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: CALL_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout calling ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST' || req.url !== '/') {
    res.writeHead(404).end();
    return;
  }
  const calls = parseCalls(await readBody(req));
  if (calls === undefined) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('expected a JSON array of {"url", "arguments"}\n');
    return;
  }
  // headersDistinct keeps repeated fields apart, so two traceparent fields are seen as two.
  const incoming = propagator.extract(ROOT_CONTEXT, req.headersDistinct as HeaderRecord, headerRecordGetter);
  // Our server span: a child of the caller's span, or the root of a new trace.
  const server = createChildSpanContext(incoming.spanContext);
  for (const call of calls) {
    const headers: HeaderRecord = {};
    propagator.inject(withSpanContext(incoming, createChildSpanContext(server)), headers, headerRecordSetter);
    try {
      await post(call.url, headers, JSON.stringify(call.arguments));
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`);
      return;
    }
  }
  res.writeHead(200).end();
}

/** A running check service: its port and a way to stop it. */
export interface PropagationCheck {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts the check service on 127.0.0.1 (port 0 picks a free one) and resolves once it listens. */
export function startPropagationCheck(options: { readonly port: number }): Promise<PropagationCheck> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${error.message}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '7777' } }, strict: true });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port: ${values.port}`);
  const check = await startPropagationCheck({ port });
  console.log(`propagation-check listening on http://127.0.0.1:${check.port}/`);
  const stop = () => {
    check.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
