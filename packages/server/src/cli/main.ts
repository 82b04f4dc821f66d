import type { CliIo } from './io.ts';
import { UsageError } from './io.ts';

/** The `ariadne` command: one subcommand per verb, each with `--help`. */
export const USAGE = `Usage: ariadne <command> [options]

Commands:
  serve              run Ariadne: OTLP receivers, store, query API and web UI
  search             find traces (by service, operation, status, duration, time, attributes)
  trace <id>         show a stored trace: waterfall, critical path, errors, time per service
  analyze <file...>  analyse trace files (OTLP JSON, Zipkin v2 JSON, Jaeger JSON)
  copy --from DIR --to URL  move an embedded store's spans into ClickHouse

Run \`ariadne <command> --help\` for a command's options.
`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.ts')).runServe,
  search: async () => (await import('./search.ts')).runSearch,
  trace: async () => (await import('./trace.ts')).runTrace,
  analyze: async () => (await import('./analyze.ts')).runAnalyze,
  copy: async () => (await import('./copy.ts')).runCopy,
};

/** Runs the CLI and returns the exit code: 0 success, 1 failure, 2 usage error. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`ariadne: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load())(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`ariadne ${name}: ${error.message}\nRun \`ariadne ${name} --help\` for usage.\n`);
      return 2;
    }
    io.stderr.write(`ariadne ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}
