import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A child process started by {@link startProcess}. */
export interface RunningProcess {
  readonly name: string;
  readonly pid: number;
  /** Everything it printed so far (stdout and stderr), up to the last 64 KiB. */
  output(): string;
  /** True once it has exited. */
  readonly exited: boolean;
  /** Resolves with the exit code (or the signal name) when it exits. */
  readonly exit: Promise<number | string>;
  /** Sends SIGKILL now if it is still running (for exit handlers). */
  kill(): void;
  /**
   * Sends SIGTERM (once) and waits up to `graceMs` (default 10 s) for the process to exit, then
   * SIGKILL. Resolves when it is gone. Idempotent.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Output that means the process is ready; matched against everything printed so far. */
  readonly ready: RegExp;
  /** Give up (and kill it) if it is not ready by then; default 60 s. */
  readonly timeoutMs?: number;
  /** Also append its output to this file. */
  readonly logFile?: string;
  /** Keep stdin open as a pipe; closing it tells a cooperating child to stop. */
  readonly pipeStdin?: boolean;
  /**
   * Run it in its own process group, so a Ctrl-C in the terminal reaches only the caller, which
   * then stops its children in a chosen order. The caller must stop it (see `stop`, `kill`).
   */
  readonly detached?: boolean;
}

const MAX_OUTPUT = 64 * 1024;

/**
 * Starts a child process and resolves, with the match of `ready`, once its output matches. Rejects with its last
 * output if it exits or times out first; a process that timed out is killed. It does not restart
 * anything.
 */
export function startProcess(
  options: StartProcessOptions,
): Promise<{ process: RunningProcess; match: RegExpMatchArray }> {
  const child: ChildProcess = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.pipeStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let text = '';
  let log: WriteStream | undefined;
  if (options.logFile !== undefined) log = createWriteStream(options.logFile, { flags: 'w' });
  let exited = false;
  const exit = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      log?.end();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  child.once('error', () => undefined);
  let stopping: Promise<void> | undefined;
  const handle: RunningProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    output: () => text,
    get exited() {
      return exited;
    },
    exit,
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (exited) return;
        child.kill('SIGTERM');
        const done = await Promise.race([exit.then(() => true), sleep(graceMs).then(() => false)]);
        if (!done) {
          child.kill('SIGKILL');
          await exit;
        }
      })();
      return stopping;
    },
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      handle.stop(1000);
      reject(new Error(`${options.name} was not ready after ${options.timeoutMs ?? 60_000} ms:\n${text.slice(-2000)}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      log?.write(chunk);
      text = (text + chunk.toString('utf8')).slice(-MAX_OUTPUT);
      if (settled) return;
      const match = options.ready.exec(text);
      if (match) {
        settled = true;
        clearTimeout(timer);
        resolve({ process: handle, match });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    exit.then((code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code}) before it was ready:\n${text.slice(-2000)}`));
    });
    child.once('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${options.name} could not start: ${error.message}`));
    });
  });
}

/**
 * Finds `count` distinct free TCP ports on 127.0.0.1 by listening on port 0 and closing again.
 * Another process may take a port before it is used; callers see that as EADDRINUSE.
 */
export async function findFreePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
