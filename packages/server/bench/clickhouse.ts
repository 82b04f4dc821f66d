/**
 * `npm run clickhouse`: a ClickHouse server, or a cluster of shards with its ZooKeeper, for trying
 * Ariadne's ClickHouse store by hand. Uses the tests' harness (store/testdata/clickhouse-server.ts):
 * 127.0.0.1 only, data and logs in `--dir`, which is kept, so a second run finds the data again.
 * Prints the URLs and a ready `--store` argument, then runs until Ctrl-C (SIGINT) or SIGTERM and
 * stops the servers cleanly; a second Ctrl-C kills them.
 *
 *   npm run clickhouse -- --dir D [--port P] [--shards N [--replicas R]]
 *
 * `--port` is the HTTP port of the first server (the others of a cluster follow: P + 1, ...); free
 * ports otherwise. The native and interserver ports are free ports chosen at every start. Without
 * `--shards` one server starts; with it, N shards of R replicas each (default 1) named as one
 * cluster, with distributed DDL (`ON CLUSTER`); with R > 1 the store makes replicated tables.
 */
import { resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CLICKHOUSE_TEST_PASSWORD,
  CLICKHOUSE_TEST_USER,
  type ClickHouseServer,
  clickHouseBinary,
  startClickHouse,
  startClickHouseCluster,
} from '../src/store/testdata/clickhouse-server.ts';

const USAGE = 'usage: npm run clickhouse -- --dir D [--port P] [--shards N [--replicas R]]\n';
const WATCH_MS = 5000;

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string' },
    shards: { type: 'string' },
    replicas: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (!values.dir) fail('--dir is required');
const dir = resolvePath(values.dir);
const httpPort = values.port === undefined ? undefined : positiveInteger('--port', values.port);
const shardCount = values.shards === undefined ? undefined : positiveInteger('--shards', values.shards);
const replicaCount = values.replicas === undefined ? 1 : positiveInteger('--replicas', values.replicas);
if (values.replicas !== undefined && shardCount === undefined) fail('--replicas needs --shards');
if (!clickHouseBinary()) fail('clickhouse-server not found (apt-get install clickhouse-server)');

// Listen for the stop signals before starting: one that arrives during the start stops the servers
// once they are up; a second one exits at once (the harness's exit hook kills what is left).
let wake: () => void = () => undefined;
const stopRequested = new Promise<void>((resolve) => {
  wake = resolve;
});
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals > 1) process.exit(130);
    process.stdout.write(`\n${signal}: stopping (again to kill)\n`);
    wake();
  });
}

let stop: () => Promise<void>;
let servers: readonly ClickHouseServer[];
const users = `users: default (no password), ${CLICKHOUSE_TEST_USER} (password ${CLICKHOUSE_TEST_PASSWORD})`;
try {
  if (shardCount === undefined) {
    const server = await startClickHouse({ dir, keepDir: true, httpPort });
    servers = [server];
    stop = () => server.stop();
    print([
      `ClickHouse in ${dir}`,
      `  HTTP    ${server.url}`,
      `  native  127.0.0.1:${server.tcpPort}`,
      `  ${users}`,
      '',
      `  --store clickhouse://127.0.0.1:${server.httpPort}/ariadne`,
    ]);
  } else {
    const cluster = await startClickHouseCluster({
      dir,
      keepDir: true,
      httpPort,
      shards: shardCount,
      replicas: replicaCount,
    });
    servers = cluster.replicas.flat();
    stop = () => cluster.stop();
    print([
      `ClickHouse cluster ${cluster.name}, ${shardCount} shards × ${replicaCount} replicas, in ${dir}`,
      ...cluster.replicas.flatMap((replicas, n) =>
        replicas.map(
          (s, m) =>
            `  shard ${n + 1}${replicaCount > 1 ? ` replica ${m + 1}` : ''}  HTTP ${s.url}  native 127.0.0.1:${s.tcpPort}`,
        ),
      ),
      `  ${users}`,
      '',
      `  --store clickhouse://127.0.0.1:${cluster.shards[0].httpPort}/ariadne?cluster=${cluster.name}`,
    ]);
  }
} catch (error) {
  process.stderr.write(`could not start: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
}
print(['', 'Ctrl-C stops it.']);

// Keeps the process alive (the servers' child processes do not) and says when a server stops answering.
const down = new Set<ClickHouseServer>();
const watch = setInterval(async () => {
  for (const server of servers) {
    const ok = await fetch(`${server.url}/ping`, { signal: AbortSignal.timeout(2000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (!ok && !down.has(server)) {
      down.add(server);
      process.stderr.write(`${server.url} is not answering; see ${server.dir}/log/clickhouse-server.err.log\n`);
    } else if (ok && down.delete(server)) process.stderr.write(`${server.url} answers again\n`);
  }
}, WATCH_MS);

await stopRequested;
clearInterval(watch);
await stop();
process.stdout.write(`stopped; data kept in ${dir}\n`);
process.exit(0);

function print(lines: readonly string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

function positiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer, not ${text}`);
  return n;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}`);
  process.exit(2);
}
