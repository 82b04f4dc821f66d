import { createLogger } from '../logger.ts';
import { type RunningServer, startServer } from '../main.ts';
import { parseServeArgs, SERVE_USAGE } from './config.ts';
import type { CliIo } from './io.ts';

const COMPAT_LABELS: Record<string, string> = { zipkin: 'Zipkin', jaeger: 'Jaeger', tempo: 'Tempo' };

/**
 * `ariadne serve`: starts everything, prints where it listens, and on SIGINT/SIGTERM stops
 * receiving, commits every acknowledged span and exits 0.
 */
export async function runServe(argv: string[], io: CliIo): Promise<number> {
  const config = parseServeArgs(argv);
  if (config === 'help') {
    io.stdout.write(SERVE_USAGE);
    return 0;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  // Listen for the stop signals before starting: one that arrives during a long start (a replay)
  // stops the server cleanly once it is up, instead of killing it half way.
  let signalled: string | undefined;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const stop = (signal: string) => {
    signalled = signal;
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    wake();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let server: RunningServer;
  try {
    server = await startServer({ ...config, logger });
  } catch (error) {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    logger.fatal({ err: error }, 'ariadne serve could not start');
    throw error;
  }
  // SIGHUP re-reads the token files (they are also watched for changes).
  const onHup = () => void server.reload();
  process.on('SIGHUP', onHup);
  io.stdout.write(
    [
      `ariadne listening (${server.where})`,
      `  web UI and query API  ${server.apiUrl}`,
      `  OTLP/HTTP             ${server.otlpHttpUrl}/v1/traces`,
      `  OTLP/gRPC             ${server.otlpGrpcAddress}`,
      ...Object.entries(server.compatUrls).map(
        ([name, url]) => `  ${`${COMPAT_LABELS[name] ?? name} API`.padEnd(21)} ${url}`,
      ),
      '',
    ].join('\n'),
  );
  await stopped;
  process.off('SIGHUP', onHup);
  logger.info({ signal: signalled }, 'stopping: committing every acknowledged span');
  await server.close();
  logger.info('stopped');
  return 0;
}
