import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  analysisToJson,
  analyzeTrace,
  formatDuration,
  importTraces,
  renderWaterfall,
  type Span,
  splitByTrace,
  type TraceAnalysis,
  TraceImportError,
  toMermaid,
} from '@ariadne/core';

/**
 * `ariadne analyze <file...>`: reads trace files (OTLP JSON, Zipkin v2, Jaeger), analyses every
 * trace with the core functions, and prints a report, JSON lines or Mermaid. Only I/O and
 * formatting live here; the analysis is in `@ariadne/core`.
 */

const HELP = `Usage: ariadne analyze <file...> [--trace ID] [--json] [--mermaid] [--no-skew]

Analyse trace files: OTLP JSON (also JSON lines and Tempo's API output), Zipkin v2 JSON
or Jaeger JSON, detected automatically. For each trace: a summary, a waterfall with the
critical path marked (#), time per service (self and critical path), errors with their
chain and outcome (propagated, recovered, swallowed), and the service calls.

Options:
  --trace ID   only the trace with this id (16 or 32 hex digits)
  --json       one JSON object per trace per line, unix nanoseconds as decimal strings
  --mermaid    a Mermaid flowchart per trace (with --json: a "mermaid" field)
  --no-skew    do not adjust clock skew between hosts
  --width N    line width of the waterfall (default: the terminal's, else 100)
  -h, --help   show this help

Exit status: 0 on success, 1 if a file cannot be read or imported or the trace is not
found, 2 on a usage error.
`;

/** Where `runAnalyze` writes; `isTTY` enables the progress bar on stderr. */
export interface AnalyzeIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly isTTY?: boolean;
}

const LARGE_BYTES = 8 * 1024 * 1024;
const LARGE_SPANS = 50_000;

/**
 * Runs `ariadne analyze` with the arguments after the command name and returns the exit code.
 * Never calls `process.exit` and writes only to `io`, so tests run it in-process.
 */
export async function runAnalyze(argv: string[], io: AnalyzeIo): Promise<number> {
  let values: {
    trace?: string;
    json?: boolean;
    mermaid?: boolean;
    'no-skew'?: boolean;
    width?: string;
    help?: boolean;
  };
  let files: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        trace: { type: 'string' },
        json: { type: 'boolean' },
        mermaid: { type: 'boolean' },
        'no-skew': { type: 'boolean' },
        width: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    values = parsed.values;
    files = parsed.positionals;
  } catch (error) {
    io.stderr.write(`ariadne analyze: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (files.length === 0) {
    io.stderr.write(`ariadne analyze: no trace file given\n\n${HELP}`);
    return 2;
  }
  let traceFilter: string | undefined;
  if (values.trace !== undefined) {
    if (!/^[0-9a-fA-F]{1,32}$/.test(values.trace)) {
      io.stderr.write(`ariadne analyze: --trace expects a hex trace id, got ${JSON.stringify(values.trace)}\n`);
      return 2;
    }
    traceFilter = values.trace.toLowerCase().padStart(32, '0');
  }
  const columns = (io.stdout as { columns?: number }).columns;
  const width = values.width !== undefined ? Number(values.width) : (columns ?? 100);
  if (!Number.isInteger(width) || width < 40) {
    io.stderr.write('ariadne analyze: --width expects an integer of at least 40\n');
    return 2;
  }

  let exitCode = 0;
  let totalBytes = 0;
  for (const file of files) {
    try {
      totalBytes += (await stat(file)).size;
    } catch {
      // Reported when the file is read.
    }
  }
  const progress = new Progress(io, io.isTTY === true && totalBytes > LARGE_BYTES);
  const spans: Span[] = [];
  for (let f = 0; f < files.length; f++) {
    const file = files[f];
    progress.update(`reading ${file}`, f, files.length);
    try {
      const imported = importTraces(await readFile(file, 'utf8'));
      for (const span of imported.spans) spans.push(span);
    } catch (error) {
      progress.clear();
      const message = error instanceof TraceImportError ? error.message : (error as Error).message;
      io.stderr.write(`ariadne analyze: ${file}: ${message}\n`);
      exitCode = 1;
    }
  }
  let traces = splitByTrace(spans);
  if (traceFilter !== undefined) {
    traces = traces.filter((t) => t.traceId === traceFilter);
    if (traces.length === 0) {
      progress.clear();
      io.stderr.write(`ariadne analyze: trace ${traceFilter} is not in ${files.join(', ')}\n`);
      return 1;
    }
  }
  if (traces.length === 0 && exitCode === 0) {
    io.stderr.write('ariadne analyze: no spans found\n');
    return 1;
  }
  progress.enable(progress.enabled || (io.isTTY === true && spans.length > LARGE_SPANS));
  for (let t = 0; t < traces.length; t++) {
    progress.update(`analysing trace ${t + 1}/${traces.length}`, t, traces.length);
    const analysis = analyzeTrace(traces[t].spans, { adjustClockSkew: !values['no-skew'] });
    progress.clear();
    if (values.json) {
      const json = analysisToJson(analysis);
      const out = values.mermaid ? { ...json, mermaid: toMermaid(analysis.trace, mermaidOptions(analysis)) } : json;
      io.stdout.write(`${JSON.stringify(out)}\n`);
    } else if (values.mermaid) {
      io.stdout.write(`%% trace ${analysis.trace.traceId}\n${toMermaid(analysis.trace, mermaidOptions(analysis))}\n`);
    } else {
      io.stdout.write(`${formatReport(analysis, width)}\n`);
    }
  }
  progress.clear();
  return exitCode;
}

/** Options of `renderTraceReport` and `renderTraceJson`. */
export interface TraceRenderOptions {
  /** Adjust clock skew (default true). */
  readonly skew?: boolean;
  /** Line width of the waterfall (default 100). */
  readonly width?: number;
}

/**
 * The text report of `ariadne analyze` for the spans of one trace (summary, waterfall, time per
 * service, errors, service calls). Shared with `ariadne trace`.
 */
export function renderTraceReport(spans: readonly Span[], options: TraceRenderOptions = {}): string {
  const analysis = analyzeTrace(spans, { adjustClockSkew: options.skew ?? true });
  return formatReport(analysis, Math.max(40, options.width ?? 100));
}

/** The `--json` line of `ariadne analyze` for the spans of one trace, newline included. */
export function renderTraceJson(spans: readonly Span[], options: TraceRenderOptions = {}): string {
  return `${JSON.stringify(analysisToJson(analyzeTrace(spans, { adjustClockSkew: options.skew ?? true })))}\n`;
}

function mermaidOptions(analysis: TraceAnalysis) {
  return { criticalPath: analysis.criticalPath, isError: analysis.errors.isError };
}

function percent(part: bigint, whole: bigint): string {
  if (whole === 0n) return '0%';
  return `${Math.round((Number(part) / Number(whole)) * 100)}%`;
}

/** The text report of one trace. */
function formatReport(analysis: TraceAnalysis, width: number): string {
  const { trace, errors, time, dependencies } = analysis;
  const json = analysisToJson(analysis);
  const duration = trace.endUnixNano - trace.startUnixNano;
  const lines: string[] = [];
  const swallowed = errors.errors.filter((e) => e.outcome === 'swallowed').length;
  const startDate = new Date(Number(trace.startUnixNano / 1_000_000n)).toISOString();
  lines.push(`Trace ${trace.traceId}  ${json.rootService}: ${json.rootName}`);
  lines.push(
    `  ${trace.size} spans, ${trace.services.length} services, ${errors.errors.length} errors` +
      `${swallowed > 0 ? ` (${swallowed} swallowed)` : ''}, ${formatDuration(duration)}, started ${startDate}`,
  );
  if (errors.hasSwallowed) lines.push('  ! an error was swallowed: a failure never reached the caller');
  if (trace.roots.length > 1)
    lines.push(`  ${trace.roots.length} roots (orphan subtrees have their own critical path)`);
  if (trace.warnings.length > 0) {
    lines.push(`  ${trace.warnings.length} warnings:`);
    for (const w of trace.warnings.slice(0, 10))
      lines.push(`    ${w.code}${w.spanId ? ` ${w.spanId}` : ''}: ${w.message}`);
    if (trace.warnings.length > 10) lines.push(`    ... ${trace.warnings.length - 10} more (see --json)`);
  }
  lines.push('');
  lines.push(renderWaterfall(trace, { width, criticalPath: analysis.criticalPath, isError: errors.isError }).trimEnd());
  lines.push('  legend: = span, # on the critical path, ! error');
  lines.push('');

  const rootTotal = time.byService.reduce((sum, t) => sum + t.criticalPathNanos, 0n);
  const selfTotal = time.byService.reduce((sum, t) => sum + t.selfNanos, 0n);
  const nameWidth = Math.max(7, ...time.byService.map((t) => t.service.length));
  lines.push('Time per service');
  lines.push(
    `  ${'service'.padEnd(nameWidth)}  ${'self time'.padStart(14)}  ${'critical path'.padStart(14)}  ${'spans'.padStart(6)}`,
  );
  for (const t of time.byService) {
    lines.push(
      `  ${t.service.padEnd(nameWidth)}  ${formatDuration(t.selfNanos).padStart(9)} ${percent(t.selfNanos, selfTotal).padStart(4)}` +
        `  ${formatDuration(t.criticalPathNanos).padStart(9)} ${percent(t.criticalPathNanos, rootTotal).padStart(4)}` +
        `  ${String(t.spanCount).padStart(6)}`,
    );
  }
  lines.push('');

  if (errors.errors.length > 0) {
    lines.push('Errors');
    for (const e of json.errors.slice(0, 50)) {
      lines.push(
        `  ${e.outcome.padEnd(10)} ${e.service} ${e.name}${e.rootCause ? ' (root cause)' : ''}${e.reason ? `: ${e.reason}` : ''}`,
      );
      const chain = e.chain.map((id) => {
        const span = trace.spans[trace.indexOfSpanId.get(id)!];
        return `${span.name} (${span.serviceName})`;
      });
      const shown =
        chain.length > 8 ? [...chain.slice(0, 4), `... ${chain.length - 7} more`, ...chain.slice(-3)] : chain;
      lines.push(`             chain: ${shown.join(' <- ')}`);
    }
    if (json.errors.length > 50) lines.push(`  ... ${json.errors.length - 50} more (see --json)`);
    lines.push('');
  }

  lines.push('Service calls');
  if (dependencies.edges.length === 0) lines.push('  (none)');
  for (const e of dependencies.edges) {
    lines.push(
      `  ${e.caller} -> ${e.callee}: ${e.callCount} call${e.callCount === 1 ? '' : 's'}, ` +
        `${e.errorCount} error${e.errorCount === 1 ? '' : 's'}, ${formatDuration(e.durationNanos)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A one-line progress bar on stderr, redrawn in place; silent unless enabled. */
class Progress {
  private shown = false;
  constructor(
    private readonly io: AnalyzeIo,
    public enabled: boolean,
  ) {}

  enable(on: boolean): void {
    this.enabled = on;
  }

  update(label: string, done: number, total: number): void {
    if (!this.enabled) return;
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    this.io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${label}\u001b[K`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.io.stderr.write('\r\u001b[K');
    this.shown = false;
  }
}
