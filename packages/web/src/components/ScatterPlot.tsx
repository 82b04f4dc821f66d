import { useRef, useState } from 'preact/hooks';
import type { TraceSummaryJson } from '../api.ts';
import { formatNanos } from '../format.ts';
import { scatterScales } from '../scatter-scales.ts';

const HEIGHT = 190;
const PAD = { left: 58, right: 16, top: 12, bottom: 26 };

/**
 * Duration-over-time scatter plot of search results, as in Jaeger's search page: x is the start
 * time, y the duration, red dots have errors, dot size grows with the span count. Clicking a dot
 * calls `onOpen` with its trace id. Axes come from `scatterScales`, which keeps a single trace
 * (or several at the same instant) in the middle of a widened time axis.
 */
export function ScatterPlot(props: { traces: readonly TraceSummaryJson[]; onOpen: (traceId: string) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<{ trace: TraceSummaryJson; x: number; y: number } | null>(null);
  const width = 900;
  const { traces } = props;
  if (traces.length === 0) return null;
  const startsMs = traces.map((t) => Number(BigInt(t.startUnixNano) / 1_000_000n));
  const durations = traces.map((t) => Number(t.durationNanos));
  const scales = scatterScales({ startsMs, durationsNanos: durations, width, height: HEIGHT, pad: PAD });
  const { xTicks, yTicks, x, y } = scales;
  const maxSpans = Math.max(...traces.map((t) => t.spanCount), 1);
  const timeLabel = (ms: number) => {
    const d = new Date(ms);
    const span = scales.maxMs - scales.minMs;
    const hm = d.toLocaleTimeString([], {
      hour: '2-digit',
      minute: '2-digit',
      second: span < 600_000 ? '2-digit' : undefined,
    });
    return span > 36 * 3_600_000 ? `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${hm}` : hm;
  };
  return (
    <div class="scatter" ref={ref} style={{ position: 'relative' }}>
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} role="img" aria-label="Trace durations over time">
        <g class="axis">
          {yTicks.map((t) => (
            <g key={`y${t}`}>
              <line class="gridline" x1={PAD.left} x2={width - PAD.right} y1={y(t)} y2={y(t)} />
              <text x={PAD.left - 8} y={y(t) + 3.5} text-anchor="end">
                {formatNanos(t)}
              </text>
            </g>
          ))}
          {xTicks.map((t, i) => (
            <text
              key={`x${t}`}
              x={x(t)}
              y={HEIGHT - 8}
              text-anchor={i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle'}
            >
              {timeLabel(t)}
            </text>
          ))}
        </g>
        {traces.map((t, i) => {
          const error = t.errorCount > 0;
          const r = 3.5 + Math.sqrt(t.spanCount / maxSpans) * 6;
          return (
            // biome-ignore lint/a11y/noStaticElementInteractions: the list below offers the same action by keyboard
            <circle
              key={t.traceId}
              data-trace-id={t.traceId}
              cx={x(startsMs[i])}
              cy={y(durations[i])}
              r={r}
              fill={error ? 'var(--error)' : 'var(--accent)'}
              stroke={error ? 'var(--error)' : 'var(--accent)'}
              onClick={() => props.onOpen(t.traceId)}
              onMouseEnter={() => setHover({ trace: t, x: x(startsMs[i]), y: y(durations[i]) })}
              onMouseLeave={() => setHover(null)}
            />
          );
        })}
      </svg>
      {hover && (
        <div
          class="card"
          style={{
            position: 'absolute',
            left: `${(hover.x / width) * 100}%`,
            top: `${(hover.y / HEIGHT) * 100}%`,
            transform: 'translate(-50%, calc(-100% - 12px))',
            padding: '6px 10px',
            pointerEvents: 'none',
            whiteSpace: 'nowrap',
            fontSize: '12px',
          }}
        >
          <strong>{hover.trace.rootService}</strong> <span class="muted">{hover.trace.rootName}</span>
          <br />
          {formatNanos(hover.trace.durationNanos)} · {hover.trace.spanCount} spans
          {hover.trace.errorCount > 0 && <span class="error-text"> · {hover.trace.errorCount} errors</span>}
        </div>
      )}
    </div>
  );
}
