/**
 * bench:crash, a crash campaign. `ariadne serve` runs as its own process under a sustained load of
 * real OpenTelemetry OTLP exporters (protobuf, JSON and gRPC). It is SIGKILLed `--kills` times at
 * random moments, and each kill is followed by a random mix of restarts, clean stops and kills
 * during startup. At the end every trace ever sent is read back through the query API and compared
 * with what the exporters were told:
 *
 *   acknowledged (export callback said SUCCESS) and not stored  → missing      (must be 0)
 *   stored more than once (same trace id and span id)           → duplicated   (must be 0)
 *   stored although never acknowledged                          → allowed: OTLP is at-least-once
 *
 * Exit status 1 when a span is missing or duplicated, or when the check could not finish. The
 * random sequence (load periods, actions, startup kill delays) follows `--seed`; what the server is
 * doing at each kill depends on timing and is not repeatable. A script, not a test: figures go to
 * BENCHMARKS.md with the commit, not into code.
 *
 * Kills under load alone never reach one order that lost data: a start after a kill under load
 * replays the ingest log's tail, and that write hid DuckDB #23788 (the trace id index written
 * without the rows DuckDB replayed from its WAL). It takes a server killed idle once its log is
 * drained, then a start and a clean stop with no write or read in between. The default seed's plan
 * has that order in its first cycle; about a third of seeds have it somewhere in 20 cycles.
 *
 *   npm run bench:crash -- [--kills 20] [--seed 25] [--senders 4] [--spans-per-request 300]
 *                          [--timeout-ms 3000] [--protocols proto,grpc,json] [--keep]
 *
 * The OTLP exporters retry on their own (network errors, 429/502/503/504) within their timeout, and
 * that cannot be switched off. A retry of a request whose first attempt was stored stores it twice,
 * which is the exporter's at-least-once and not the server's fault; every export's retries are
 * counted (an AsyncLocalStorage follows the export into the exporter's diag messages), so the report
 * splits duplicates into those of retried exports and the others.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seededRandom } from '@ariadne/core';
import { type DiagLogger, DiagLogLevel, diag, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ariadneNodeFlags } from '../src/cli/node-flags.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    seed: { type: 'string', default: '25' },
    senders: { type: 'string', default: '4' },
    'spans-per-request': { type: 'string', default: '300' },
    'timeout-ms': { type: 'string', default: '3000' },
    protocols: { type: 'string', default: 'proto,grpc,json' },
    keep: { type: 'boolean', default: false },
  },
});
const KILLS = Number(values.kills);
const SEED = Number(values.seed);
const SENDERS = Number(values.senders);
const SPANS_PER_REQUEST = Number(values['spans-per-request']);
const TIMEOUT_MS = Number(values['timeout-ms']);
const PROTOCOLS = values.protocols.split(',').map(parseProtocol);
for (const [name, n] of Object.entries({ KILLS, SEED, SENDERS, SPANS_PER_REQUEST, TIMEOUT_MS })) {
  if (!Number.isInteger(n) || n < 0 || (n === 0 && name !== 'SEED' && name !== 'KILLS')) {
    throw new Error(`bench:crash: bad ${name.toLowerCase()}: ${n}`);
  }
}

/** How long anything may take, so that every loop and wait ends. */
const LIMITS = {
  serverStartMs: 120_000,
  cleanStopMs: 120_000,
  exitAfterKillMs: 30_000,
  /** Generous: a clean stop can take over a minute (see the slow-stop row of the report). */
  campaignMs: 60_000 + KILLS * 300_000,
  verifyMs: 1_800_000,
  exportCallbackMs: TIMEOUT_MS * 4 + 10_000,
};

const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
const log = (message: string) => process.stderr.write(`[${seconds()}s] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The server process

/** Where one server listens. */
interface Endpoints {
  readonly apiUrl: string;
  /** `http://host:port/v1/traces` */
  readonly otlpHttpUrl: string;
  /** `http://host:port` of the OTLP/gRPC receiver, as the gRPC exporter takes it. */
  readonly otlpGrpcUrl: string;
}

interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One `ariadne serve` child process. */
interface ServerProcess {
  readonly child: ChildProcess;
  /** Numbers the starts of the campaign, from 1. */
  readonly generation: number;
  /** The addresses once printed, or undefined if the process exited first. */
  readonly listening: Promise<Endpoints | undefined>;
  readonly exited: Promise<ExitStatus>;
  hasListened(): boolean;
  /** The last lines it wrote to stderr, for error messages. */
  stderrTail(): string;
}

/** Every child not yet exited, so that any way out of the script can kill it. */
const liveChildren = new Map<ChildProcess, Promise<ExitStatus>>();

/**
 * Starts `ariadne serve --data dataDir` on 127.0.0.1 and free ports, with the Node flags of the
 * `ariadne` command, as serve-process.ts does; started here rather than through it because the
 * campaign needs the child before the server listens (to kill it during startup) and the gRPC
 * address, which it prints on the same line group.
 */
function spawnServer(dataDir: string, generation: number, onStderrLine: (line: string) => void): ServerProcess {
  const bin = new URL('../bin/ariadne.mjs', import.meta.url).pathname;
  const ports = [
    '--host',
    '127.0.0.1',
    '--api-port',
    '0',
    '--otlp-http-port',
    '0',
    '--otlp-grpc-port',
    '0',
    '--zipkin-port',
    '0',
    '--jaeger-port',
    '0',
    '--tempo-port',
    '0',
  ];
  const child = spawn(process.execPath, [...ariadneNodeFlags(), bin, 'serve', '--data', dataDir, ...ports], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (error) => {
      onStderrLine(`spawn failed: ${error.message}`);
      resolve({ code: null, signal: null });
    });
  });
  liveChildren.set(child, exited);
  void exited.then(() => liveChildren.delete(child));

  let stderr = '';
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') onStderrLine(line);
  });

  let endpoints: Endpoints | undefined;
  const listening = new Promise<Endpoints | undefined>((resolve) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      if (endpoints) return;
      out += chunk.toString();
      // Up to the end of each line: a chunk may end in the middle of a port number.
      const api = /query API\s+(\S+)\n/.exec(out);
      const http = /OTLP\/HTTP\s+(\S+)\n/.exec(out);
      const grpc = /OTLP\/gRPC\s+(\S+)\n/.exec(out);
      if (api && http && grpc) {
        endpoints = { apiUrl: api[1], otlpHttpUrl: http[1], otlpGrpcUrl: `http://${grpc[1]}` };
        resolve(endpoints);
      }
    });
    void exited.then(() => resolve(undefined));
  });
  return {
    child,
    generation,
    listening,
    exited,
    hasListened: () => endpoints !== undefined,
    stderrTail: () => stderr,
  };
}

function describeExit(status: ExitStatus | 'timeout'): string {
  if (status === 'timeout') return 'did not exit in time';
  return status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
}

// ---------------------------------------------------------------------------------------------
// The senders: real OTLP exporters, one export at a time, every span accounted for

type Protocol = 'proto' | 'grpc' | 'json';

function parseProtocol(name: string): Protocol {
  if (name === 'proto' || name === 'grpc' || name === 'json') return name;
  throw new Error(`bench:crash: unknown protocol ${JSON.stringify(name)} (proto, grpc or json)`);
}

/** Where the senders send: the latest published server, or nothing while none is. */
interface Target {
  current: { readonly generation: number; readonly endpoints: Endpoints } | undefined;
}

/** One trace as sent: all its spans went in one export. */
interface SentTrace {
  readonly spanIds: readonly string[];
  readonly acknowledged: boolean;
  /** The exporter sent the request more than once. */
  readonly retried: boolean;
  /** The server generation the export was sent to. */
  readonly generation: number;
}

/** Everything the exporters were told, trace by trace. */
class Ledger {
  readonly traces = new Map<string, SentTrace>();
  acknowledgedSpans = 0;
  unacknowledgedSpans = 0;
  exportsSucceeded = 0;
  exportsFailed = 0;
  exporterRetries = 0;
  /** Failure reasons with digits blanked (ports differ), and how often. */
  readonly failures = new Map<string, number>();

  record(
    protocol: Protocol,
    spans: readonly ReadableSpan[],
    result: ExportResult,
    retries: number,
    generation: number,
  ) {
    const acknowledged = result.code === ExportResultCode.SUCCESS;
    const byTrace = new Map<string, string[]>();
    for (const span of spans) {
      const { traceId, spanId } = span.spanContext();
      const ids = byTrace.get(traceId);
      if (ids) ids.push(spanId);
      else byTrace.set(traceId, [spanId]);
    }
    for (const [traceId, spanIds] of byTrace) {
      this.traces.set(traceId, { spanIds, acknowledged, retried: retries > 0, generation });
    }
    this.exporterRetries += retries;
    if (acknowledged) {
      this.exportsSucceeded++;
      this.acknowledgedSpans += spans.length;
    } else {
      this.exportsFailed++;
      this.unacknowledgedSpans += spans.length;
      const reason = `${protocol}: ${result.error?.message ?? 'failed'}`.replace(/\d+/g, 'N').slice(0, 100);
      this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
    }
  }
}

/** The export being made in this async context, so diag messages can be pinned on it. */
const currentExport = new AsyncLocalStorage<{ retries: number }>();
/** Exporter diag warnings and errors (partial success, serialisation trouble), and how often. */
const exporterWarnings = new Map<string, number>();

/**
 * Counts the exporters' retries per export: `RetryingTransport` (otlp-exporter-base) says
 * "Scheduling export retry" at verbose level before each one, in the export's async context.
 */
function watchExporterDiagnostics(): void {
  const note = (message: string) => {
    const key = message.replace(/\d+/g, 'N').slice(0, 100);
    exporterWarnings.set(key, (exporterWarnings.get(key) ?? 0) + 1);
  };
  const logger: DiagLogger = {
    verbose: (message) => {
      if (!message.startsWith('Scheduling export retry')) return;
      const attempt = currentExport.getStore();
      if (attempt) attempt.retries++;
      else note(`retry outside a known export: ${message}`);
    },
    debug: () => {},
    info: () => {},
    warn: (message) => note(message),
    error: (message) => note(message),
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.VERBOSE, suppressOverrideMessage: true });
}

function makeExporter(protocol: Protocol, endpoints: Endpoints): SpanExporter {
  const timeoutMillis = TIMEOUT_MS;
  if (protocol === 'grpc') return new GrpcExporter({ url: endpoints.otlpGrpcUrl, timeoutMillis });
  if (protocol === 'json') return new JsonExporter({ url: endpoints.otlpHttpUrl, timeoutMillis });
  return new ProtoExporter({ url: endpoints.otlpHttpUrl, timeoutMillis });
}

/** Keeps the spans the SDK ends, for the sender to export itself. */
class EndedSpans implements SpanProcessor {
  private spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  take(): ReadableSpan[] {
    const taken = this.spans;
    this.spans = [];
    return taken;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/**
 * Makes `count` spans with the real SDK: traces of 20–120 spans (fewer, larger traces make the check
 * quicker), a server root and client children.
 */
function makeBatch(
  tracer: ReturnType<BasicTracerProvider['getTracer']>,
  ended: EndedSpans,
  rand: () => number,
  count: number,
) {
  let made = 0;
  while (made < count) {
    const size = Math.min(count - made, 20 + Math.floor(rand() * 101));
    const t0 = Date.now() - 1000;
    const root = tracer.startSpan('GET /api/orders/{id}', {
      kind: SpanKind.SERVER,
      startTime: t0,
      attributes: { 'http.request.method': 'GET', 'http.route': '/api/orders/{id}', 'order.id': made },
    });
    const parent = trace.setSpan(ROOT_CONTEXT, root);
    for (let i = 1; i < size; i++) {
      const child = tracer.startSpan(
        i % 3 === 0 ? 'SELECT orders' : `GET /internal/${i % 7}`,
        { kind: SpanKind.CLIENT, startTime: t0 + i, attributes: { 'child.index': i, 'db.system': 'postgresql' } },
        parent,
      );
      child.end(t0 + i + 1 + rand() * 50);
    }
    root.end(t0 + size + 60);
    made += size;
  }
  return ended.take();
}

/** Exports once and waits for the callback, bounded: a callback never called counts as failed. */
function exportOnce(exporter: SpanExporter, spans: ReadableSpan[], attempt: { retries: number }) {
  return new Promise<ExportResult>((resolve) => {
    const timer = setTimeout(
      () => resolve({ code: ExportResultCode.FAILED, error: new Error('export callback never called') }),
      LIMITS.exportCallbackMs,
    );
    currentExport.run(attempt, () => {
      try {
        exporter.export(spans, (result) => {
          clearTimeout(timer);
          resolve(result);
        });
      } catch (error) {
        clearTimeout(timer);
        resolve({ code: ExportResultCode.FAILED, error: error as Error });
      }
    });
  });
}

interface SenderOptions {
  readonly id: number;
  readonly protocol: Protocol;
  readonly target: Target;
  readonly ledger: Ledger;
  readonly stop: { requested: boolean };
  readonly deadline: number;
}

/**
 * Sends batches until told to stop: one export at a time, to whichever server is published, with a
 * new exporter after each restart (the ports change). A failed export is only counted.
 */
async function runSender(options: SenderOptions): Promise<void> {
  const { id, protocol, target, ledger, stop } = options;
  const ended = new EndedSpans();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `crash-sender-${id}-${protocol}` }),
    spanProcessors: [ended],
  });
  const tracer = provider.getTracer('ariadne-bench-crash');
  const rand = seededRandom(SEED * 1000 + id);
  let exporter: { readonly generation: number; readonly exporter: SpanExporter } | undefined;
  try {
    while (!stop.requested && Date.now() < options.deadline) {
      const current = target.current;
      if (!current) {
        await sleep(50);
        continue;
      }
      if (exporter?.generation !== current.generation) {
        void exporter?.exporter.shutdown().catch(() => undefined);
        exporter = { generation: current.generation, exporter: makeExporter(protocol, current.endpoints) };
      }
      const spans = makeBatch(tracer, ended, rand, SPANS_PER_REQUEST);
      const attempt = { retries: 0 };
      const result = await exportOnce(exporter.exporter, spans, attempt);
      ledger.record(protocol, spans, result, attempt.retries, current.generation);
      if (result.code !== ExportResultCode.SUCCESS) await sleep(100);
    }
  } finally {
    await withTimeout(exporter?.exporter.shutdown() ?? Promise.resolve(), 5_000).catch(() => undefined);
    await provider.shutdown();
  }
}

// ---------------------------------------------------------------------------------------------
// The campaign

/** What happens after a kill, before the next loaded period. */
type Action =
  /** Unpublished: no load and no read between the start and the stop. */
  | { readonly kind: 'start-then-clean-stop'; readonly runMs: number }
  /**
   * SIGKILL `afterMs` after the spawn (`spawn`: Node and tsx loading; `startup`: DuckDB open, log
   * replay, listen) or after the server listens (`listening`: idle, its log replayed and drained,
   * never published: the state in which DuckDB's WAL holds rows the ingest log no longer does).
   */
  | {
      readonly kind: 'kill-during-startup';
      readonly phase: 'spawn' | 'startup' | 'listening';
      readonly afterMs: number;
    }
  | { readonly kind: 'start-with-load'; readonly loadMs: number };

interface CyclePlan {
  readonly loadMs: number;
  readonly actions: readonly Action[];
}

/** One cycle of the campaign from the seeded sequence; the same seed gives the same plans. */
function planCycle(rand: () => number): CyclePlan {
  const loadMs = Math.round(1000 + rand() * 3000);
  const actions: Action[] = [];
  const count = Math.floor(rand() * 4);
  for (let i = 0; i < count; i++) {
    const pick = rand();
    if (pick < 1 / 3) actions.push({ kind: 'start-then-clean-stop', runMs: Math.round(rand() * 1000) });
    else if (pick < 2 / 3) actions.push(planStartupKill(rand));
    else actions.push({ kind: 'start-with-load', loadMs: Math.round(500 + rand() * 1500) });
  }
  return { loadMs, actions };
}

function planStartupKill(rand: () => number): Action {
  const phase = rand();
  if (phase < 1 / 3) return { kind: 'kill-during-startup', phase: 'spawn', afterMs: Math.round(rand() * 100) };
  if (phase < 2 / 3) return { kind: 'kill-during-startup', phase: 'startup', afterMs: Math.round(100 + rand() * 2400) };
  return { kind: 'kill-during-startup', phase: 'listening', afterMs: Math.round(rand() * 500) };
}

function describeAction(action: Action): string {
  if (action.kind === 'kill-during-startup') {
    return action.phase === 'listening'
      ? `start, kill ${action.afterMs} ms after it listens`
      : `kill during startup ${action.afterMs} ms after spawn`;
  }
  if (action.kind === 'start-then-clean-stop') return `start, ${action.runMs} ms without load, clean stop`;
  return `start with load ${action.loadMs} ms`;
}

interface CampaignStats {
  starts: number;
  killsUnderLoad: number;
  /** Killed before it printed its addresses. */
  killsDuringStartup: number;
  /** Killed by a startup kill after it had printed its addresses (never published: no load reached it). */
  killsIdleAfterStartup: number;
  cleanStops: number;
  /** Clean stops that took longer than `SLOW_STOP_MS`, and the slowest. */
  slowCleanStops: number;
  slowestCleanStopMs: number;
  replayedSpans: number;
  tornTails: number;
  cyclesRun: number;
  /** What ended each server, by generation. */
  readonly fates: Map<number, string>;
  /** Server stderr lines that report an error (JSON level ≥ 50, or text saying error or failed). */
  readonly serverErrors: string[];
  /** Things that went wrong besides missing or duplicated spans. */
  readonly anomalies: string[];
}

const SLOW_STOP_MS = 10_000;

/**
 * Reads one line of the server's stderr, plain text or a JSON log line (`{"level", "msg", …}`):
 * the spans it replayed from the ingest log, a torn tail cut, or an error.
 */
function readServerLine(stats: CampaignStats, line: string): void {
  let msg = line;
  let fields: Record<string, unknown> = {};
  if (line.startsWith('{')) {
    try {
      fields = JSON.parse(line) as Record<string, unknown>;
      msg = String(fields.msg ?? '');
    } catch {
      // Not JSON after all: read as text.
    }
  }
  const replayed = /replayed (\d+) acknowledged spans/.exec(msg);
  if (replayed) stats.replayedSpans += Number(replayed[1]);
  else if (/replayed/.test(msg) && typeof fields.spans === 'number') stats.replayedSpans += fields.spans;
  if (/torn tail/.test(msg)) stats.tornTails++;
  const level = typeof fields.level === 'number' ? fields.level : undefined;
  if ((level !== undefined && level >= 50) || (level === undefined && /error|failed/i.test(msg))) {
    stats.serverErrors.push(line.slice(0, 300));
  }
}

/** Starts, stops and kills the one server of the campaign, and publishes it to the senders. */
class ServerControl {
  private server: ServerProcess | undefined;
  private generation = 0;

  constructor(
    private readonly dataDir: string,
    private readonly target: Target,
    readonly stats: CampaignStats,
  ) {}

  running(): ServerProcess | undefined {
    return this.server;
  }

  private spawn(): ServerProcess {
    this.generation++;
    this.stats.starts++;
    const generation = this.generation;
    return spawnServer(this.dataDir, generation, (line) => {
      readServerLine(this.stats, line);
      if (!/SIGTERM: stopping|^stopped$/.test(line.trim())) log(`  server #${generation}: ${line}`);
    });
  }

  /** Starts a server and waits until it listens; throws if it does not. */
  async start(publish: boolean): Promise<Endpoints> {
    if (this.server) throw new Error('bench:crash: a server is already running');
    const server = this.spawn();
    const endpoints = await withTimeout(server.listening, LIMITS.serverStartMs);
    if (endpoints === undefined || endpoints === 'timeout') {
      const how = endpoints === 'timeout' ? 'timed out' : describeExit(await server.exited);
      await this.killAndWait(server);
      throw new Error(`server #${server.generation} did not start (${how}):\n${server.stderrTail()}`);
    }
    this.server = server;
    if (publish) this.target.current = { generation: server.generation, endpoints };
    return endpoints;
  }

  /** SIGKILLs the running server, load or not, and waits until it is gone. */
  async kill(fate: string): Promise<void> {
    const server = this.takeServer();
    await this.killAndWait(server);
    this.stats.fates.set(server.generation, fate);
  }

  /** SIGTERM, and the server must commit everything and exit 0. */
  async stopClean(fate: string): Promise<void> {
    const server = this.takeServer();
    const t0 = performance.now();
    server.child.kill('SIGTERM');
    const status = await withTimeout(server.exited, LIMITS.cleanStopMs);
    const ms = performance.now() - t0;
    this.stats.cleanStops++;
    if (ms > SLOW_STOP_MS) this.stats.slowCleanStops++;
    this.stats.slowestCleanStopMs = Math.max(this.stats.slowestCleanStopMs, Math.round(ms));
    this.stats.fates.set(server.generation, fate);
    if (status === 'timeout' || status.code !== 0) {
      this.stats.anomalies.push(
        `clean stop of server #${server.generation}: ${describeExit(status)}\n${server.stderrTail()}`,
      );
      if (status === 'timeout') await this.killAndWait(server);
    }
  }

  /**
   * Spawns a server and SIGKILLs it `afterMs` after the spawn, whatever it is doing by then, or
   * `afterMs` after it listens (`afterListening`).
   */
  async killDuringStartup(afterListening: boolean, afterMs: number): Promise<void> {
    const server = this.spawn();
    if (afterListening) {
      const endpoints = await withTimeout(server.listening, LIMITS.serverStartMs);
      if (endpoints === 'timeout') return this.failedStartup(server, 'did not start in time');
      if (endpoints === undefined) {
        return this.failedStartup(server, `exited by itself (${describeExit(await server.exited)})`);
      }
    }
    const early = await withTimeout(server.exited, afterMs);
    if (early !== 'timeout') return this.failedStartup(server, `exited by itself (${describeExit(early)})`);
    const listened = server.hasListened();
    await this.killAndWait(server);
    if (listened) this.stats.killsIdleAfterStartup++;
    else this.stats.killsDuringStartup++;
    this.stats.fates.set(server.generation, listened ? 'killed idle after startup' : 'killed during startup');
    log(`  server #${server.generation} SIGKILLed ${listened ? 'idle, after it listened' : 'before it listened'}`);
  }

  private async failedStartup(server: ServerProcess, how: string): Promise<void> {
    this.stats.anomalies.push(`server #${server.generation} ${how} during startup:\n${server.stderrTail()}`);
    this.stats.fates.set(server.generation, `${how} during startup`);
    await this.killAndWait(server);
  }

  private async killAndWait(server: ServerProcess): Promise<void> {
    server.child.kill('SIGKILL');
    const status = await withTimeout(server.exited, LIMITS.exitAfterKillMs);
    if (status === 'timeout') this.stats.anomalies.push(`server #${server.generation} survived SIGKILL`);
  }

  private takeServer(): ServerProcess {
    const server = this.server;
    if (!server) throw new Error('bench:crash: no server running');
    this.server = undefined;
    if (this.target.current?.generation === server.generation) this.target.current = undefined;
    return server;
  }
}

/** Runs `step` and logs how long it took: a slow start or stop is a finding too. */
async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await step();
  log(`  ${what}: ${Math.round(performance.now() - t0)} ms`);
  return result;
}

async function runAction(control: ServerControl, action: Action): Promise<void> {
  // A server left running by 'start with load' is stopped cleanly, under load, before a new start.
  if (action.kind !== 'start-with-load' && control.running()) {
    const generation = control.running()!.generation;
    await timed(`clean stop of server #${generation} under load`, () => control.stopClean('clean stop under load'));
  }
  if (action.kind === 'kill-during-startup')
    return control.killDuringStartup(action.phase === 'listening', action.afterMs);
  if (action.kind === 'start-with-load') {
    if (!control.running()) await timed('start', () => control.start(true));
    return sleep(action.loadMs);
  }
  // Not published: whatever DuckDB replayed from its WAL at open is checkpointed with no write or
  // read in between, the order that once hid acknowledged traces (DuckDB #23788).
  await timed('start (unpublished)', () => control.start(false));
  await sleep(action.runMs);
  const generation = control.running()!.generation;
  await timed(`clean stop of server #${generation}`, () => control.stopClean('clean stop, no load, no read'));
}

/** `KILLS` cycles: load, SIGKILL, follow-up actions; leaves a server running. */
async function runCampaign(control: ServerControl, ledger: Ledger): Promise<void> {
  const rand = seededRandom(SEED);
  const deadline = Date.now() + LIMITS.campaignMs;
  for (let cycle = 1; cycle <= KILLS; cycle++) {
    if (Date.now() > deadline) {
      control.stats.anomalies.push(`campaign time limit reached after ${cycle - 1} of ${KILLS} cycles`);
      break;
    }
    const plan = planCycle(rand);
    if (!control.running()) await timed('start', () => control.start(true));
    await sleep(plan.loadMs);
    const generation = control.running()!.generation;
    const acknowledged = ledger.acknowledgedSpans;
    await control.kill(`SIGKILL under load (cycle ${cycle})`);
    control.stats.killsUnderLoad++;
    const actions = plan.actions.map(describeAction).join('; ') || 'none';
    log(
      `cycle ${cycle}/${KILLS}: ${plan.loadMs} ms of load, SIGKILL server #${generation} ` +
        `(${acknowledged} spans acknowledged so far); then: ${actions}`,
    );
    for (const action of plan.actions) await runAction(control, action);
    control.stats.cyclesRun = cycle;
  }
  if (!control.running()) await timed('final start', () => control.start(true));
}

// ---------------------------------------------------------------------------------------------
// The check

interface Verification {
  acknowledgedTraces: number;
  storedSpansOfAcknowledgedTraces: number;
  missingSpans: number;
  tracesWithMissingSpans: number;
  absentAcknowledgedTraces: number;
  duplicatedSpans: number;
  duplicatedSpansOfRetriedExports: number;
  extraCopies: number;
  unacknowledgedStoredSpans: number;
  unknownStoredSpans: number;
  unverifiedTraces: number;
  searchTraces: number;
  searchUnknownTraces: number;
  /** Missing spans by the server generation that acknowledged them. */
  readonly missingByGeneration: Map<number, number>;
  readonly missingExamples: string[];
  readonly duplicateExamples: string[];
}

async function waitReady(apiUrl: string): Promise<void> {
  const deadline = Date.now() + LIMITS.serverStartMs;
  while (Date.now() < deadline) {
    const status = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(5_000) })
      .then((response) => response.status)
      .catch(() => 0);
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error(`bench:crash: ${apiUrl}/readyz never answered 200`);
}

/**
 * The span ids stored for one trace, or undefined if the API could not tell: 10 tries, after a
 * network error or a 503 (`pending`: acknowledged spans not yet in the store) with its
 * `Retry-After`, at most 5 s.
 */
async function fetchStoredSpanIds(apiUrl: string, traceId: string): Promise<string[] | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    let pauseMs = 500;
    try {
      const response = await fetch(`${apiUrl}/api/v1/traces/${traceId}`, { signal: AbortSignal.timeout(30_000) });
      if (response.status === 404) return [];
      if (response.status === 200) {
        const body = (await response.json()) as { spans: { spanId: string }[] };
        return body.spans.map((span) => span.spanId);
      }
      await response.body?.cancel();
      const retryAfter = Number(response.headers.get('retry-after'));
      if (response.status === 503 && retryAfter > 0) pauseMs = Math.min(retryAfter, 5) * 1000;
    } catch {
      // The next attempt, or undefined.
    }
    await sleep(pauseMs);
  }
  return undefined;
}

function checkTrace(v: Verification, traceId: string, sent: SentTrace, stored: readonly string[]): void {
  const copies = new Map<string, number>();
  for (const id of stored) copies.set(id, (copies.get(id) ?? 0) + 1);
  let missing = 0;
  for (const spanId of sent.spanIds) {
    const n = copies.get(spanId) ?? 0;
    if (sent.acknowledged && n === 0) {
      missing++;
      if (v.missingExamples.length < 5) v.missingExamples.push(`${traceId}/${spanId} (server #${sent.generation})`);
    }
    if (!sent.acknowledged && n > 0) v.unacknowledgedStoredSpans++;
    if (n > 1) {
      v.duplicatedSpans++;
      v.extraCopies += n - 1;
      if (sent.retried) v.duplicatedSpansOfRetriedExports++;
      if (v.duplicateExamples.length < 5) {
        v.duplicateExamples.push(
          `${traceId}/${spanId} ×${n} (${sent.acknowledged ? 'acknowledged' : 'not acknowledged'}, ` +
            `${sent.retried ? 'export retried' : 'no exporter retry'}, server #${sent.generation})`,
        );
      }
    }
  }
  const known = new Set(sent.spanIds);
  for (const [id, n] of copies) if (!known.has(id)) v.unknownStoredSpans += n;
  if (sent.acknowledged) {
    v.acknowledgedTraces++;
    v.storedSpansOfAcknowledgedTraces += stored.length;
    if (stored.length === 0) v.absentAcknowledgedTraces++;
    if (missing > 0) {
      v.missingSpans += missing;
      v.tracesWithMissingSpans++;
      v.missingByGeneration.set(sent.generation, (v.missingByGeneration.get(sent.generation) ?? 0) + missing);
    }
  }
}

/** Reads every trace ever sent back from the API (8 at a time) and compares it with the ledger. */
async function verify(apiUrl: string, ledger: Ledger): Promise<Verification> {
  const v: Verification = {
    acknowledgedTraces: 0,
    storedSpansOfAcknowledgedTraces: 0,
    missingSpans: 0,
    tracesWithMissingSpans: 0,
    absentAcknowledgedTraces: 0,
    duplicatedSpans: 0,
    duplicatedSpansOfRetriedExports: 0,
    extraCopies: 0,
    unacknowledgedStoredSpans: 0,
    unknownStoredSpans: 0,
    unverifiedTraces: 0,
    searchTraces: 0,
    searchUnknownTraces: 0,
    missingByGeneration: new Map(),
    missingExamples: [],
    duplicateExamples: [],
  };
  const entries = [...ledger.traces];
  const deadline = Date.now() + LIMITS.verifyMs;
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const [traceId, sent] = entries[next++];
      const stored = Date.now() < deadline ? await fetchStoredSpanIds(apiUrl, traceId) : undefined;
      if (stored === undefined) v.unverifiedTraces++;
      else checkTrace(v, traceId, sent, stored);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));

  const search = await fetch(`${apiUrl}/api/v1/search?start=0&limit=1000`, { signal: AbortSignal.timeout(60_000) });
  if (search.status !== 200) throw new Error(`bench:crash: search answered ${search.status}: ${await search.text()}`);
  const found = ((await search.json()) as { traces: { traceId: string }[] }).traces;
  v.searchTraces = found.length;
  v.searchUnknownTraces = found.filter((t) => !ledger.traces.has(t.traceId)).length;
  return v;
}

// ---------------------------------------------------------------------------------------------
// The report

/** The figures of the report, flat, as printed on the JSON line. */
function collectFigures(stats: CampaignStats, ledger: Ledger, v: Verification, elapsedSeconds: number) {
  return {
    seed: SEED,
    senders: SENDERS,
    protocols: PROTOCOLS.join(','),
    spansPerRequest: SPANS_PER_REQUEST,
    cycles: stats.cyclesRun,
    killsUnderLoad: stats.killsUnderLoad,
    killsDuringStartup: stats.killsDuringStartup,
    killsIdleAfterStartup: stats.killsIdleAfterStartup,
    starts: stats.starts,
    restarts: stats.starts - 1,
    cleanStops: stats.cleanStops,
    slowCleanStops: stats.slowCleanStops,
    slowestCleanStopMs: stats.slowestCleanStopMs,
    serverErrorLines: stats.serverErrors.length,
    replayedSpans: stats.replayedSpans,
    tornTails: stats.tornTails,
    exportsSucceeded: ledger.exportsSucceeded,
    exportsFailed: ledger.exportsFailed,
    exporterRetries: ledger.exporterRetries,
    acknowledgedSpans: ledger.acknowledgedSpans,
    acknowledgedTraces: v.acknowledgedTraces,
    unacknowledgedSpans: ledger.unacknowledgedSpans,
    storedSpansOfAcknowledgedTraces: v.storedSpansOfAcknowledgedTraces,
    missingSpans: v.missingSpans,
    tracesWithMissingSpans: v.tracesWithMissingSpans,
    absentAcknowledgedTraces: v.absentAcknowledgedTraces,
    duplicatedSpans: v.duplicatedSpans,
    duplicatedSpansOfRetriedExports: v.duplicatedSpansOfRetriedExports,
    extraCopies: v.extraCopies,
    unacknowledgedStoredSpans: v.unacknowledgedStoredSpans,
    unknownStoredSpans: v.unknownStoredSpans,
    unverifiedTraces: v.unverifiedTraces,
    searchTraces: v.searchTraces,
    searchUnknownTraces: v.searchUnknownTraces,
    anomalies: stats.anomalies.length,
    elapsedSeconds: Math.round(elapsedSeconds * 10) / 10,
  };
}

function formatTable(stats: CampaignStats, ledger: Ledger, v: Verification, elapsedSeconds: number): string {
  const row = (label: string, value: string | number) => `  ${label.padEnd(52)}${value}\n`;
  let out = '\nbench:crash\n';
  out += row(
    'seed / senders (protocols) / spans per request',
    `${SEED} / ${SENDERS} (${PROTOCOLS.join(',')}) / ${SPANS_PER_REQUEST}`,
  );
  out += row('cycles run', `${stats.cyclesRun} of ${KILLS}`);
  out += row('SIGKILLs under load', stats.killsUnderLoad);
  out += row('SIGKILLs during startup (before listening)', stats.killsDuringStartup);
  out += row('SIGKILLs of an idle server after startup (no load)', stats.killsIdleAfterStartup);
  out += row('starts (restarts)', `${stats.starts} (${stats.starts - 1})`);
  out += row('clean stops (SIGTERM, exit 0 expected)', stats.cleanStops);
  out += row(
    `clean stops slower than ${SLOW_STOP_MS / 1000} s (slowest)`,
    `${stats.slowCleanStops} (${(stats.slowestCleanStopMs / 1000).toFixed(1)} s)`,
  );
  out += row('server stderr lines reporting an error', stats.serverErrors.length);
  out += row('spans replayed from the ingest log at starts', stats.replayedSpans);
  out += row('exports acknowledged / failed', `${ledger.exportsSucceeded} / ${ledger.exportsFailed}`);
  out += row('exporter retries (their own, within the timeout)', ledger.exporterRetries);
  out += row('acknowledged spans (traces)', `${ledger.acknowledgedSpans} (${v.acknowledgedTraces})`);
  out += row('spans sent but not acknowledged', ledger.unacknowledgedSpans);
  out += row('stored spans of acknowledged traces', v.storedSpansOfAcknowledgedTraces);
  out += row(
    'MISSING acknowledged spans (traces; absent)',
    `${v.missingSpans} (${v.tracesWithMissingSpans}; ${v.absentAcknowledgedTraces})`,
  );
  out += row(
    'DUPLICATED spans (of retried exports; extra copies)',
    `${v.duplicatedSpans} (${v.duplicatedSpansOfRetriedExports}; ${v.extraCopies})`,
  );
  out += row('not acknowledged but stored (fine)', v.unacknowledgedStoredSpans);
  out += row('stored spans never sent', v.unknownStoredSpans);
  out += row('traces not verified (API did not answer)', v.unverifiedTraces);
  out += row('search ?start=0&limit=1000: traces (unknown)', `${v.searchTraces} (${v.searchUnknownTraces})`);
  out += row('elapsed', `${elapsedSeconds.toFixed(1)} s`);
  for (const [generation, n] of [...v.missingByGeneration].sort((a, b) => a[0] - b[0])) {
    out += row(`  missing, acknowledged by server #${generation}`, `${n} (${stats.fates.get(generation) ?? 'final'})`);
  }
  for (const example of v.missingExamples) out += `  missing e.g. ${example}\n`;
  for (const example of v.duplicateExamples) out += `  duplicated e.g. ${example}\n`;
  for (const [reason, n] of ledger.failures) out += `  export failures ×${n}: ${reason}\n`;
  for (const [message, n] of exporterWarnings) out += `  exporter diag ×${n}: ${message}\n`;
  for (const line of stats.serverErrors.slice(0, 5)) out += `  server error: ${line}\n`;
  for (const anomaly of stats.anomalies) out += `  ANOMALY: ${anomaly}\n`;
  return out;
}

/** Prints the table and the JSON line; true when nothing is missing or duplicated and all was checked. */
function report(stats: CampaignStats, ledger: Ledger, v: Verification, elapsedSeconds: number): boolean {
  const ok = v.missingSpans === 0 && v.duplicatedSpans === 0 && v.unverifiedTraces === 0;
  const verdict = `  verdict: ${ok ? 'OK, 0 missing, 0 duplicated' : 'FAILED'}\n`;
  const figures = collectFigures(stats, ledger, v, elapsedSeconds);
  process.stdout.write(
    `${formatTable(stats, ledger, v, elapsedSeconds)}${verdict}\n${JSON.stringify({ bench: 'crash', ...figures })}\n`,
  );
  return ok;
}

// ---------------------------------------------------------------------------------------------

function killChildren(): void {
  for (const child of liveChildren.keys()) child.kill('SIGKILL');
}

/** The data directory to remove on the way out, whichever way that is (unset with `--keep`). */
let removeOnExit: string | undefined;

function removeDataDir(): void {
  if (removeOnExit === undefined) return;
  rmSync(removeOnExit, { recursive: true, force: true, maxRetries: 3 });
  removeOnExit = undefined;
}

async function main(): Promise<number> {
  watchExporterDiagnostics();
  const dataDir = mkdtempSync(join(tmpdir(), 'ariadne-bench-crash-'));
  if (!values.keep) removeOnExit = dataDir;
  const stats: CampaignStats = {
    starts: 0,
    killsUnderLoad: 0,
    killsDuringStartup: 0,
    killsIdleAfterStartup: 0,
    cleanStops: 0,
    slowCleanStops: 0,
    slowestCleanStopMs: 0,
    replayedSpans: 0,
    tornTails: 0,
    cyclesRun: 0,
    fates: new Map(),
    serverErrors: [],
    anomalies: [],
  };
  const target: Target = { current: undefined };
  const ledger = new Ledger();
  const stop = { requested: false };
  const control = new ServerControl(dataDir, target, stats);
  let senders: Promise<void>[] = [];
  log(`data in ${dataDir}; ${KILLS} kills, seed ${SEED}, ${SENDERS} senders × ${SPANS_PER_REQUEST} spans per request`);
  try {
    await control.start(true);
    const deadline = Date.now() + LIMITS.campaignMs;
    senders = Array.from({ length: SENDERS }, (_, id) =>
      runSender({ id, protocol: PROTOCOLS[id % PROTOCOLS.length], target, ledger, stop, deadline }),
    );
    await runCampaign(control, ledger);

    log('campaign done; stopping the load');
    stop.requested = true;
    await Promise.all(senders);
    target.current = undefined;
    const server = control.running()!;
    const { apiUrl } = (await server.listening)!;
    await waitReady(apiUrl);
    log(`verifying ${ledger.traces.size} traces against server #${server.generation}`);
    const verification = await verify(apiUrl, ledger);
    await control.stopClean('final clean stop');
    return report(stats, ledger, verification, (performance.now() - started) / 1000) ? 0 : 1;
  } finally {
    stop.requested = true;
    target.current = undefined;
    killChildren();
    await withTimeout(Promise.all([...liveChildren.values()]), LIMITS.exitAfterKillMs);
    await withTimeout(Promise.all(senders), LIMITS.exportCallbackMs);
    if (values.keep) log(`data kept in ${dataDir}`);
    else removeDataDir();
  }
}

process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildren();
    try {
      removeDataDir();
    } finally {
      process.exit(130);
    }
  });
}
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench:crash failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
    killChildren();
    process.exit(1);
  },
);
