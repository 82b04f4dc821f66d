import { context, trace } from '@opentelemetry/api';

/** Values a log line may carry besides its message. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** A service's logger: one logfmt line per call, with the active trace and span ids. */
export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

function quote(value: string): string {
  return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * A logger that writes logfmt lines such as
 * `time=2026-11-25T15:10:00.123Z level=info service=order trace_id=4bf9… span_id=00f0… msg="order saved" order.id=ORD-…`
 * to `out` (stdout by default). `trace_id` and `span_id` come from the span active in the
 * current OpenTelemetry context, so a log line leads to its trace and back. Lines outside a
 * span have no ids. It does not buffer, rotate or ship logs.
 */
export function createLogger(service: string, out: NodeJS.WritableStream = process.stdout): Logger {
  const write = (level: string, message: string, fields: LogFields = {}) => {
    const sc = trace.getSpanContext(context.active());
    const parts = [`time=${new Date().toISOString()}`, `level=${level}`, `service=${service}`];
    if (sc !== undefined) parts.push(`trace_id=${sc.traceId}`, `span_id=${sc.spanId}`);
    parts.push(`msg=${quote(message)}`);
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) parts.push(`${key}=${quote(String(value))}`);
    }
    out.write(`${parts.join(' ')}\n`);
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
