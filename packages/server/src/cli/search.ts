import { parseArgs } from 'node:util';
import { formatDuration } from '@ariadne/core';
import { apiBase, type CliIo, fetchJson, UsageError } from './io.ts';

export const SEARCH_USAGE = `Usage: ariadne search [options]
       ariadne search '<TraceQL>' [--start T] [--end T] [--limit N] [--spss N] [--json]

Finds traces through the query API, newest first. With a TraceQL query (Grafana Tempo's
language), for example '{ resource.service.name = "order" && status = error }', the traces it
matches, with how many spans matched; with options, all span conditions hold for one span.

Options:
  --service NAME        spans of this service
  --operation NAME      spans with this name
  --status S            error | ok | unset
  --min-duration D      e.g. 250ms, 1.5s
  --max-duration D
  --start T, --end T    unix milliseconds or RFC 3339
  --attr KEY=VALUE      attribute equality (repeatable), e.g. --attr order.id=ORD-42
  --limit N             at most N traces (default 20)
  --spss N              spans shown per matched spanset with --json (default 3)
  --json                print the API's JSON
  --api URL             query API (env ARIADNE_API; default http://127.0.0.1:4320)
  --help
`;

interface TraceRow {
  traceId: string;
  rootService: string;
  rootName: string;
  startUnixNano: string;
  durationNanos: string;
  spanCount: number;
  errorCount: number;
  services: string[];
  /** With a TraceQL query: the matched spansets. */
  spanSets?: { matched: number }[];
}

/** `ariadne search`: the search API as a table. */
export async function runSearch(argv: string[], io: CliIo): Promise<number> {
  let parsed: { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        service: { type: 'string' },
        operation: { type: 'string' },
        status: { type: 'string' },
        'min-duration': { type: 'string' },
        'max-duration': { type: 'string' },
        start: { type: 'string' },
        end: { type: 'string' },
        attr: { type: 'string', multiple: true },
        limit: { type: 'string' },
        spss: { type: 'string' },
        json: { type: 'boolean' },
        api: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(SEARCH_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('give the TraceQL query as one argument, in quotes');
  const traceql = positionals[0];
  const formFlags = ['service', 'operation', 'status', 'min-duration', 'max-duration', 'attr'].filter(
    (f) => values[f] !== undefined,
  );
  if (traceql !== undefined && formFlags.length > 0)
    throw new UsageError(
      `a TraceQL query cannot be combined with --${formFlags.join(', --')}: write them in the query`,
    );
  if (traceql === undefined && values.spss !== undefined) throw new UsageError('--spss needs a TraceQL query');
  const params = new URLSearchParams();
  if (traceql !== undefined) params.set('q', traceql);
  if (typeof values.spss === 'string') params.set('spss', values.spss);
  const map: [string, string][] = [
    ['service', 'service'],
    ['operation', 'operation'],
    ['status', 'status'],
    ['min-duration', 'minDuration'],
    ['max-duration', 'maxDuration'],
    ['start', 'start'],
    ['end', 'end'],
    ['limit', 'limit'],
  ];
  for (const [flag, param] of map) if (typeof values[flag] === 'string') params.set(param, values[flag] as string);
  for (const a of (values.attr as string[] | undefined) ?? []) params.append('attr', a);
  const base = apiBase(values.api as string | undefined);
  const body = (await fetchJson(`${base}/api/v1/search?${params}`)) as { traces: TraceRow[] };
  const matched = (t: TraceRow) => (t.spanSets ?? []).reduce((n, set) => n + set.matched, 0);
  if (values.json) {
    io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  if (body.traces.length === 0) {
    io.stdout.write('no traces found\n');
    return 0;
  }
  const rows = body.traces.map((t) => [
    t.traceId,
    new Date(Number(BigInt(t.startUnixNano) / 1_000_000n)).toISOString(),
    formatDuration(BigInt(t.durationNanos)),
    String(t.spanCount),
    t.errorCount > 0 ? `${t.errorCount} errors` : '',
    `${t.rootService}: ${t.rootName}`,
    t.services.join(','),
    ...(traceql === undefined ? [] : [String(matched(t))]),
  ]);
  const header = [
    'TRACE ID',
    'START',
    'DURATION',
    'SPANS',
    'ERRORS',
    'ROOT',
    'SERVICES',
    ...(traceql === undefined ? [] : ['MATCHED']),
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  io.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
  return 0;
}
