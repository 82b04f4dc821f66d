import { formatDuration } from '../model/units.ts';
import type { Trace } from './build-trace.ts';
import { type CriticalPath, criticalPathSpans } from './critical-path.ts';
import { isErrorSpan } from './errors.ts';

/**
 * A trace as a Mermaid flowchart, the picture of any tracing primer: one subgraph per service,
 * one node per span (name, start offset, duration), an arrow from each parent to its children,
 * errors in red and, when a critical path is given, its spans with a thick border.
 * ```
 * graph TD
 *   subgraph svc0["frontend"]
 *     s0["GET /checkout<br/>+0ns · 120ms"]
 *   end
 *   subgraph svc1["payment"]
 *     s1["charge<br/>+10ms · 80ms"]
 *   end
 *   s0 --> s1
 *   class s1 error
 * ```
 */

/** Options for `toMermaid`. */
export interface MermaidOptions {
  /** At most this many spans (in waterfall order) are drawn; default 300, Mermaid's comfort zone. */
  readonly maxSpans?: number;
  /** Errors per span, from `analyzeErrors`; computed with `isErrorSpan` when absent. */
  readonly isError?: Uint8Array;
  /** Spans of this critical path get the `critical` class. */
  readonly criticalPath?: CriticalPath;
}

/**
 * Renders `graph TD` Mermaid text. Labels are escaped (quotes, angle brackets); spans beyond
 * `maxSpans` are left out with a `%%` comment saying how many. Does not lay out time: Mermaid
 * has no time axis, so use the waterfall for that.
 */
export function toMermaid(trace: Trace, options: MermaidOptions = {}): string {
  const max = options.maxSpans ?? 300;
  const shown = Math.min(max, trace.size);
  const include = new Uint8Array(trace.size);
  for (let k = 0; k < shown; k++) include[trace.preorder[k]] = 1;
  const critical = options.criticalPath ? criticalPathSpans(trace, options.criticalPath) : undefined;
  const lines = ['graph TD'];
  const byService: number[][] = trace.services.map(() => []);
  for (let k = 0; k < shown; k++) {
    const i = trace.preorder[k];
    byService[trace.serviceOf[i]].push(i);
  }
  for (let s = 0; s < trace.services.length; s++) {
    if (byService[s].length === 0) continue;
    lines.push(`  subgraph svc${s}["${escapeLabel(trace.services[s])}"]`);
    for (const i of byService[s]) {
      const span = trace.spans[i];
      const offset = formatDuration(BigInt(trace.start[i]));
      const duration = formatDuration(BigInt(trace.end[i] - trace.start[i]));
      lines.push(`    s${i}["${escapeLabel(span.name || '(unnamed)')}<br/>+${offset} · ${duration}"]`);
    }
    lines.push('  end');
  }
  for (let k = 0; k < shown; k++) {
    const i = trace.preorder[k];
    const p = trace.parent[i];
    if (p >= 0 && include[p]) lines.push(`  s${p} ${trace.asyncChild[i] ? '-.->' : '-->'} s${i}`);
  }
  lines.push('  classDef error fill:#fde2e2,stroke:#c0392b,color:#7b241c');
  lines.push('  classDef critical stroke-width:3px');
  for (let k = 0; k < shown; k++) {
    const i = trace.preorder[k];
    const error = options.isError ? options.isError[i] === 1 : isErrorSpan(trace.spans[i]);
    if (error) lines.push(`  class s${i} error`);
    if (critical?.[i]) lines.push(`  class s${i} critical`);
  }
  if (shown < trace.size) lines.push(`  %% ${trace.size - shown} more spans not drawn (maxSpans ${max})`);
  return `${lines.join('\n')}\n`;
}

function escapeLabel(text: string): string {
  return text.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;').replace(/\n/g, ' ');
}
