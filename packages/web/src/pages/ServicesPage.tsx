import { useEffect, useMemo } from 'preact/hooks';
import { fetchDependencies, fetchServiceStats, fetchServices, type OperationStatsJson } from '../api.ts';
import { serviceColor } from '../colors.ts';
import { DependencyMap } from '../components/DependencyMap.tsx';
import { formatCount, formatNanos, formatPercent } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { buildUrl, navigate } from '../router.ts';
import { DEFAULT_LOOKBACK, LOOKBACK_PRESETS, resolveWindow } from '../time-range.ts';

/**
 * The services page: the dependency map over a time window and, for the chosen service, its
 * operations with request count, error rate and latency percentiles. State lives in the URL
 * (`?lookback=1h&service=checkout`).
 */
export function ServicesPage(props: { query: URLSearchParams }) {
  const lookback = props.query.get('lookback') ?? DEFAULT_LOOKBACK;
  const service = props.query.get('service') ?? '';
  const windowKey = props.query.get('lookback') === 'custom' ? props.query.toString() : lookback;
  const window = useMemo(() => resolveWindow(props.query), [windowKey]);
  useEffect(() => {
    document.title = 'Services · Ariadne';
  }, []);
  const services = useAsync('services', fetchServices);
  const deps = useAsync(`deps:${window.start}:${window.end}`, (signal) =>
    fetchDependencies(window.start, window.end, signal),
  );
  const stats = useAsync(`stats:${service}:${window.start}:${window.end}`, (signal) =>
    service ? fetchServiceStats(service, window.start, window.end, signal) : Promise.resolve([]),
  );
  const setQuery = (patch: Record<string, string | undefined>) => {
    const params: Record<string, string | undefined> = { lookback, service, ...patch };
    if ((patch.lookback ?? lookback) === 'custom') {
      params.start = props.query.get('start') ?? undefined;
      params.end = props.query.get('end') ?? undefined;
    }
    navigate(buildUrl('/services', params), { replace: true });
  };
  const allServices = useMemo(() => {
    const set = new Set(services.value ?? []);
    for (const d of deps.value ?? []) {
      set.add(d.parent);
      set.add(d.child);
    }
    return [...set].sort();
  }, [services.value, deps.value]);

  return (
    <div>
      <div class="services-toolbar">
        <h1>Services</h1>
        <label class="row" style={{ gap: '8px', flex: 'none' }}>
          <span class="muted">Time range</span>
          <select
            class="select"
            aria-label="Time range"
            value={lookback}
            onChange={(e) => setQuery({ lookback: e.currentTarget.value })}
          >
            {LOOKBACK_PRESETS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
            {lookback === 'custom' && <option value="custom">Custom range</option>}
          </select>
        </label>
      </div>
      <div class="services-layout">
        <section class="card" aria-label="Dependency map">
          <div class="card-title">
            <span>Dependency map</span>
            <span class="muted" style={{ fontWeight: 400, fontSize: '12px' }}>
              {deps.loading ? <span class="spinner" /> : `${(deps.value ?? []).length} edges`} · click a service
            </span>
          </div>
          {deps.error ? (
            <div class="card-body">
              <div class="banner error" role="alert">
                <span class="icon">!</span>
                {deps.error.message}
              </div>
            </div>
          ) : (
            <DependencyMap
              services={allServices}
              dependencies={deps.value ?? []}
              selected={service}
              onSelect={(s) => setQuery({ service: s })}
            />
          )}
        </section>
        <section class="card" aria-label="Service operations">
          <div class="svc-list" role="listbox" aria-label="Services">
            {allServices.map((s) => (
              <button
                key={s}
                type="button"
                role="option"
                aria-selected={s === service}
                class={s === service ? 'on' : ''}
                onClick={() => setQuery({ service: s })}
              >
                <span class="svc-dot" style={{ background: serviceColor(s) }} />
                {s}
              </button>
            ))}
          </div>
          {service ? (
            <OperationsTable
              service={service}
              rows={stats.value ?? []}
              loading={stats.loading}
              error={stats.error}
              lookback={lookback}
            />
          ) : (
            <div class="empty">
              <h3>Pick a service</h3>
              Its operations, request counts, error rates and latency percentiles appear here.
            </div>
          )}
        </section>
      </div>
    </div>
  );
}

function OperationsTable(props: {
  service: string;
  rows: readonly OperationStatsJson[];
  loading: boolean;
  error: Error | undefined;
  lookback: string;
}) {
  const sorted = [...props.rows].sort((a, b) => b.spanCount - a.spanCount);
  const search = (operation?: string) =>
    buildUrl('/search', {
      service: props.service,
      operation,
      lookback: props.lookback === 'custom' ? '1h' : props.lookback,
    });
  return (
    <div data-testid="operations">
      <div class="card-title" style={{ borderTop: 0 }}>
        <span class="row" style={{ gap: '8px', justifyContent: 'flex-start' }}>
          <span class="svc-dot" style={{ background: serviceColor(props.service), flex: 'none' }} />
          <span style={{ flex: 'none' }}>{props.service}</span>
          {props.loading && <span class="spinner" style={{ flex: 'none' }} />}
        </span>
        <a
          class="btn small"
          href={search()}
          onClick={(e) => {
            e.preventDefault();
            navigate(search());
          }}
        >
          Find traces →
        </a>
      </div>
      {props.error && (
        <div class="card-body">
          <div class="banner error" role="alert">
            <span class="icon">!</span>
            {props.error.message}
          </div>
        </div>
      )}
      {!props.loading && !props.error && sorted.length === 0 && (
        <div class="empty">No spans from this service in the time range.</div>
      )}
      {sorted.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th>Operation</th>
              <th class="num">Requests</th>
              <th class="num">Error rate</th>
              <th class="num">p50</th>
              <th class="num">p95</th>
              <th class="num">p99</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((op) => (
              <tr
                key={op.operation}
                class="clickable"
                data-operation={op.operation}
                onClick={() => navigate(search(op.operation))}
                title="Find traces of this operation"
              >
                <td style={{ wordBreak: 'break-word' }}>{op.operation}</td>
                <td class="num">{formatCount(op.spanCount)}</td>
                <td class="num">
                  <span class="err-rate">
                    <span class={op.errorCount > 0 ? 'error-text' : 'muted'}>{formatPercent(op.errorRate)}</span>
                    <span class="mini">
                      <div style={{ width: `${Math.min(100, op.errorRate * 100)}%` }} />
                    </span>
                  </span>
                </td>
                <td class="num">{formatNanos(op.p50Nanos)}</td>
                <td class="num">{formatNanos(op.p95Nanos)}</td>
                <td class="num">{formatNanos(op.p99Nanos)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
