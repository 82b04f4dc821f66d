/**
 * Runs one shop service in this process, with its own OpenTelemetry SDK:
 *
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 \
 *     node --import tsx examples/shop/service.ts order --port 8083 --db-timeout-rate 0.1
 *
 * Services: frontend (8080), payment (8081), inventory (8082), order (8083). Logs are logfmt lines
 * on stdout with trace and span ids; the first line says where the service listens. SIGINT or
 * SIGTERM (or, with --stop-on-stdin-close, the end of stdin) stops it: it stops accepting,
 * finishes the work in progress (inventory's handovers, order's saves), exports every span, and
 * exits 0.
 */
// The default import on purpose: the HTTP instrumentation patches this module object.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createFrontendHandler } from './frontend.ts';
import { HttpError, sendJson } from './http-json.ts';
import { createInventoryService } from './inventory.ts';
import { createLogger } from './log.ts';
import { createOrderService, SAVE_ATTEMPTS } from './order.ts';
import { LockStalls, OrderDb } from './order-db.ts';
import { createPaymentHandler } from './payment.ts';
import { seededRandom } from './random.ts';
import { startTelemetry } from './telemetry.ts';

/** The four services, in the order a request reaches them. */
export const SERVICE_NAMES = ['frontend', 'payment', 'inventory', 'order'] as const;

/** One of {@link SERVICE_NAMES}. */
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The port each service listens on unless told otherwise. */
export const DEFAULT_SERVICE_PORTS: Readonly<Record<ServiceName, number>> = {
  frontend: 8080,
  payment: 8081,
  inventory: 8082,
  order: 8083,
};

const USAGE = `Usage: node --import tsx examples/shop/service.ts <frontend|payment|inventory|order> [options]

Options:
  --port N                 port (frontend 8080, payment 8081, inventory 8082, order 8083)
  --host H                 address (default 127.0.0.1)
  --payment-url URL        frontend: the payment service (default http://127.0.0.1:8081)
  --inventory-url URL      frontend: the inventory service (default http://127.0.0.1:8082)
  --order-url URL          inventory: the order service (default http://127.0.0.1:8083)
  --db FILE                order: database file (default ./ariadne-data/shop/orders.duckdb)
  --db-timeout-rate R      order: probability that a write hits a lock stall (default 0)
  --db-stall-ms MS         order: how long a stall holds the lock (default 300), and in any
                           case until the write that started it has given up
  --db-lock-timeout-ms MS  order: how long a write waits for the lock (default 50)
  --seed N                 order: seed of the fault injection (default: random)
  --stop-on-stdin-close    stop when stdin ends (used by examples/shop/start.ts)

The OTLP exporter reads OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
`;

function number(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got ${text}`);
  return n;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'payment-url': { type: 'string', default: 'http://127.0.0.1:8081' },
      'inventory-url': { type: 'string', default: 'http://127.0.0.1:8082' },
      'order-url': { type: 'string', default: 'http://127.0.0.1:8083' },
      db: { type: 'string', default: join('ariadne-data', 'shop', 'orders.duckdb') },
      'db-timeout-rate': { type: 'string' },
      'db-stall-ms': { type: 'string' },
      'db-lock-timeout-ms': { type: 'string' },
      seed: { type: 'string' },
      'stop-on-stdin-close': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const name = positionals[0] as ServiceName;
  if (values.help || positionals.length !== 1 || !SERVICE_NAMES.includes(name)) {
    process.stdout.write(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const port = number(values.port, 'port', DEFAULT_SERVICE_PORTS[name]);

  // Telemetry first: the HTTP instrumentation must patch node:http before the server starts.
  const telemetry = startTelemetry({ serviceName: name });
  const { tracer } = telemetry;
  const log = createLogger(name);
  let db: OrderDb | undefined;
  let drain = async () => {};
  let handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  if (name === 'frontend') {
    handle = createFrontendHandler({
      paymentUrl: values['payment-url'],
      inventoryUrl: values['inventory-url'],
      tracer,
      log,
    });
  } else if (name === 'payment') {
    handle = createPaymentHandler({ tracer, log });
  } else if (name === 'inventory') {
    const service = createInventoryService({ orderUrl: values['order-url'], tracer, log });
    handle = service.handle;
    drain = service.drain;
  } else {
    const rate = number(values['db-timeout-rate'], 'db-timeout-rate', 0);
    if (rate > 1) throw new Error('--db-timeout-rate: expected a probability between 0 and 1');
    const seed = values.seed === undefined ? (Math.random() * 2 ** 32) >>> 0 : number(values.seed, 'seed', 0);
    db = await OrderDb.open({
      path: values.db,
      lockTimeoutMs: number(values['db-lock-timeout-ms'], 'db-lock-timeout-ms', 50),
      stalls: new LockStalls({
        rate,
        stallMs: number(values['db-stall-ms'], 'db-stall-ms', 300),
        random: seededRandom(seed),
        // Every stall loses the order that started it, on a quiet machine or a busy one.
        holdForAttempts: SAVE_ATTEMPTS,
      }),
    });
    const service = createOrderService({ db, tracer, log });
    handle = service.handle;
    drain = service.drain;
    log.info('fault injection', { 'db.timeout_rate': rate, seed, db: values.db });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status >= 500) log.error('request failed', { error: error.message });
      if (!res.headersSent) sendJson(res, status, { error: error.message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, values.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info('listening', { url: `http://${host}:${address.port}` });

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { reason });
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    await drain();
    server.closeIdleConnections();
    // Keep-alive connections that were busy a moment ago get two seconds, then are cut.
    await Promise.race([closed, sleep(2000).then(() => server.closeAllConnections())]);
    await db?.close();
    await telemetry.shutdown().catch((error: Error) => log.warn('span export failed', { error: error.message }));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  if (values['stop-on-stdin-close']) {
    process.stdin.on('end', () => void stop('stdin closed'));
    process.stdin.resume();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
