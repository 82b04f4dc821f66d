/**
 * Benchmark helpers shared by bench:ingest and bench:query: `ariadne serve` as its own process on
 * free ports, its peak RSS and CPU, the size of a data directory, and, with `--store
 * clickhouse://…`, a ClickHouse database of the run's own with its size on disk.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ariadneNodeFlags } from '../src/cli/node-flags.ts';
import { HttpExecutor } from '../src/store/clickhouse/executor.ts';
import { sqlIdentifier, sqlString } from '../src/store/clickhouse/sql.ts';
import { type ClickHouseLocation, parseClickHouseUrl } from '../src/store/clickhouse/store-url.ts';

export interface ServeProcess {
  readonly child: ChildProcess;
  /** `http://host:port/v1/traces` */
  readonly otlpUrl: string;
  /** `http://host:port` of the query API. */
  readonly apiUrl: string;
}

/**
 * Starts `ariadne serve --data dataDir` with `extraArgs` on free ports and waits for it to print
 * its OTLP/HTTP address. The server runs with the Node flags the `ariadne` command has
 * (bin/node-flags.mjs); BENCH_SERVER_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) adds
 * more, to profile it, and BENCH_SERVER_PLAIN_NODE=1 leaves the command's flags out, to compare.
 * BENCH_SERVER_CPUS (a `taskset` CPU list, e.g. `0`) keeps the server and all its threads on those
 * CPUs: with the bench pinned to the others (`taskset -c 1 npm run bench:…`), the server's
 * capacity drops to what a sender on its own core can exceed (bench:overload at twice capacity).
 */
export async function startServeProcess(dataDir: string, extraArgs: readonly string[] = []): Promise<ServeProcess> {
  const bin = new URL('../bin/ariadne.mjs', import.meta.url).pathname;
  const nodeFlags = [
    ...(process.env.BENCH_SERVER_PLAIN_NODE === '1' ? [] : ariadneNodeFlags()),
    ...(process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  ];
  const ports = [
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
  const command = [process.execPath, ...nodeFlags, bin, 'serve', '--data', dataDir, ...ports, ...extraArgs];
  const cpus = process.env.BENCH_SERVER_CPUS;
  // taskset executes the command in its own process: the child's pid is the server's.
  const child = cpus
    ? spawn('taskset', ['-c', cpus, ...command], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  // BENCH_SERVER_STDOUT names a file that gets the server's standard output (e.g. `--trace-gc`).
  const copy = process.env.BENCH_SERVER_STDOUT ? createWriteStream(process.env.BENCH_SERVER_STDOUT) : undefined;
  if (copy) child.stdout!.pipe(copy);
  const [apiUrl, otlpUrl] = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    const read = (chunk: Buffer) => {
      out += chunk.toString();
      const api = /query API\s+(\S+)/.exec(out);
      const otlp = /OTLP\/HTTP\s+(\S+)/.exec(out);
      if (api && otlp) {
        clearTimeout(timer);
        // Later output is not kept (nor searched again): it may be long.
        child.stdout!.off('data', read);
        if (!copy) child.stdout!.resume();
        resolve([api[1], otlp[1]]);
      }
    };
    child.stdout!.on('data', read);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return { child, otlpUrl, apiUrl };
}

/** Peak resident set size of a live process (VmHWM), in bytes. */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** CPU time a live process has used, user and system, all threads (Linux; undefined elsewhere). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces, so split after its ')'): utime is the
    // 12th and stime the 13th, in clock ticks (100 a second on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Total size of the files below `dir`, in bytes. */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

/**
 * A ClickHouse database of its own for one benchmark run: `--store` with the database of the URL
 * replaced by `<database>_<purpose>_<UTC timestamp>`, so that runs never share tables. One server
 * only: a `?cluster=` URL is refused, since the disk figures read one server's `system.parts`.
 */
export interface ClickHouseRun {
  /** The `--store` URL of the run's database (credentials kept). */
  readonly storeUrl: string;
  readonly location: ClickHouseLocation;
  /** Connected to the server, for the figures below and for dropping the database. */
  readonly executor: HttpExecutor;
}

/** The run's database on the server of `storeUrl`; `purpose` is `ingest` or `query`. */
export function clickHouseRun(storeUrl: string, purpose: string): ClickHouseRun {
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/\D/g, '');
  return reuseClickHouseRun(
    storeUrlWithDatabase(storeUrl, `${parseClickHouseUrl(storeUrl).database}_${purpose}_${stamp}`),
  );
}

/** A run on the database `storeUrl` names (already loaded, or to be made by `ariadne serve`). */
export function reuseClickHouseRun(storeUrl: string): ClickHouseRun {
  const location = parseClickHouseUrl(storeUrl);
  if (location.cluster !== undefined)
    throw new Error('the ClickHouse benchmarks measure one server: leave ?cluster= out of --store');
  return { storeUrl, location, executor: new HttpExecutor(location, { requestTimeoutMs: 3_600_000 }) };
}

function storeUrlWithDatabase(storeUrl: string, database: string): string {
  const url = new URL(storeUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Bytes, rows and parts of the run's database on disk, in total and per table. */
export interface ClickHouseDiskFigures {
  readonly bytes: number;
  readonly parts: number;
  readonly byTable: Record<string, { bytes: number; rows: number; parts: number }>;
}

/** What the active parts of the run's MergeTree tables hold now (`system.parts`). */
export async function clickHouseDisk(run: ClickHouseRun): Promise<ClickHouseDiskFigures> {
  const rows = await run.executor.query<{ table: string; bytes: string; rows: string; parts: string }>(
    `SELECT table, sum(bytes_on_disk) AS bytes, sum(rows) AS rows, count() AS parts FROM system.parts
     WHERE database = ${sqlString(run.location.database)} AND active GROUP BY table ORDER BY table`,
  );
  const byTable: ClickHouseDiskFigures['byTable'] = {};
  for (const r of rows) byTable[r.table] = { bytes: Number(r.bytes), rows: Number(r.rows), parts: Number(r.parts) };
  const all = Object.values(byTable);
  return { bytes: all.reduce((a, t) => a + t.bytes, 0), parts: all.reduce((a, t) => a + t.parts, 0), byTable };
}

/**
 * Merges every part of each MergeTree table of the run's database into one per partition
 * (`OPTIMIZE TABLE … FINAL`, which also removes the copies a retried insert left), as the
 * background merges would in time; returns how long that took. OPTIMIZE does nothing, silently,
 * while a background merge holds parts it would take, so each table is optimized again after its
 * merges finished until every partition is one part.
 */
export async function optimizeClickHouse(run: ClickHouseRun): Promise<number> {
  const db = sqlIdentifier(run.location.database);
  const where = (table: string) => `database = ${sqlString(run.location.database)} AND table = ${sqlString(table)}`;
  const tables = await run.executor.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = ${sqlString(run.location.database)} AND engine LIKE '%MergeTree' ORDER BY name`,
  );
  const started = performance.now();
  for (const { name } of tables) {
    for (let attempt = 1; ; attempt++) {
      while ((await run.executor.query(`SELECT 1 FROM system.merges WHERE ${where(name)}`)).length > 0)
        await new Promise((r) => setTimeout(r, 200));
      await run.executor.command(`OPTIMIZE TABLE ${db}.${sqlIdentifier(name)} FINAL`);
      const [row] = await run.executor.query<{ parts: string; partitions: string }>(
        `SELECT count() AS parts, uniqExact(partition) AS partitions FROM system.parts WHERE ${where(name)} AND active`,
      );
      if (row.parts === row.partitions) break;
      if (attempt === 20)
        throw new Error(`${db}.${name} still has ${row.parts} parts in ${row.partitions} partitions after OPTIMIZE`);
    }
  }
  return (performance.now() - started) / 1000;
}

/** Drops the run's database. */
export async function dropClickHouseRun(run: ClickHouseRun): Promise<void> {
  await run.executor.command(`DROP DATABASE IF EXISTS ${sqlIdentifier(run.location.database)}`);
}

/** The server's version (`SELECT version()`). */
export async function clickHouseVersion(run: ClickHouseRun): Promise<string> {
  const [row] = await run.executor.query<{ v: string }>('SELECT version() AS v');
  return row.v;
}

/**
 * The process listening on the TCP port of `url` on this machine, from /proc/net/tcp and each
 * process's open sockets (Linux; undefined elsewhere, for a remote host, or when the process
 * belongs to another user). For the CPU a local ClickHouse server spends.
 */
export function localListenerPid(url: string): number | undefined {
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]', '0.0.0.0'].includes(hostname)) return undefined;
  const portHex = Number(port).toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the 10th field.
      if (f.length > 9 && f[1].endsWith(`:${portHex}`) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) return Number(pid);
      } catch {
        // The descriptor closed meanwhile.
      }
    }
  }
  return undefined;
}
