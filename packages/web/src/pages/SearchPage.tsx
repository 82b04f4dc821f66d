import { useEffect, useMemo, useState } from 'preact/hooks';
import { fetchOperations, fetchServices, searchTraces, type TraceSummaryJson } from '../api.ts';
import { ScatterPlot } from '../components/ScatterPlot.tsx';
import { ServiceChip } from '../components/ServiceChip.tsx';
import {
  TimeRangePicker,
  type TimeRangeValue,
  timeRangeFromQuery,
  timeRangeToParams,
} from '../components/TimeRangePicker.tsx';
import { formatAge, formatNanos, formatTimestamp } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { buildUrl, navigate, onLinkClick } from '../router.ts';
import { resolveWindow } from '../time-range.ts';

interface Filters {
  service: string;
  operation: string;
  status: string;
  minDuration: string;
  maxDuration: string;
  limit: string;
  attrs: string[];
  time: TimeRangeValue;
}

function filtersFromQuery(query: URLSearchParams): Filters {
  const attrs = query.getAll('attr');
  return {
    service: query.get('service') ?? '',
    operation: query.get('operation') ?? '',
    status: query.get('status') ?? '',
    minDuration: query.get('minDuration') ?? '',
    maxDuration: query.get('maxDuration') ?? '',
    limit: query.get('limit') ?? '20',
    attrs: attrs.length > 0 ? attrs : [''],
    time: timeRangeFromQuery(query),
  };
}

function filtersToParams(f: Filters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.service) p.set('service', f.service);
  if (f.operation) p.set('operation', f.operation);
  if (f.status) p.set('status', f.status);
  if (f.minDuration.trim()) p.set('minDuration', f.minDuration.trim());
  if (f.maxDuration.trim()) p.set('maxDuration', f.maxDuration.trim());
  for (const a of f.attrs) if (a.trim()) p.append('attr', a.trim());
  if (f.limit && f.limit !== '20') p.set('limit', f.limit);
  timeRangeToParams(f.time, p);
  return p;
}

/** The API query for the URL's search: the URL's filters with the time window resolved now. */
function apiParams(query: URLSearchParams): URLSearchParams {
  const p = new URLSearchParams();
  for (const key of ['service', 'operation', 'status', 'minDuration', 'maxDuration']) {
    const v = query.get(key);
    if (v) p.set(key, v);
  }
  for (const a of query.getAll('attr')) p.append('attr', a);
  p.set('limit', query.get('limit') ?? '20');
  const w = resolveWindow(query);
  p.set('start', String(Math.floor(w.start)));
  p.set('end', String(Math.ceil(w.end)));
  return p;
}

type SortKey = 'recent' | 'longest' | 'shortest' | 'spans' | 'errors';

const SORTS: Record<SortKey, { label: string; compare: (a: TraceSummaryJson, b: TraceSummaryJson) => number }> = {
  recent: { label: 'Most recent', compare: () => 0 },
  longest: { label: 'Longest first', compare: (a, b) => cmpBig(b.durationNanos, a.durationNanos) },
  shortest: { label: 'Shortest first', compare: (a, b) => cmpBig(a.durationNanos, b.durationNanos) },
  spans: { label: 'Most spans', compare: (a, b) => b.spanCount - a.spanCount },
  errors: { label: 'Most errors', compare: (a, b) => b.errorCount - a.errorCount },
};

function cmpBig(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The search page: filters on the left, scatter plot and results on the right; state in the URL. */
export function SearchPage(props: { query: URLSearchParams }) {
  const queryText = props.query.toString();
  const [filters, setFilters] = useState(() => filtersFromQuery(props.query));
  const [refresh, setRefresh] = useState(0);
  const [sort, setSort] = useState<SortKey>('recent');
  useEffect(() => setFilters(filtersFromQuery(props.query)), [queryText]);

  const services = useAsync('services', fetchServices);
  const operations = useAsync(`ops:${filters.service}`, (signal) =>
    filters.service ? fetchOperations(filters.service, signal) : Promise.resolve([]),
  );
  const results = useAsync(`search:${queryText}:${refresh}`, (signal) => searchTraces(apiParams(props.query), signal));

  const sorted = useMemo(() => {
    const list = [...(results.value ?? [])];
    if (sort !== 'recent') list.sort(SORTS[sort].compare);
    return list;
  }, [results.value, sort]);
  const maxDuration = useMemo(
    () => sorted.reduce((m, t) => (BigInt(t.durationNanos) > m ? BigInt(t.durationNanos) : m), 1n),
    [sorted],
  );

  const submit = (e: Event) => {
    e.preventDefault();
    const url = buildUrl('/search', filtersToParams(filters));
    if (url === window.location.pathname + window.location.search) setRefresh((n) => n + 1);
    else navigate(url);
  };
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const openTrace = (id: string) => navigate(`/trace/${id}`);

  return (
    <div class="search-layout">
      <aside class="card filters">
        <div class="card-title">Find traces</div>
        <form class="card-body" onSubmit={submit} aria-label="Search filters">
          <div class="field">
            <label for="f-service">Service</label>
            <select
              id="f-service"
              name="service"
              class="select"
              value={filters.service}
              onChange={(e) => set({ service: e.currentTarget.value, operation: '' })}
            >
              <option value="">All services</option>
              {(services.value ?? []).map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
              {filters.service && !(services.value ?? []).includes(filters.service) && (
                <option value={filters.service}>{filters.service}</option>
              )}
            </select>
          </div>
          <div class="field">
            <label for="f-operation">Operation</label>
            <select
              id="f-operation"
              name="operation"
              class="select"
              value={filters.operation}
              disabled={!filters.service}
              onChange={(e) => set({ operation: e.currentTarget.value })}
            >
              <option value="">All operations</option>
              {(operations.value ?? []).map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
              {filters.operation && !(operations.value ?? []).includes(filters.operation) && (
                <option value={filters.operation}>{filters.operation}</option>
              )}
            </select>
          </div>
          <div class="field">
            <span class="field-label">Status</span>
            <fieldset class="segmented" aria-label="Status">
              {[
                ['', 'Any'],
                ['error', 'Error'],
                ['ok', 'OK'],
                ['unset', 'Unset'],
              ].map(([value, label]) => (
                <button
                  key={value}
                  type="button"
                  aria-pressed={filters.status === value}
                  class={filters.status === value ? 'on' : ''}
                  onClick={() => set({ status: value })}
                >
                  {label}
                </button>
              ))}
            </fieldset>
          </div>
          <div class="field">
            <span class="field-label">Duration</span>
            <div class="row">
              <input
                class="input"
                name="minDuration"
                aria-label="Minimum duration"
                placeholder="min e.g. 250ms"
                value={filters.minDuration}
                onInput={(e) => set({ minDuration: e.currentTarget.value })}
              />
              <input
                class="input"
                name="maxDuration"
                aria-label="Maximum duration"
                placeholder="max e.g. 1.5s"
                value={filters.maxDuration}
                onInput={(e) => set({ maxDuration: e.currentTarget.value })}
              />
            </div>
          </div>
          <TimeRangePicker value={filters.time} onChange={(time) => set({ time })} />
          <div class="field">
            <span class="field-label">Attributes</span>
            <div class="attr-rows">
              {filters.attrs.map((a, i) => (
                <div class="row" key={`attr${i}`}>
                  <input
                    class="input mono"
                    name="attr"
                    aria-label={`Attribute filter ${i + 1}`}
                    placeholder="key=value"
                    value={a}
                    onInput={(e) => {
                      const attrs = [...filters.attrs];
                      attrs[i] = e.currentTarget.value;
                      set({ attrs });
                    }}
                  />
                  <button
                    type="button"
                    class="btn ghost small"
                    aria-label="Remove attribute filter"
                    onClick={() => {
                      const attrs = filters.attrs.filter((_, j) => j !== i);
                      set({ attrs: attrs.length > 0 ? attrs : [''] });
                    }}
                  >
                    ✕
                  </button>
                </div>
              ))}
              <button
                type="button"
                class="btn small"
                style={{ alignSelf: 'flex-start' }}
                onClick={() => set({ attrs: [...filters.attrs, ''] })}
              >
                + Add attribute
              </button>
            </div>
          </div>
          <div class="field">
            <label for="f-limit">Limit</label>
            <select
              id="f-limit"
              class="select"
              value={filters.limit}
              onChange={(e) => set({ limit: e.currentTarget.value })}
            >
              {['20', '50', '100', '500', '1000'].map((n) => (
                <option key={n} value={n}>
                  {n} traces
                </option>
              ))}
            </select>
          </div>
          <button class="btn primary" type="submit">
            Find traces
          </button>
        </form>
      </aside>
      <section class="results" aria-label="Search results">
        {results.error ? (
          <div class="banner error" role="alert">
            <span class="icon">!</span>
            <div>
              <strong>Search failed.</strong> {results.error.message}
            </div>
          </div>
        ) : null}
        {sorted.length > 0 && (
          <div class="card">
            <div class="card-title">
              <span>Duration over time</span>
              <span class="muted" style={{ fontWeight: 400, fontSize: '12px' }}>
                <span class="svc-dot" style={{ background: 'var(--accent)', borderRadius: '50%' }} /> ok{'  '}
                <span class="svc-dot" style={{ background: 'var(--error)', borderRadius: '50%', marginLeft: '8px' }} />{' '}
                with errors · size = spans
              </span>
            </div>
            <div style={{ padding: '6px 8px 2px' }}>
              <ScatterPlot traces={sorted} onOpen={openTrace} />
            </div>
          </div>
        )}
        <div class="card">
          <div class="card-title">
            <span>
              {results.loading ? (
                <>
                  <span class="spinner" /> Searching…
                </>
              ) : (
                `${sorted.length} trace${sorted.length === 1 ? '' : 's'}`
              )}
            </span>
            <select
              class="select"
              aria-label="Sort results"
              style={{ height: '28px' }}
              value={sort}
              onChange={(e) => setSort(e.currentTarget.value as SortKey)}
            >
              {Object.entries(SORTS).map(([k, s]) => (
                <option key={k} value={k}>
                  {s.label}
                </option>
              ))}
            </select>
          </div>
          {!results.loading && sorted.length === 0 && !results.error && (
            <div class="empty">
              <h3>No traces found</h3>
              Widen the time range or remove a filter. Spans sent to OTLP on port 4318 (HTTP) or 4317 (gRPC) appear here
              within a second.
            </div>
          )}
          <div class="result-list" data-testid="results">
            {sorted.map((t) => (
              <ResultRow key={t.traceId} trace={t} maxDuration={maxDuration} />
            ))}
          </div>
        </div>
      </section>
    </div>
  );
}

function ResultRow(props: { trace: TraceSummaryJson; maxDuration: bigint }) {
  const t = props.trace;
  const href = `/trace/${t.traceId}`;
  const pct = Math.max(0.5, Number((BigInt(t.durationNanos) * 10000n) / props.maxDuration) / 100);
  return (
    <a class="result" href={href} data-trace-id={t.traceId} onClick={(e) => onLinkClick(e, href)}>
      <div class="result-title">
        <ServiceChip service={t.rootService} />
        <span class="op">{t.rootName}</span>
        <span class="faint mono" style={{ fontWeight: 400 }}>
          {t.traceId.slice(0, 7)}
        </span>
      </div>
      <div class="result-right">
        <span class="result-duration">{formatNanos(t.durationNanos)}</span>
        <div class="duration-track">
          <div class={`duration-fill${t.errorCount > 0 ? ' error' : ''}`} style={{ width: `${pct}%` }} />
        </div>
      </div>
      <div class="result-meta">
        <span class="badge">{t.spanCount} spans</span>
        {t.errorCount > 0 ? (
          <span class="badge error">
            {t.errorCount} error{t.errorCount === 1 ? '' : 's'}
          </span>
        ) : (
          <span class="badge ok">no errors</span>
        )}
        {t.services.slice(0, 8).map((s) => (
          <ServiceChip key={s} service={s} />
        ))}
        {t.services.length > 8 && <span class="faint">+{t.services.length - 8} more</span>}
        <span class="faint" title={formatTimestamp(t.startUnixNano)} style={{ marginLeft: 'auto' }}>
          {formatTimestamp(t.startUnixNano)} · {formatAge(t.startUnixNano)}
        </span>
      </div>
    </a>
  );
}
