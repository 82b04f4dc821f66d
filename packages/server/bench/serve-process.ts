/**
 * Benchmark helpers shared by bench:ingest and bench:query: `ariadne serve` as its own process on
 * free ports, its peak RSS, and the size of a data directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ariadneNodeFlags } from '../src/cli/node-flags.ts';

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
 */
export async function startServeProcess(dataDir: string, extraArgs: readonly string[] = []): Promise<ServeProcess> {
  const bin = new URL('../bin/ariadne.mjs', import.meta.url).pathname;
  const nodeFlags = [
    ...(process.env.BENCH_SERVER_PLAIN_NODE === '1' ? [] : ariadneNodeFlags()),
    ...(process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  ];
  const ports = ['--api-port', '0', '--otlp-http-port', '0', '--otlp-grpc-port', '0'];
  const child = spawn(process.execPath, [...nodeFlags, bin, 'serve', '--data', dataDir, ...ports, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [apiUrl, otlpUrl] = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const api = /query API\s+(\S+)/.exec(out);
      const otlp = /OTLP\/HTTP\s+(\S+)/.exec(out);
      if (api && otlp) {
        clearTimeout(timer);
        resolve([api[1], otlp[1]]);
      }
    });
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
