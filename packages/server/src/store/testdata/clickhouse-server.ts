/**
 * Test harness: real ClickHouse servers (Debian's clickhouse-server 18.16 or later) as child
 * processes, for the ClickHouse store's tests and `npm run clickhouse`. Each server gets its own
 * directory (config.xml, users.xml, data, logs), listens on 127.0.0.1 only, on free ports, and is
 * killed when the test process exits. A cluster is N shards of R such servers each (the replicas
 * of a shard, one by default), plus one standalone ZooKeeper (Debian's `zookeeper` package) so that
 * `ON CLUSTER` DDL and ReplicatedMergeTree tables work.
 *
 * Users: `default` (no password) and `ariadne` (password {@link CLICKHOUSE_TEST_PASSWORD}, written
 * in plain text to users.xml and to data/preprocessed_configs/users.xml, so tests that look for a
 * leaked password must search the logs, not the whole directory).
 *
 * Not handled: TLS, several ZooKeeper nodes, other platforms than
 * Linux with Debian's file layout (ARIADNE_CLICKHOUSE and ARIADNE_ZOOKEEPER_CLASSPATH point
 * elsewhere).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The second user's name; its password is {@link CLICKHOUSE_TEST_PASSWORD}. */
export const CLICKHOUSE_TEST_USER = 'ariadne';
/** Password of {@link CLICKHOUSE_TEST_USER}, for tests that check it never reaches a log. */
export const CLICKHOUSE_TEST_PASSWORD = 's3cret-pass';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

/** One running ClickHouse server. */
export interface ClickHouseServer {
  /** `http://127.0.0.1:PORT`, the HTTP interface. */
  readonly url: string;
  readonly httpPort: number;
  /** The native protocol port (what `remote_servers` and clickhouse-client use). */
  readonly tcpPort: number;
  /** The server's directory: config.xml, users.xml, data/, log/. */
  readonly dir: string;
  /** SIGTERM, then SIGKILL after 10 s; then removes `dir` unless it is kept. */
  stop(): Promise<void>;
  /** SIGKILL now, keeping `dir` (for crash tests; `restart()` or `stop()` afterwards). */
  kill(): void;
  /** Stops the server if it runs (SIGTERM), starts it again on the same dir and ports, waits until it is ready. */
  restart(): Promise<void>;
}

/** Several servers, shards of one or more replicas, named as one cluster in every server's `remote_servers`. */
export interface ClickHouseCluster {
  /** The cluster's name in `remote_servers`, for `ON CLUSTER` and `Distributed(...)`. */
  readonly name: string;
  /** Shard n (1-based in `macros`) is `shards[n - 1]`: its first replica. */
  readonly shards: readonly ClickHouseServer[];
  /** Every server: `replicas[n - 1][m - 1]` is replica m (macro `r<m>`) of shard n. */
  readonly replicas: readonly (readonly ClickHouseServer[])[];
  /** Stops every shard, then ZooKeeper; removes the directories unless kept. */
  stop(): Promise<void>;
}

/** Where a server belongs in a cluster, written to its config.xml; `startClickHouseCluster` sets it. */
export interface ClickHouseClusterMembership {
  readonly name: string;
  /** Native protocol ports of every shard on 127.0.0.1, in shard order (its one replica, or its first). */
  readonly shardTcpPorts: readonly number[];
  /**
   * Native protocol ports of every replica of every shard, `[shard - 1][replica - 1]`; absent: one
   * replica a shard, `shardTcpPorts`. A shard of several replicas has `internal_replication` on:
   * a Distributed insert goes to one replica, and ReplicatedMergeTree copies it to the others.
   */
  readonly replicaTcpPorts?: readonly (readonly number[])[];
  /** This server's shard, 1-based (`{shard}` macro). */
  readonly shard: number;
  /** This server's replica in its shard, 1-based (`{replica}` macro `r<n>`); default 1. */
  readonly replica?: number;
  readonly zooKeeperPort: number;
}

export interface StartClickHouseOptions {
  /** The server's directory; made under the OS temp dir when absent. */
  readonly dir?: string;
  /** Keep `dir` on `stop()`. Default: true when `dir` was given, false for a temp dir. */
  readonly keepDir?: boolean;
  /** HTTP port; a free one when absent. */
  readonly httpPort?: number;
  /** Native protocol port; a free one when absent. */
  readonly tcpPort?: number;
  readonly cluster?: ClickHouseClusterMembership;
}

export interface StartClickHouseClusterOptions {
  /** Number of shards, default 2. */
  readonly shards?: number;
  /** Servers a shard (its replicas), default 1. */
  readonly replicas?: number;
  /**
   * Parent directory: shard-1/, shard-2/, ... (with replicas: shard-1-replica-1/, ...),
   * zookeeper/. A temp dir when absent.
   */
  readonly dir?: string;
  /** Keep the directories on `stop()`. Default: true when `dir` was given. */
  readonly keepDir?: boolean;
  /**
   * HTTP port of the first server; the others follow in order (shard 1's replicas, then shard
   * 2's, ...): server i (0-based) gets `httpPort + i`. Free ports when absent.
   */
  readonly httpPort?: number;
  /** Cluster name, default `ariadne_cluster`. */
  readonly name?: string;
}

/**
 * The ClickHouse server command: ARIADNE_CLICKHOUSE, else `clickhouse-server` (Debian puts it in
 * /usr/sbin) or the single `clickhouse` binary (run as `clickhouse server`) on PATH, /usr/sbin or
 * /usr/bin. Undefined when none is installed.
 */
/**
 * Why the ClickHouse tests cannot run here (no server binary; with `zooKeeper`, no ZooKeeper for
 * the cluster tests either), or undefined when they can. Test files skip with it, or fail with it
 * under `CI=true`.
 */
export function clickHouseMissing(options: { readonly zooKeeper?: boolean } = {}): string | undefined {
  if (!clickHouseBinary()) return 'clickhouse-server is not installed (apt-get install clickhouse-server)';
  if (options.zooKeeper && !zooKeeperClassPath())
    return 'ZooKeeper or java is not installed (apt-get install zookeeper)';
  return undefined;
}

export function clickHouseBinary(): string | undefined {
  const fromEnv = process.env.ARIADNE_CLICKHOUSE;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return findExecutable('clickhouse-server') ?? findExecutable('clickhouse');
}

/**
 * The Java class path that runs ZooKeeper's QuorumPeerMain: ARIADNE_ZOOKEEPER_CLASSPATH, else
 * Debian's /usr/share/java/zookeeper.jar (its manifest names its dependencies) with slf4j-simple
 * for logging. Undefined when ZooKeeper or java is not installed.
 */
export function zooKeeperClassPath(): string | undefined {
  if (!findExecutable('java')) return undefined;
  const fromEnv = process.env.ARIADNE_ZOOKEEPER_CLASSPATH;
  if (fromEnv) return fromEnv;
  const jar = '/usr/share/java/zookeeper.jar';
  if (!existsSync(jar)) return undefined;
  const logging = '/usr/share/java/slf4j-simple.jar';
  return existsSync(logging) ? `${jar}:${logging}` : jar;
}

/** Starts one server and waits until GET /ping answers; throws with its error log if it exits first. */
export async function startClickHouse(options: StartClickHouseOptions = {}): Promise<ClickHouseServer> {
  const binary = clickHouseBinary();
  if (!binary) throw new Error('clickhouse-server not found (apt-get install clickhouse-server)');
  const dir = options.dir ? resolvePath(options.dir) : mkdtempSync(join(tmpdir(), 'ariadne-clickhouse-'));
  const keepDir = options.keepDir ?? options.dir !== undefined;
  refuseRunningDir(dir);
  const [httpPort, tcpPort, interserverPort] = await freePorts(3, [options.httpPort, options.tcpPort]);
  // Written to the config as a macro and read back before the server counts as ready: a server
  // that answers /ping on the port but is not this one (a leftover on a reused port) is refused.
  const token = randomBytes(8).toString('hex');
  writeServerConfig(dir, { httpPort, tcpPort, interserverPort, token, cluster: options.cluster });
  const url = `http://127.0.0.1:${httpPort}`;
  const args = basename(binary) === 'clickhouse' ? ['server'] : [];
  args.push(`--config-file=${join(dir, 'config.xml')}`);

  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    child = spawnLogged(binary, args, dir, 'clickhouse-server');
    try {
      await waitReady(
        child,
        () => isReady(url, token, options.cluster !== undefined),
        `clickhouse-server in ${dir}`,
        () => logTail(join(dir, 'log', 'clickhouse-server.err.log'), join(dir, 'log', 'clickhouse-server.stderr.log')),
      );
    } catch (err) {
      await stopProcess(child, 0);
      throw err;
    }
  };
  try {
    await launch();
  } catch (err) {
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    url,
    httpPort,
    tcpPort,
    dir,
    async stop() {
      stopped = true;
      if (child) await stopProcess(child, STOP_TIMEOUT_MS);
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
    kill() {
      if (child && !hasExited(child)) child.kill('SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error(`clickhouse-server in ${dir} was stopped; start a new one`);
      if (child) await stopProcess(child, STOP_TIMEOUT_MS);
      await launch();
    },
  };
}

/**
 * Starts a ZooKeeper and `shards` × `replicas` servers, all named in every server's
 * `remote_servers` as one cluster, with `{shard}`, `{replica}` and `{cluster}` macros and
 * distributed DDL on: `CREATE ... ON CLUSTER name` runs on every server. With several replicas a
 * shard, `internal_replication` is on: the tables must be Replicated*MergeTree (the replicas copy
 * each other's parts through ZooKeeper; a Distributed insert writes one replica of each shard).
 */
export async function startClickHouseCluster(options: StartClickHouseClusterOptions = {}): Promise<ClickHouseCluster> {
  const count = options.shards ?? 2;
  const replicaCount = options.replicas ?? 1;
  const name = options.name ?? 'ariadne_cluster';
  // The name is an XML element in remote_servers and an identifier in SQL.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`cluster name must be an identifier: ${name}`);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(replicaCount) || replicaCount < 1)
    throw new Error(`shards and replicas must be positive integers: ${count} × ${replicaCount}`);
  const root = options.dir ? resolvePath(options.dir) : mkdtempSync(join(tmpdir(), 'ariadne-clickhouse-cluster-'));
  const keepDir = options.keepDir ?? options.dir !== undefined;
  const total = count * replicaCount;
  // Server i is replica i % R of shard i / R (0-based); one replica a shard keeps the old names.
  const serverDir = (i: number): string =>
    join(
      root,
      replicaCount === 1
        ? `shard-${i + 1}`
        : `shard-${Math.floor(i / replicaCount) + 1}-replica-${(i % replicaCount) + 1}`,
    );
  // Before ZooKeeper starts: a second ZooKeeper on a running cluster's data would damage it.
  for (let i = 0; i < total; i++) refuseRunningDir(serverDir(i));
  const cleanup = (): void => {
    if (!keepDir) rmSync(root, { recursive: true, force: true });
  };
  const fixedHttp = options.httpPort === undefined ? [] : [...Array(total).keys()].map((i) => options.httpPort! + i);
  const httpPorts = await freePorts(total, fixedHttp);
  const tcpPorts = await freePorts(total);
  const replicaTcpPorts = [...Array(count).keys()].map((n) => tcpPorts.slice(n * replicaCount, (n + 1) * replicaCount));
  const shardTcpPorts = replicaTcpPorts.map((ports) => ports[0]);
  let zooKeeper: ZooKeeperServer;
  try {
    zooKeeper = await startZooKeeper(join(root, 'zookeeper'));
  } catch (err) {
    cleanup();
    throw err;
  }
  const servers: ClickHouseServer[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    await zooKeeper.stop();
    cleanup();
  };
  try {
    const started = await Promise.allSettled(
      tcpPorts.map((tcpPort, i) =>
        startClickHouse({
          dir: serverDir(i),
          keepDir: true,
          httpPort: httpPorts[i],
          tcpPort,
          cluster: {
            name,
            shardTcpPorts,
            replicaTcpPorts: replicaCount > 1 ? replicaTcpPorts : undefined,
            shard: Math.floor(i / replicaCount) + 1,
            replica: (i % replicaCount) + 1,
            zooKeeperPort: zooKeeper.port,
          },
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await stopAll();
    throw err;
  }
  const replicas = replicaTcpPorts.map((_, n) => servers.slice(n * replicaCount, (n + 1) * replicaCount));
  return { name, shards: replicas.map((r) => r[0]), replicas, stop: stopAll };
}

/**
 * Throws when a clickhouse-server runs on `dir` (its data/status file names a live process whose
 * command line has this config.xml): writing the config would make that server reload it.
 * Linux's /proc only; elsewhere the server's own lock on data/status is the only guard.
 */
function refuseRunningDir(dir: string): void {
  let pid: string | undefined;
  try {
    pid = /^PID: (\d+)$/m.exec(readFileSync(join(dir, 'data', 'status'), 'utf8'))?.[1];
  } catch {
    return;
  }
  if (pid === undefined) return;
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (commandLine.includes(join(dir, 'config.xml'))) {
    throw new Error(`a clickhouse-server (pid ${pid}) already runs in ${dir}`);
  }
}

interface ZooKeeperServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** A standalone ZooKeeper on 127.0.0.1, data in `dir`, admin server off; ready when it serves. */
async function startZooKeeper(dir: string): Promise<ZooKeeperServer> {
  const classPath = zooKeeperClassPath();
  if (!classPath) throw new Error('ZooKeeper or java not found (apt-get install zookeeper)');
  const [port] = await freePorts(1);
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'log'), { recursive: true });
  const config = join(dir, 'zoo.cfg');
  writeFileSync(
    config,
    [
      'tickTime=2000',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'maxClientCnxns=0',
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr',
      '',
    ].join('\n'),
  );
  const args = ['-Xmx256m', '-XX:+UseSerialGC', '-cp', classPath];
  args.push('org.apache.zookeeper.server.quorum.QuorumPeerMain', config);
  const child = spawnLogged('java', args, dir, 'zookeeper');
  try {
    await waitReady(
      child,
      () => zooKeeperServing(port),
      `ZooKeeper in ${dir}`,
      () => logTail(join(dir, 'log', 'zookeeper.stderr.log')),
    );
  } catch (err) {
    await stopProcess(child, 0);
    throw err;
  }
  return { port, stop: () => stopProcess(child, STOP_TIMEOUT_MS) };
}

interface ServerConfig {
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly interserverPort: number;
  /** The `harness_token` macro. */
  readonly token: string;
  readonly cluster?: ClickHouseClusterMembership;
}

/** Writes config.xml and users.xml (the 18.16 format, `<yandex>` root) and makes the directories. */
function writeServerConfig(dir: string, config: ServerConfig): void {
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  const log = join(dir, 'log');
  const lines = [
    '<?xml version="1.0"?>',
    '<yandex>',
    '  <logger>',
    '    <level>information</level>',
    `    <log>${xmlText(join(log, 'clickhouse-server.log'))}</log>`,
    `    <errorlog>${xmlText(join(log, 'clickhouse-server.err.log'))}</errorlog>`,
    '    <size>50M</size>',
    '    <count>2</count>',
    '  </logger>',
    '  <listen_host>127.0.0.1</listen_host>',
    `  <http_port>${config.httpPort}</http_port>`,
    `  <tcp_port>${config.tcpPort}</tcp_port>`,
    `  <interserver_http_port>${config.interserverPort}</interserver_http_port>`,
    '  <interserver_http_host>127.0.0.1</interserver_http_host>',
    `  <path>${xmlText(join(dir, 'data'))}/</path>`,
    `  <tmp_path>${xmlText(join(dir, 'tmp'))}/</tmp_path>`,
    `  <user_files_path>${xmlText(join(dir, 'user_files'))}/</user_files_path>`,
    `  <format_schema_path>${xmlText(join(dir, 'format_schemas'))}/</format_schema_path>`,
    '  <users_config>users.xml</users_config>',
    '  <default_profile>default</default_profile>',
    '  <default_database>default</default_database>',
    '  <timezone>UTC</timezone>',
    '  <max_concurrent_queries>100</max_concurrent_queries>',
    // SIGTERM waits for open connections: idle keep-alive ones (3 s, as Debian's config.xml, just
    // above @clickhouse/client's 2.5 s idle socket TTL) and running queries (here 3 s, not 5).
    '  <keep_alive_timeout>3</keep_alive_timeout>',
    '  <shutdown_wait_unfinished>3</shutdown_wait_unfinished>',
    '  <mark_cache_size>67108864</mark_cache_size>',
    '  <uncompressed_cache_size>67108864</uncompressed_cache_size>',
    '  <mlock_executable>false</mlock_executable>',
    '  <macros>',
    `    <harness_token>${config.token}</harness_token>`,
    ...clusterMacros(config.cluster),
    '  </macros>',
    ...clusterConfig(config.cluster),
    '</yandex>',
    '',
  ];
  writeFileSync(join(dir, 'config.xml'), lines.join('\n'));
  writeFileSync(join(dir, 'users.xml'), USERS_XML);
}

function clusterMacros(cluster: ClickHouseClusterMembership | undefined): string[] {
  if (!cluster) return [];
  return [
    `    <cluster>${cluster.name}</cluster>`,
    `    <shard>${String(cluster.shard).padStart(2, '0')}</shard>`,
    `    <replica>r${cluster.replica ?? 1}</replica>`,
  ];
}

function clusterConfig(cluster: ClickHouseClusterMembership | undefined): string[] {
  if (!cluster) return [];
  const shards = (cluster.replicaTcpPorts ?? cluster.shardTcpPorts.map((port) => [port])).map(
    (ports) =>
      `      <shard><internal_replication>${ports.length > 1}</internal_replication>` +
      ports.map((port) => `<replica><host>127.0.0.1</host><port>${port}</port></replica>`).join('') +
      '</shard>',
  );
  return [
    '  <remote_servers>',
    `    <${cluster.name}>`,
    ...shards,
    `    </${cluster.name}>`,
    '  </remote_servers>',
    '  <zookeeper>',
    `    <node index="1"><host>127.0.0.1</host><port>${cluster.zooKeeperPort}</port></node>`,
    // A replica killed with SIGKILL and restarted cannot replicate until ZooKeeper has dropped its
    // old session ("appears to be already active", retried every 10 s): 10 s, not the default 30.
    '    <session_timeout_ms>10000</session_timeout_ms>',
    '  </zookeeper>',
    '  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>',
  ];
}

function xmlText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

const USER_BODY = '<networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota>';
const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <!-- An idle native connection (a peer's Distributed pool) notices a SIGTERM only after this
           many seconds (default 10): a cluster stopping at once would wait for its own servers. -->
      <poll_interval>1</poll_interval>
      <use_uncompressed_cache>0</use_uncompressed_cache>
    </default>
  </profiles>
  <users>
    <default><password></password>${USER_BODY}</default>
    <${CLICKHOUSE_TEST_USER}><password>${CLICKHOUSE_TEST_PASSWORD}</password>${USER_BODY}</${CLICKHOUSE_TEST_USER}>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;

/** Spawns `command` with stdout and stderr appended to `dir/log/NAME.stdout.log` and `.stderr.log`. */
function spawnLogged(command: string, args: readonly string[], dir: string, name: string): ChildProcess {
  mkdirSync(join(dir, 'log'), { recursive: true });
  const out = openSync(join(dir, 'log', `${name}.stdout.log`), 'a');
  const err = openSync(join(dir, 'log', `${name}.stderr.log`), 'a');
  try {
    const child = spawn(command, args, { cwd: dir, stdio: ['ignore', out, err], detached: false });
    track(child);
    // The harness's owner decides how long the test process lives; the exit hook kills leftovers.
    child.unref();
    return child;
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/**
 * Polls `ready` every 100 ms for up to 60 s. Throws, with `tail()` in the message, when the
 * process exits (or fails to spawn) first or the time runs out.
 */
async function waitReady(
  child: ChildProcess,
  ready: () => Promise<boolean>,
  what: string,
  tail: () => string,
): Promise<void> {
  let exited: string | undefined;
  const onExit = (code: number | null, signal: string | null): void => {
    exited = `exited (code ${code}, signal ${signal})`;
  };
  const onError = (err: Error): void => {
    exited = `could not start: ${err.message}`;
  };
  child.once('exit', onExit);
  child.once('error', onError);
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${what} ${exited} before it was ready:\n${tail()}`);
      if (await ready()) return;
      await sleep(POLL_MS);
    }
    throw new Error(`${what} not ready after ${START_TIMEOUT_MS / 1000} s:\n${tail()}`);
  } finally {
    child.off('exit', onExit);
    child.off('error', onError);
  }
}

/**
 * GET /ping answers `Ok.`, the server's `harness_token` macro is `token` and, in a cluster, the
 * server reads ZooKeeper (so the first `ON CLUSTER` query finds a session).
 */
async function isReady(url: string, token: string, zooKeeper: boolean): Promise<boolean> {
  if ((await httpGetText(`${url}/ping`)) !== 'Ok.') return false;
  const macro = "SELECT substitution FROM system.macros WHERE macro = 'harness_token'";
  if ((await httpGetText(`${url}/?query=${encodeURIComponent(macro)}`)) !== token) return false;
  if (!zooKeeper) return true;
  const zk = "SELECT count() FROM system.zookeeper WHERE path = '/'";
  return (await httpGetText(`${url}/?query=${encodeURIComponent(zk)}`)) !== undefined;
}

/**
 * The trimmed body of a 200 answer, else undefined; on a connection of its own, closed after the
 * answer: an idle keep-alive connection would hold up the server's next SIGTERM.
 */
function httpGetText(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = httpGet(url, { agent: false, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/**
 * ZooKeeper's four-letter `srvr`: a standalone server serving requests names its mode. (`ruok`
 * answers `imok` before the server serves: clients that connect then are dropped, and
 * clickhouse-server 18.16 crashes on its first ON CLUSTER query after such a failed start.)
 */
function zooKeeperServing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.end('srvr'));
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(/^Mode: standalone$/m.test(answer)));
  });
}

/** SIGTERM, up to `graceMs` for the exit, then SIGKILL and wait for that exit too. */
async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (hasExited(child)) return;
  // The child is unref'd (spawnLogged): without this, a wait that outlasts every other handle
  // (the SIGKILL timer has fired) would let the event loop end with the stop still pending.
  child.ref();
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // A process that never spawned emits 'error' and no 'exit'.
    child.once('error', () => resolve());
  });
  if (graceMs > 0) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exit;
    clearTimeout(timer);
  } else {
    child.kill('SIGKILL');
    await exit;
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

/** The last 4 kB of each file that exists, for error messages. */
function logTail(...files: string[]): string {
  return files
    .filter((f) => existsSync(f))
    .map((f) => {
      const text = readFileSync(f, 'utf8');
      return `--- ${f}\n${text.slice(-4096)}`;
    })
    .join('\n');
}

/** Every port `freePorts` chose in this process, so that two calls never return the same one. */
const chosenPorts = new Set<number>();

/**
 * `count` ports: each given one (when defined) or else a free one, found by binding port 0 on
 * 127.0.0.1 and skipping ports chosen before in this process (servers bind them only later).
 * Another process can still take a port between this and the server's bind.
 */
async function freePorts(count: number, given: readonly (number | undefined)[] = []): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const fixed = given[ports.length];
      if (fixed !== undefined) {
        ports.push(fixed);
        continue;
      }
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      if (!chosenPorts.has(address.port)) ports.push(address.port);
    }
    for (const port of ports) chosenPorts.add(port);
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  return dirs
    .filter(Boolean)
    .map((d) => join(d, name))
    .find((p) => existsSync(p));
}

const live = new Set<ChildProcess>();
let hooked = false;

/** Remembers `child` until it exits, and makes sure it dies with this process. */
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.on('exit', killLive);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Someone else handles this signal (the test runner, the CLI's clean stop): leave it to them;
      // the exit hook still kills whatever is left when the process ends.
      if (process.listenerCount(signal) > 1) return;
      killLive();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function killLive(): void {
  for (const child of live) child.kill('SIGKILL');
}
