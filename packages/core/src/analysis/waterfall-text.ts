import { formatDuration } from '../model/units.ts';
import type { Trace } from './build-trace.ts';
import type { CriticalPath } from './critical-path.ts';
import { isErrorSpan } from './errors.ts';

/**
 * Terminal waterfalls in plain ASCII, for `ariadne analyze` and `ariadne trace`:
 * ```
 * span                                 0ns                 60ms               120ms
 * frontend GET /checkout               |##====########################==#########| 120ms
 *   payment charge                     |    ##############                       | 40ms
 *   ! payment refund                   |                  =====                  | 9ms
 * ```
 * `=` is a span, `#` the part of it that is on the critical path, `!` marks a span in error.
 * Pure: a trace in, a string out.
 */

/** Options for `renderWaterfall`. */
export interface WaterfallOptions {
  /** Total line width in characters; default 100, at least 40. */
  readonly width?: number;
  /** Rows beyond this many (in waterfall order) are summarised in one line; default 200. */
  readonly maxRows?: number;
  /** Marks the critical path with `#`. */
  readonly criticalPath?: CriticalPath;
  /** Errors per span (from `analyzeErrors`); computed with `isErrorSpan` when absent. */
  readonly isError?: Uint8Array;
}

/**
 * Renders the spans of `trace` in waterfall order (depth-first, children by start), one row per
 * span: indented `service name`, a bar on a common time axis, the duration. Long labels are cut
 * with `~`; deep trees stop indenting at depth 16. Bars of very short spans take one cell.
 */
export function renderWaterfall(trace: Trace, options: WaterfallOptions = {}): string {
  const width = Math.max(40, options.width ?? 100);
  const maxRows = options.maxRows ?? 200;
  const labelWidth = Math.min(48, Math.floor(width * 0.35));
  const barWidth = width - labelWidth - 12;
  const total = Number(trace.endUnixNano - trace.startUnixNano) || 1;
  const cell = (offset: number): number => Math.min(barWidth, Math.max(0, (offset / total) * barWidth));
  const rows = Math.min(maxRows, trace.size);

  // Critical sections of the rows shown, grouped by span.
  const sectionsOf = new Map<number, number[]>();
  const path = options.criticalPath;
  if (path) {
    for (let k = 0; k < path.count; k++) {
      const list = sectionsOf.get(path.span[k]);
      if (list) list.push(k);
      else sectionsOf.set(path.span[k], [k]);
    }
  }
  const mid = formatDuration(BigInt(Math.round(total / 2)));
  const endLabel = formatDuration(BigInt(total));
  const axis = `0ns${' '.repeat(Math.max(1, Math.floor(barWidth / 2) - 3 - Math.floor(mid.length / 2)))}${mid}`;
  const lines = [
    `${pad('span', labelWidth)} ${axis}${' '.repeat(Math.max(1, barWidth + 2 - axis.length - endLabel.length))}${endLabel}`,
  ];
  for (let k = 0; k < rows; k++) {
    const i = trace.preorder[k];
    const span = trace.spans[i];
    const error = options.isError ? options.isError[i] === 1 : isErrorSpan(span);
    const indent = '  '.repeat(Math.min(trace.depth[i], 16));
    const label = `${indent}${error ? '! ' : ''}${span.serviceName} ${span.name}`;
    const bar = new Array<string>(barWidth).fill(' ');
    const from = Math.floor(cell(trace.start[i]));
    const to = Math.max(from + 1, Math.ceil(cell(trace.end[i])));
    for (let c = from; c < to && c < barWidth; c++) bar[c] = '=';
    for (const s of sectionsOf.get(i) ?? []) {
      if (path!.end[s] <= path!.start[s]) continue;
      const a = Math.floor(cell(path!.start[s]));
      const b = Math.max(a + 1, Math.ceil(cell(path!.end[s])));
      for (let c = a; c < b && c < barWidth; c++) bar[c] = '#';
    }
    const duration = formatDuration(BigInt(trace.end[i] - trace.start[i]));
    lines.push(`${pad(label, labelWidth)} |${bar.join('')}| ${duration}`);
  }
  if (rows < trace.size) lines.push(`... ${trace.size - rows} more spans`);
  return `${lines.join('\n')}\n`;
}

function pad(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}~` : text.padEnd(width);
}
