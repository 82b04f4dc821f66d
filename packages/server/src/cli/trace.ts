import { parseArgs } from 'node:util';
import { spanFromApiJson } from '@ariadne/core';
import { apiBase, type CliIo, fetchJson, UsageError } from './io.ts';

export const TRACE_USAGE = `Usage: ariadne trace <trace-id> [options]

Shows a stored trace from the query API: summary, waterfall with the critical path, time per
service, errors with their chain and outcome (swallowed errors flagged), and service calls.

Options:
  --json        print the analysis as JSON (same fields as \`ariadne analyze --json\`)
  --no-skew     do not adjust clock skew
  --api URL     query API (env ARIADNE_API; default http://127.0.0.1:4320)
  --help
`;

/** `ariadne trace <id>`. */
export async function runTrace(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{
      options: {
        json: { type: 'boolean' };
        'no-skew': { type: 'boolean' };
        api: { type: 'string' };
        help: { type: 'boolean' };
      };
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        'no-skew': { type: 'boolean' },
        api: { type: 'string' },
        help: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(TRACE_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one trace id');
  const base = apiBase(values.api);
  const body = (await fetchJson(`${base}/api/v1/traces/${encodeURIComponent(positionals[0])}`)) as { spans: unknown[] };
  const spans = body.spans.map((s, i) => spanFromApiJson(s, `spans[${i}]`));
  const { renderTraceReport, renderTraceJson } = await import('./analyze.ts');
  const options = { skew: !values['no-skew'], width: io.isTTY ? Math.max(80, process.stdout.columns ?? 120) : 120 };
  io.stdout.write(values.json ? renderTraceJson(spans, options) : renderTraceReport(spans, options));
  return 0;
}
