import { createLogger } from '../logger.ts';
import { type RunningServer, startServer } from '../main.ts';
import { parseServeArgs, SERVE_USAGE } from './config.ts';
import type { CliIo } from './io.ts';

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
  const logger = createLogger({ level: config.logLevel });
  let server: RunningServer;
  try {
    server = await startServer({ ...config, logger });
  } catch (error) {
    logger.fatal({ err: error }, 'ariadne serve could not start');
    throw error;
  }
  io.stdout.write(
    [
      `ariadne listening (data in ${config.dataDir})`,
      `  web UI and query API  ${server.apiUrl}`,
      `  OTLP/HTTP             ${server.otlpHttpUrl}/v1/traces`,
      `  OTLP/gRPC             ${server.otlpGrpcAddress}`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.stderr.write(`\n${signal}: stopping, committing acknowledged spans...\n`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  await server.close();
  io.stderr.write('stopped\n');
  return 0;
}
