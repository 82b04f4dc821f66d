import { totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { parseReadConsistency, type ReadConsistency } from '../ingest/read-your-writes.ts';
import { LOG_FORMATS, type LogFormat } from '../logger.ts';
import type { ServerConfig } from '../main.ts';
import { isClickHouseStore, parseClickHouseUrl, redactUrl } from '../store/clickhouse/store-url.ts';
import { UsageError } from './io.ts';

/** One `ariadne serve` option: its flag, its environment variable and its default. */
interface OptionSpec {
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  readonly default: string;
}

const OPTIONS: readonly OptionSpec[] = [
  { flag: 'data', env: 'ARIADNE_DATA', help: 'data directory', default: './ariadne-data' },
  {
    flag: 'store',
    env: 'ARIADNE_STORE',
    help: 'clickhouse://[user[:password]@]host:port/database[?cluster=NAME] keeps spans in ClickHouse',
    default: 'the embedded store in --data',
  },
  { flag: 'host', env: 'ARIADNE_HOST', help: 'address to listen on', default: '127.0.0.1' },
  { flag: 'api-port', env: 'ARIADNE_API_PORT', help: 'query API and web UI port', default: '4320' },
  { flag: 'otlp-http-port', env: 'ARIADNE_OTLP_HTTP_PORT', help: 'OTLP/HTTP port', default: '4318' },
  { flag: 'otlp-grpc-port', env: 'ARIADNE_OTLP_GRPC_PORT', help: 'OTLP/gRPC port', default: '4317' },
  { flag: 'zipkin-port', env: 'ARIADNE_ZIPKIN_PORT', help: 'Zipkin ingest and API port (0: off)', default: '9411' },
  { flag: 'jaeger-port', env: 'ARIADNE_JAEGER_PORT', help: 'Jaeger query API port (0: off)', default: '16686' },
  { flag: 'tempo-port', env: 'ARIADNE_TEMPO_PORT', help: 'Tempo API port (0: off)', default: '3200' },
  { flag: 'max-body', env: 'ARIADNE_MAX_BODY', help: 'largest OTLP request, after decompression', default: '16MiB' },
  {
    flag: 'max-pending-spans',
    env: 'ARIADNE_MAX_PENDING_SPANS',
    help: 'spans acknowledged but not yet in the database before 503/UNAVAILABLE',
    default: 'a quarter of the memory limit, at most 200000',
  },
  {
    flag: 'memory-limit',
    env: 'ARIADNE_MEMORY_LIMIT',
    help: 'memory for the whole process: 256 MiB set aside for Node, then the database (3/8 of the rest) and pending spans (a quarter)',
    default: 'a quarter of RAM, at most 4GiB',
  },
  {
    flag: 'retention',
    env: 'ARIADNE_RETENTION',
    help: 'delete spans older than this, continuously (e.g. 7d, 36h, 90m)',
    default: 'keep everything',
  },
  {
    flag: 'ingest-token-file',
    env: 'ARIADNE_INGEST_TOKEN_FILE',
    help: 'file of tokens (one per line) that OTLP and Zipkin senders must send as Authorization: Bearer',
    default: 'ingest is open',
  },
  {
    flag: 'query-token-file',
    env: 'ARIADNE_QUERY_TOKEN_FILE',
    help: 'file of tokens (one per line) for the query API, the web UI (login page) and the compatible read APIs',
    default: 'queries are open',
  },
  {
    flag: 'tls-cert',
    env: 'ARIADNE_TLS_CERT',
    help: 'PEM certificate chain: every listener speaks TLS',
    default: 'no TLS',
  },
  { flag: 'tls-key', env: 'ARIADNE_TLS_KEY', help: 'PEM private key of --tls-cert', default: 'no TLS' },
  {
    flag: 'read-consistency',
    env: 'ARIADNE_READ_CONSISTENCY',
    help: 'what queries see unless they ask (X-Ariadne-Consistency): committed, or read-your-writes (wait for acknowledged spans)',
    default: 'committed',
  },
  {
    flag: 'log-level',
    env: 'ARIADNE_LOG_LEVEL',
    help: 'trace, debug, info, warn, error or silent (on stderr)',
    default: 'info',
  },
  {
    flag: 'log-format',
    env: 'ARIADNE_LOG_FORMAT',
    help: 'json (one JSON object a line), text (readable), or auto: text on a terminal, JSON otherwise',
    default: 'auto',
  },
];

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export const SERVE_USAGE = `Usage: ariadne serve [options]

Runs Ariadne: OTLP receivers (gRPC and HTTP), the store (embedded, or ClickHouse with --store), the
query API and the web UI.
Every option can also be set with its environment variable; flags win.

Options:
${OPTIONS.map((o) => `  --${o.flag.padEnd(20)} ${o.help} (env ${o.env}; default ${o.default})`).join('\n')}
  --help                 show this help
`;

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Parses `16MiB`, `1.5GB`, `4096` (bytes). */
export function parseSize(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new UsageError(`--${name}: cannot parse size ${JSON.stringify(text)} (e.g. 16MiB, 2GB)`);
  return Math.floor(Number(m[1]) * unit);
}

function parsePort(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`--${name}: not a port number: ${JSON.stringify(text)}`);
  return n;
}

function parseCount(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1)
    throw new UsageError(`--${name}: expected a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

const DURATION_UNITS: Record<string, bigint> = {
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
  w: 604_800_000_000_000n,
};

/** Parses a retention like `7d`, `36h`, `90m`, `2w` into nanoseconds. */
export function parseRetention(text: string, name: string): bigint {
  const m = /^(\d+)\s*([smhdw])$/i.exec(text.trim());
  if (!m || BigInt(m[1]) === 0n)
    throw new UsageError(`--${name}: expected a duration like 7d, 36h or 90m, got ${JSON.stringify(text)}`);
  return BigInt(m[1]) * DURATION_UNITS[m[2].toLowerCase()];
}

/** The default database memory limit: a quarter of this machine's memory, at most 4 GiB. */
export function defaultMemoryLimitBytes(): number {
  return Math.min(4 * 1024 ** 3, Math.floor(totalmem() / 4));
}

/** `--store`: a ClickHouse URL (checked here, so that a typo is a usage error), or unset. */
function parseStore(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  if (!isClickHouseStore(text))
    throw new UsageError(
      `--store: expected clickhouse://[user[:password]@]host:port/database[?cluster=NAME], got ${JSON.stringify(redactUrl(text))} (the embedded store takes --data)`,
    );
  try {
    parseClickHouseUrl(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return text;
}

/** `--read-consistency`: `committed` or `read-your-writes` (unset: the server's default, committed). */
function parseConsistencyFlag(text: string | undefined): ReadConsistency | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return parseReadConsistency(text, '--read-consistency');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Reads `ariadne serve` flags and `ARIADNE_*` environment variables into a server config. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: 'string' as const }])),
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const get = (flag: string): string | undefined => {
    const spec = OPTIONS.find((o) => o.flag === flag)!;
    return (values[flag] as string | undefined) ?? env[spec.env];
  };
  const memory = get('memory-limit');
  const pending = get('max-pending-spans');
  const retention = get('retention');
  const logLevel = get('log-level') ?? 'info';
  const logFormat = (get('log-format') ?? 'auto') as LogFormat;
  if (!LOG_FORMATS.includes(logFormat))
    throw new UsageError(`--log-format: expected one of ${LOG_FORMATS.join(', ')}, got ${JSON.stringify(logFormat)}`);
  const tlsCert = get('tls-cert') || undefined;
  const tlsKey = get('tls-key') || undefined;
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw new UsageError(`--tls-cert and --tls-key go together: ${tlsCert ? '--tls-key' : '--tls-cert'} is missing`);
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  return {
    logLevel,
    logFormat,
    dataDir: get('data') ?? './ariadne-data',
    store: parseStore(get('store')),
    host: get('host') ?? '127.0.0.1',
    apiPort: parsePort(get('api-port') ?? '4320', 'api-port'),
    otlpHttpPort: parsePort(get('otlp-http-port') ?? '4318', 'otlp-http-port'),
    otlpGrpcPort: parsePort(get('otlp-grpc-port') ?? '4317', 'otlp-grpc-port'),
    zipkinPort: parsePort(get('zipkin-port') ?? '9411', 'zipkin-port'),
    jaegerPort: parsePort(get('jaeger-port') ?? '16686', 'jaeger-port'),
    tempoPort: parsePort(get('tempo-port') ?? '3200', 'tempo-port'),
    maxBodyBytes: parseSize(get('max-body') ?? '16MiB', 'max-body'),
    maxPendingSpans: pending === undefined ? undefined : parseCount(pending, 'max-pending-spans'),
    memoryLimit: `${Math.floor((memory ? parseSize(memory, 'memory-limit') : defaultMemoryLimitBytes()) / 1024 ** 2)}MiB`,
    retentionNanos: retention === undefined ? undefined : parseRetention(retention, 'retention'),
    readConsistency: parseConsistencyFlag(get('read-consistency')),
    ingestTokenFile: get('ingest-token-file') || undefined,
    queryTokenFile: get('query-token-file') || undefined,
    tls: tlsCert && tlsKey ? { certFile: tlsCert, keyFile: tlsKey } : undefined,
  };
}
