import { formatNanos, formatPercent } from '../format.ts';
import type { ServiceTime } from '../trace-view.ts';

/**
 * Time by service as a bar chart: for each service its share of the critical path (solid) and its
 * self time (light). Critical-path shares sum to the trace duration; self time does not have to,
 * since concurrent spans overlap.
 */
export function ServiceTimeChart(props: {
  rows: readonly ServiceTime[];
  colors: ReadonlyMap<string, string>;
  traceDuration: number;
}) {
  const max = Math.max(1, ...props.rows.map((r) => Math.max(r.criticalPathNanos, r.selfNanos)));
  return (
    <div class="card" data-testid="time-by-service">
      <div class="card-title">
        <span>Time by service</span>
        <span class="legend" style={{ border: 0, padding: 0, background: 'none' }}>
          <span>
            <span class="svc-dot" style={{ background: 'var(--text-muted)' }} /> critical path
          </span>
          <span>
            <span class="svc-dot" style={{ background: 'var(--text-muted)', opacity: 0.45 }} /> self time
          </span>
        </span>
      </div>
      <div class="card-body svc-time">
        {props.rows.map((r) => {
          const color = props.colors.get(r.service) ?? 'var(--accent)';
          return [
            <div key={`${r.service}-n`} class="svc-chip" style={{ maxWidth: '200px' }}>
              <span class="svc-dot" style={{ background: color }} />
              {r.service}
            </div>,
            <div key={`${r.service}-b`} class="bars">
              <div class="bar" style={{ width: `${(r.criticalPathNanos / max) * 100}%`, background: color }} />
              <div class="bar self" style={{ width: `${(r.selfNanos / max) * 100}%`, background: color }} />
            </div>,
            <div key={`${r.service}-f`} class="fig">
              <strong>{formatNanos(r.criticalPathNanos)}</strong>{' '}
              <span class="muted">({formatPercent(r.criticalPathNanos / (props.traceDuration || 1))})</span>
              <br />
              <span class="muted">self {formatNanos(r.selfNanos)}</span>
            </div>,
          ];
        })}
      </div>
    </div>
  );
}
