/** Test support: a real process logger whose lines the test reads back as objects. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../logger.ts';

/** One logged line: pino's level number, message, and the fields logged with it. */
export interface LoggedLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export function capturingLogger(): { logger: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ destination }), lines };
}
