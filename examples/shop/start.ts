/**
 * `npm start`: the lost-order demo, from nothing to the answer in one command.
 *
 * It builds the web UI if it is missing or stale, starts `ariadne serve` with its store in
 * ./ariadne-data, starts the four shop services (each its own process with its own OpenTelemetry
 * SDK, exporting to Ariadne), and sends a steady stream of orders to the frontend while the order
 * service's database stalls now and then. It shows progress (orders sent, traces stored) and asks
 * Ariadne, every second, for traces whose `save_order` failed; as soon as the analysis calls
 * one's error *swallowed* (the customer was told "success", the order was never saved) it prints
 * the report. Ctrl-C stops everything it started: the services first (they export their last
 * spans), then Ariadne (it commits them).
 *
 *   npm start                          run until Ctrl-C
 *   npm start -- --once                run a fixed number of orders, report, exit 0
 *   npm start -- --once --ports auto   the same on free ports (as the tests do)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Span, spanFromApiJson } from '@ariadne/core';
import { ariadneNodeFlags } from '../../packages/server/src/cli/node-flags.ts';
import { PAYMENT_METHODS, PRODUCTS } from './catalog.ts';
import { findLostOrder, isCompleteOrderTrace, type LostOrder, renderLostOrderReport } from './lost-order.ts';
import { OrderDb } from './order-db.ts';
import { findFreePorts, type RunningProcess, startProcess } from './processes.ts';
import { seededRandom } from './random.ts';
import { DEFAULT_SERVICE_PORTS, SERVICE_NAMES, type ServiceName } from './service.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Everything `npm start` can be told. */
export interface ShopOptions {
  /** Send `orders` orders, print the report, stop (`--once`); otherwise run until Ctrl-C. */
  readonly once: boolean;
  readonly orders: number;
  /** Orders per second. */
  readonly rate: number;
  /** Probability that a database write starts a lock stall. */
  readonly dbTimeoutRate: number;
  /** How long a stall holds the orders table, in milliseconds. */
  readonly stallMs: number;
  /** Seed of the fault injection and of the order stream. */
  readonly seed: number;
  /** `standard`: Ariadne on 4317/4318/4320, services on 8080–8083; `auto`: free ports. */
  readonly ports: 'standard' | 'auto';
  readonly dataDir: string;
  /** Build the web UI if it is missing or older than its sources. */
  readonly build: boolean;
}

const USAGE = `Usage: npm start -- [options]
       node --import tsx examples/shop/start.ts [options]

Runs Ariadne and the shop, sends orders, and reports the first lost order.

Options:
  --once                 send --orders orders, print the report and exit (default: until Ctrl-C)
  --orders N             orders sent with --once (default 60)
  --rate N               orders per second (default 10)
  --db-timeout-rate R    probability that a database write hits a lock stall (default 0.01)
  --db-stall-ms MS       how long a stall holds the orders table (default 300)
  --seed N               seed of the fault injection and the orders (default 22)
  --ports standard|auto  standard: Ariadne on 4317/4318/4320, services on 8080-8083 (default);
                         auto: free ports
  --data DIR             Ariadne's data directory (default ./ariadne-data); the shop keeps its
                         database and logs in DIR/shop
  --no-build             do not build the web UI
  --help
`;

function positive(text: string | undefined, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) {
    throw new Error(`--${name}: expected a number between 0 and ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** Reads the command line of `npm start`. Throws on a bad option. */
export function parseShopArgs(argv: readonly string[]): ShopOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      once: { type: 'boolean' },
      orders: { type: 'string' },
      rate: { type: 'string' },
      'db-timeout-rate': { type: 'string' },
      'db-stall-ms': { type: 'string' },
      seed: { type: 'string' },
      ports: { type: 'string' },
      data: { type: 'string' },
      'no-build': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  const ports = values.ports ?? 'standard';
  if (ports !== 'standard' && ports !== 'auto') throw new Error(`--ports: expected standard or auto, got ${ports}`);
  const orders = positive(values.orders, 'orders', 60);
  const rate = positive(values.rate, 'rate', 10, 1000);
  if (!Number.isInteger(orders) || orders < 1) throw new Error('--orders: expected a positive integer');
  if (rate <= 0) throw new Error('--rate: expected more than 0');
  return {
    once: values.once ?? false,
    orders,
    rate,
    dbTimeoutRate: positive(values['db-timeout-rate'], 'db-timeout-rate', 0.01, 1),
    stallMs: positive(values['db-stall-ms'], 'db-stall-ms', 300),
    seed: Math.floor(positive(values.seed, 'seed', 22, 2 ** 32 - 1)),
    ports,
    dataDir: resolve(values.data ?? 'ariadne-data'),
    build: !values['no-build'],
  };
}

/** Where `runShop` writes. `isTTY` redraws the progress line in place. */
export interface ShopIo {
  readonly stdout: NodeJS.WritableStream;
  readonly isTTY: boolean;
  readonly columns?: number;
}

// ---------------------------------------------------------------------------------------------
// Build

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === 'dist' || name.endsWith('.test.ts')) continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

/** True when packages/web/dist is missing or older than the web UI's or core's sources. */
function webUiIsStale(): boolean {
  const built = join(ROOT, 'packages/web/dist/index.html');
  if (!existsSync(built)) return true;
  const sources = ['packages/web/src', 'packages/web/public', 'packages/web/index.html', 'packages/web/vite.config.ts'];
  const newest = Math.max(...[...sources, 'packages/core/src'].map((p) => newestMtime(join(ROOT, p))));
  return newest > statSync(built).mtimeMs;
}

async function buildWebUi(say: (line: string) => void): Promise<void> {
  if (!webUiIsStale()) return;
  say('building the web UI (npm run build) ...');
  const started = Date.now();
  const build = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  build.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  build.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const code = await new Promise<number | string>((done) => {
    build.once('error', (error) => done(error.message));
    build.once('exit', (exitCode, signal) => done(exitCode ?? signal ?? 'unknown'));
  });
  if (code === 0) say(`built the web UI in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  else say(`the web UI did not build (${code}); the terminal report still works:\n${output.slice(-2000)}`);
}

// ---------------------------------------------------------------------------------------------
// Orders

/** What the driver knows about one order it sent. */
interface SentOrder {
  readonly orderId: string;
  readonly traceId: string;
  /** The frontend's answer, as received. */
  readonly answer: string;
  readonly success: boolean;
}

/** Sends orders to the frontend like customers would, and remembers what they were told. */
class OrderDriver {
  sent = 0;
  answered = 0;
  succeeded = 0;
  failed = 0;
  readonly byOrderId = new Map<string, SentOrder>();
  private readonly random: () => number;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly frontendUrl: string,
    seed: number,
  ) {
    this.random = seededRandom(seed ^ 0x5eed);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)];
  }

  private async sendOne(): Promise<void> {
    const body = {
      userId: `user-${String(1 + Math.floor(this.random() * 60)).padStart(4, '0')}`,
      productId: this.pick(PRODUCTS).id,
      quantity: 1 + Math.floor(this.random() * 3),
      paymentMethod: this.pick(PAYMENT_METHODS),
    };
    this.sent++;
    try {
      const response = await fetch(`${this.frontendUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        // A bound for a hung frontend, generous enough for a busy machine.
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      this.answered++;
      const traceId = /^[0-9a-f]{2}-([0-9a-f]{32})-/.exec(response.headers.get('traceresponse') ?? '')?.[1] ?? '';
      let parsed: { status?: string; orderId?: string } = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: counted as a failure below.
      }
      const success = response.status === 200 && parsed.status === 'success';
      if (success) this.succeeded++;
      else this.failed++;
      if (parsed.orderId)
        this.byOrderId.set(parsed.orderId, { orderId: parsed.orderId, traceId, answer: text, success });
    } catch {
      this.failed++;
    }
  }

  /** Sends `count` orders (or until `signal` aborts) at `rate` per second, at most 32 at a time. */
  async run(rate: number, count: number, signal: AbortSignal): Promise<void> {
    const interval = 1000 / rate;
    let next = performance.now();
    for (let i = 0; i < count && !signal.aborted; i++) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      next += interval;
      while (this.inFlight.size >= 32) await Promise.race(this.inFlight);
      const sending: Promise<void> = this.sendOne().finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
    await Promise.allSettled([...this.inFlight]);
  }
}

// ---------------------------------------------------------------------------------------------
// Asking Ariadne

/**
 * GET as JSON. The demo reads its own writes: the answer includes every span the services had
 * exported when it asked, even those Ariadne has acknowledged and not yet committed (the final
 * judgement of `--once` depends on it).
 */
async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, {
    headers: { 'x-ariadne-consistency': 'read-your-writes' },
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
  return response.json();
}

/** A lost order Ariadne found, with the spans of its trace. */
interface Finding {
  readonly lost: LostOrder;
  readonly spans: readonly Span[];
}

/**
 * Finds lost orders through Ariadne's query API: traces since `sinceMs` with a `save_order`
 * span in error, each fetched and analysed once it is complete (all four services, one root).
 * A trace that stays incomplete is judged anyway after 15 s, or at the final poll.
 */
class LostOrderWatch {
  readonly findings: Finding[] = [];
  private readonly judged = new Set<string>();
  private readonly firstSeen = new Map<string, number>();

  constructor(
    private readonly apiUrl: string,
    private readonly sinceMs: number,
  ) {}

  /** Polls once; returns the lost orders found in this poll. */
  async poll(final: boolean): Promise<Finding[]> {
    const params = new URLSearchParams({
      service: 'order',
      operation: 'save_order',
      status: 'error',
      start: String(this.sinceMs),
      limit: '1000',
    });
    const body = (await getJson(`${this.apiUrl}/api/v1/search?${params}`)) as { traces: { traceId: string }[] };
    const found: Finding[] = [];
    // The search answers newest first; judge oldest first.
    for (const { traceId } of [...body.traces].reverse()) {
      if (this.judged.has(traceId)) continue;
      const trace = (await getJson(`${this.apiUrl}/api/v1/traces/${traceId}`)) as { spans: unknown[] };
      const spans = trace.spans.map((s, i) => spanFromApiJson(s, `spans[${i}]`));
      const first = this.firstSeen.get(traceId) ?? Date.now();
      this.firstSeen.set(traceId, first);
      if (!final && !isCompleteOrderTrace(spans) && Date.now() - first < 15_000) continue;
      this.judged.add(traceId);
      const lost = findLostOrder(spans);
      if (lost !== undefined) found.push({ lost, spans });
    }
    this.findings.push(...found);
    return found;
  }
}

/** Traces of orders stored since `sinceMs`: the number of `place_order` spans of the frontend. */
async function tracesStored(apiUrl: string, sinceMs: number): Promise<number> {
  try {
    const body = (await getJson(`${apiUrl}/api/v1/services/frontend/stats?start=${sinceMs}`)) as {
      operations: { operation: string; spanCount: number }[];
    };
    return body.operations.find((o) => o.operation === 'place_order')?.spanCount ?? 0;
  } catch {
    return 0;
  }
}

/** The services' log lines that carry `traceId`, in time order. */
function logLinesOf(logDir: string, traceId: string): string[] {
  const lines: string[] = [];
  for (const name of SERVICE_NAMES) {
    const file = join(logDir, `${name}.log`);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n'))
      if (line.includes(`trace_id=${traceId}`)) lines.push(line);
  }
  // Stable: lines of one service keep their order when their timestamps tie.
  return lines.sort((a, b) => (a.slice(0, 29) < b.slice(0, 29) ? -1 : a.slice(0, 29) > b.slice(0, 29) ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// The run

/**
 * Runs the demo (see the module comment) and resolves with the exit code once everything it
 * started has stopped: 0 on success (with `--once`: a lost order was found and the ones Ariadne
 * found are exactly the ones missing from the database), 1 otherwise. `signal` is Ctrl-C.
 */
export async function runShop(options: ShopOptions, io: ShopIo, signal: AbortSignal): Promise<number> {
  const started: RunningProcess[] = [];
  const services: RunningProcess[] = [];
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) io.stdout.write('\r\u001b[K');
    progressShown = false;
  };
  const say = (line: string) => {
    clearProgress();
    io.stdout.write(`${line}\n`);
  };
  const killAll = () => {
    for (const p of started) p.kill();
  };
  process.once('exit', killAll);
  // In the order requests flow, so that each service's outgoing calls are answered before the
  // callee stops; Ariadne last, after every span was exported to it.
  // A generous grace: a service killed before its exporter has flushed loses the last spans.
  const stopServices = async () => {
    for (const name of SERVICE_NAMES) await services.find((p) => p.name === name)?.stop(30_000);
  };
  const stopAll = async () => {
    await stopServices();
    for (const p of started) await p.stop();
  };

  try {
    if (options.build) await buildWebUi(say);
    const shopDir = join(options.dataDir, 'shop');
    const logDir = join(shopDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const dbFile = join(shopDir, 'orders.duckdb');

    // Ariadne.
    const auto = options.ports === 'auto';
    const ariadne = await startProcess({
      name: 'ariadne serve',
      command: process.execPath,
      args: [
        ...ariadneNodeFlags(),
        join(ROOT, 'packages/server/bin/ariadne.mjs'),
        'serve',
        '--data',
        options.dataDir,
        '--api-port',
        auto ? '0' : '4320',
        '--otlp-http-port',
        auto ? '0' : '4318',
        '--otlp-grpc-port',
        auto ? '0' : '4317',
        // The demo's traces show up in the UI as soon as the shop's requests return.
        '--read-consistency',
        'read-your-writes',
        // With free ports (tests), the compatible APIs stay off: their standard ports would collide.
        ...(auto ? ['--zipkin-port', '0', '--jaeger-port', '0', '--tempo-port', '0'] : []),
      ],
      cwd: ROOT,
      ready: /OTLP\/HTTP\s+(\S+)\/v1\/traces/,
      logFile: join(logDir, 'ariadne.log'),
      detached: true,
    });
    started.push(ariadne.process);
    const otlpHttpUrl = ariadne.match[1];
    const apiUrl = /web UI and query API\s+(\S+)/.exec(ariadne.process.output())?.[1] ?? '';
    say(`ariadne      ${apiUrl}  (OTLP/HTTP ${otlpHttpUrl}, data in ${options.dataDir})`);

    // The four services, each its own process and OpenTelemetry SDK.
    const ports: Record<ServiceName, number> = { ...DEFAULT_SERVICE_PORTS };
    if (auto) {
      const free = await findFreePorts(SERVICE_NAMES.length);
      SERVICE_NAMES.forEach((name, i) => {
        ports[name] = free[i];
      });
    }
    const urlOf = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpHttpUrl,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlpHttpUrl}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '500',
    };
    const serviceArgs: Record<ServiceName, string[]> = {
      frontend: ['--payment-url', urlOf('payment'), '--inventory-url', urlOf('inventory')],
      payment: [],
      inventory: ['--order-url', urlOf('order')],
      order: [
        '--db',
        dbFile,
        '--db-timeout-rate',
        String(options.dbTimeoutRate),
        '--db-stall-ms',
        String(options.stallMs),
        '--seed',
        String(options.seed),
      ],
    };
    const startedServices = await Promise.allSettled(
      SERVICE_NAMES.map((name) =>
        startProcess({
          name,
          command: process.execPath,
          args: [
            '--import',
            'tsx',
            join(ROOT, 'examples/shop/service.ts'),
            name,
            '--port',
            String(ports[name]),
            '--stop-on-stdin-close',
            ...serviceArgs[name],
          ],
          cwd: ROOT,
          env,
          ready: /msg=listening url=(\S+)/,
          logFile: join(logDir, `${name}.log`),
          pipeStdin: true,
          detached: true,
        }),
      ),
    );
    for (const s of startedServices) {
      if (s.status === 'fulfilled') {
        services.push(s.value.process);
        started.unshift(s.value.process);
      }
    }
    const failed = startedServices.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const name of SERVICE_NAMES) say(`${name.padEnd(12)} ${urlOf(name)}`);
    say(`logs         ${logDir}`);
    say(
      `sending ${options.once ? `${options.orders} orders` : 'orders'} at ${options.rate}/s to POST ${urlOf('frontend')}/orders; ` +
        `database writes stall with probability ${options.dbTimeoutRate} (seed ${options.seed})` +
        (options.once ? '' : '; Ctrl-C to stop'),
    );

    // Orders, progress, and the watch for lost orders.
    const sinceMs = Date.now() - 1000;
    const driver = new OrderDriver(urlOf('frontend'), options.seed);
    const watch = new LostOrderWatch(apiUrl, sinceMs);
    const width = Math.max(80, Math.min(140, io.columns ?? 100));
    const reported = new Set<string>();
    const report = (finding: Finding) => {
      const { lost, spans } = finding;
      if (reported.has(lost.orderId)) return;
      reported.add(lost.orderId);
      if (reported.size === 1) {
        say('');
        say(
          renderLostOrderReport(spans, lost, {
            apiUrl,
            width,
            answer: driver.byOrderId.get(lost.orderId)?.answer,
            logLines: logLinesOf(logDir, lost.traceId),
          }).trimEnd(),
        );
        say('');
      } else {
        say(`lost order ${lost.orderId}: ${lost.summary}  ${apiUrl}/trace/${lost.traceId}`);
      }
    };
    let stored = 0;
    let lastLine = 0;
    const progress = (force = false) => {
      const line =
        `orders sent ${driver.sent} (${driver.succeeded} answered success, ${driver.failed} failed) · ` +
        `traces stored ${stored} · lost orders found ${reported.size}`;
      if (io.isTTY) {
        io.stdout.write(`\r${line}\u001b[K`);
        progressShown = true;
      } else if (force || Date.now() - lastLine >= 5000) {
        io.stdout.write(`${line}\n`);
        lastLine = Date.now();
      }
    };

    const driving = driver.run(options.rate, options.once ? options.orders : Number.POSITIVE_INFINITY, signal);
    let driven = false;
    driving.then(() => {
      driven = true;
    });
    while (!driven && !signal.aborted) {
      await sleep(1000, undefined, { signal }).catch(() => undefined);
      stored = await tracesStored(apiUrl, sinceMs);
      if (!options.once) {
        for (const finding of await watch.poll(false).catch(() => [])) report(finding);
      }
      progress();
    }
    await driving;

    if (!options.once || signal.aborted) {
      progress(true);
      clearProgress();
      say(`\nstopping: ${driver.sent} orders sent, ${reported.size} lost orders found`);
      await stopAll();
      say('stopped');
      return 0;
    }

    // --once: stop the services (they finish their work and export every span), then judge.
    await stopServices();
    stored = await tracesStored(apiUrl, sinceMs);
    progress(true);
    clearProgress();
    const findings = await watch.poll(true);
    const byOrder = [...findings].sort(
      (a, b) => orderIndex(driver, a.lost.orderId) - orderIndex(driver, b.lost.orderId),
    );
    for (const finding of byOrder) report(finding);

    // The truth, from the order service's database.
    const db = await OrderDb.open({ path: dbFile });
    const saved = await db.orderIds();
    await db.close();
    const toldSuccess = [...driver.byOrderId.values()].filter((o) => o.success);
    const missing = toldSuccess.filter((o) => !saved.has(o.orderId)).map((o) => o.orderId);
    const found = new Set(findings.map((f) => f.lost.orderId));
    const missed = missing.filter((id) => !found.has(id));
    const falseAlarms = [...found].filter((id) => !missing.includes(id));
    say('Summary');
    say(`  orders sent            ${driver.sent}, ${driver.succeeded} answered success`);
    say(`  traces stored          ${stored}`);
    say(
      `  saved in the database  ${toldSuccess.length - missing.length} of the ${toldSuccess.length} answered success`,
    );
    say(`  lost orders            ${missing.length}${missing.length > 0 ? `: ${missing.join(', ')}` : ''}`);
    say(
      `  found by Ariadne       ${found.size}` +
        (missed.length === 0 && falseAlarms.length === 0 ? ' (all of them, no false alarm)' : '') +
        (missed.length > 0 ? `; missed ${missed.join(', ')}` : '') +
        (falseAlarms.length > 0 ? `; not actually lost: ${falseAlarms.join(', ')}` : ''),
    );
    await stopAll();
    if (found.size === 0) {
      say('no lost order in this run; try more --orders or a higher --db-timeout-rate');
      return 1;
    }
    return missed.length === 0 && falseAlarms.length === 0 ? 0 : 1;
  } catch (error) {
    const message = (error as Error).message;
    say(`npm start: ${message}`);
    if (/EADDRINUSE/.test(message)) say('a port is in use: stop what holds it, or run `npm start -- --ports auto`');
    await stopAll();
    return 1;
  } finally {
    process.off('exit', killAll);
  }
}

function orderIndex(driver: OrderDriver, orderId: string): number {
  let i = 0;
  for (const id of driver.byOrderId.keys()) {
    if (id === orderId) return i;
    i++;
  }
  return i;
}

async function main(): Promise<void> {
  let options: ShopOptions | 'help';
  try {
    options = parseShopArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const interrupt = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) interrupt.abort();
    else {
      process.stderr.write('\nstopping now\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runShop(
    options,
    { stdout: process.stdout, isTTY: Boolean(process.stdout.isTTY), columns: process.stdout.columns },
    interrupt.signal,
  );
  process.exit(code);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
