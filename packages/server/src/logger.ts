import { pino } from 'pino';
import pretty from 'pino-pretty';

/**
 * The process's one logger (pino): one event a line with its cause (`err`) and the figures that
 * explain it, on stderr. JSON lines by default, for log shippers; readable text (pino-pretty) when
 * stderr is a terminal or `--log-format text` asks. Parts take it as a dependency; none creates
 * its own.
 */
export type Logger = pino.Logger;

/** `json`, `text`, or `auto`: text on a terminal, JSON otherwise. */
export type LogFormat = 'json' | 'text' | 'auto';

export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'text'];

export interface LoggerOptions {
  /** `trace`, `debug`, `info` (default), `warn`, `error`, `fatal` or `silent`. */
  readonly level?: string;
  /** Where lines go (default: stderr, written synchronously so a crash loses none). */
  readonly destination?: NodeJS.WritableStream | number;
  /** Lines as JSON or as text (default `auto`). */
  readonly format?: LogFormat;
  /** Whether the destination is a terminal, for `auto` (default: whether stderr is a TTY). */
  readonly isTerminal?: boolean;
}

/** Creates the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'auto';
  const text = format === 'text' || (format === 'auto' && (options.isTerminal ?? process.stderr.isTTY === true));
  const level = options.level ?? 'info';
  const base = { name: 'ariadne' };
  if (text) {
    const destination = typeof options.destination === 'object' ? options.destination : (options.destination ?? 2);
    // Synchronous, as the JSON destination, so that the last lines before a crash are written.
    const stream = pretty({
      destination,
      sync: true,
      colorize: typeof destination === 'number' && (options.isTerminal ?? process.stderr.isTTY === true),
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
    });
    return pino({ level, base }, stream);
  }
  const destination =
    typeof options.destination === 'object'
      ? options.destination
      : pino.destination({ dest: options.destination ?? 2, sync: true });
  return pino({ level, base }, destination);
}

/** A logger that writes nothing, for library callers and tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
