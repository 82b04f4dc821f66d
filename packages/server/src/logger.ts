import { pino } from 'pino';

/**
 * The process's one logger (pino): JSON lines on stderr, one object per event with its cause
 * (`err`) and the figures that explain it. Parts take it as a dependency; none creates its own.
 */
export type Logger = pino.Logger;

export interface LoggerOptions {
  /** `trace`, `debug`, `info` (default), `warn`, `error`, `fatal` or `silent`. */
  readonly level?: string;
  /** Where lines go (default: stderr, written synchronously so a crash loses none). */
  readonly destination?: NodeJS.WritableStream | number;
}

/** Creates the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination =
    typeof options.destination === 'object'
      ? options.destination
      : pino.destination({ dest: options.destination ?? 2, sync: true });
  return pino({ level: options.level ?? 'info', base: { name: 'ariadne' } }, destination);
}

/** A logger that writes nothing, for library callers and tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
