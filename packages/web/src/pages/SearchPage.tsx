import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  fetchOperations,
  fetchServices,
  searchTraceQL,
  searchTraces,
  type TraceQLSpanJson,
  type TraceQLSpanSetJson,
  type TraceSummaryJson,
} from '../api.ts';
import { createTagSource } from '../completion-data.ts';
import { ScatterPlot } from '../components/ScatterPlot.tsx';
import { ServiceChip } from '../components/ServiceChip.tsx';
import {
  TimeRangePicker,
  type TimeRangeValue,
  timeRangeFromQuery,
  timeRangeToParams,
} from '../components/TimeRangePicker.tsx';
import { type EditorText, TraceQLEditor } from '../components/TraceQLEditor.tsx';
import { formatAge, formatNanos, formatTimestamp } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { buildUrl, navigate, onLinkClick } from '../router.ts';
import { resolveWindow } from '../time-range.ts';
import { formToTraceQL } from '../traceql-form.ts';

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

/** The form fields a TraceQL query stands for (time range and limit are not part of it). */
const QUERY_KEYS: readonly (keyof Filters)[] = [
  'service',
  'operation',
  'status',
  'minDuration',
  'maxDuration',
  'attrs',
];

/** Spans asked per matched spanset: the first three are listed, all are highlighted in the trace. */
const SPANS_PER_SPANSET = 20;
/** Spans listed per spanset in a result row. */
const SPANS_LISTED = 3;
/** Most span ids put in a trace link's `highlight` (keeps the URL short). */
const MAX_HIGHLIGHT = 100;

/** One row of results: a trace, with what a TraceQL query matched in it. */
type ResultTrace = TraceSummaryJson & { readonly spanSets?: readonly TraceQLSpanSetJson[] };

interface SearchResults {
  readonly traces: readonly ResultTrace[];
  /** For TraceQL: the server stopped reading candidates before finding `limit` traces. */
  readonly truncated: boolean;
}

/**
 * Runs the URL's search: the TraceQL query in `q`, or the form's parameters (a query the form can
 * express is kept as form parameters, so links from other pages and older links still work).
 */
async function runSearch(query: URLSearchParams, signal: AbortSignal): Promise<SearchResults> {
  const q = query.get('q');
  if (q === null) return { traces: await searchTraces(apiParams(query), signal), truncated: false };
  const w = resolveWindow(query);
  const limit = Number(query.get('limit') ?? '20') || 20;
  const body = await searchTraceQL(
    { query: q, start: w.start, end: w.end, limit, spansPerSpanSet: SPANS_PER_SPANSET },
    signal,
  );
  return { traces: body.traces, truncated: body.metrics.truncated };
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

/**
 * The search page: filters on the left; the TraceQL editor, scatter plot and results on the
 * right; state in the URL. The form writes its query into the editor (as Grafana does), and a
 * search runs what the editor holds: as form parameters while it is exactly the form's query, as
 * `?q=` once it was edited by hand.
 */
export function SearchPage(props: { query: URLSearchParams }) {
  const queryText = props.query.toString();
  const [filters, setFilters] = useState(() => filtersFromQuery(props.query));
  // What the editor holds (kept as it types), and what the form or the URL last wrote into it.
  const [editorText, setEditorText] = useState(
    () => props.query.get('q') ?? formToTraceQL(filtersFromQuery(props.query)),
  );
  const [written, setWritten] = useState<EditorText>(() => ({ text: editorText }));
  const writeEditor = (text: string) => {
    setEditorText(text);
    setWritten({ text });
  };
  const [refresh, setRefresh] = useState(0);
  const [sort, setSort] = useState<SortKey>('recent');
  useEffect(() => {
    const f = filtersFromQuery(props.query);
    setFilters(f);
    writeEditor(props.query.get('q') ?? formToTraceQL(f));
  }, [queryText]);

  const services = useAsync('services', fetchServices);
  const operations = useAsync(`ops:${filters.service}`, (signal) =>
    filters.service ? fetchOperations(filters.service, signal) : Promise.resolve([]),
  );
  const results = useAsync(`search:${queryText}:${refresh}`, (signal) => runSearch(props.query, signal));
  const traceQLMode = props.query.get('q') !== null;

  // The completion's time window is the form's current range, read when a suggestion is asked for.
  const timeRef = useRef(filters.time);
  timeRef.current = filters.time;
  const tags = useMemo(
    () =>
      createTagSource(() => {
        const p = new URLSearchParams();
        timeRangeToParams(timeRef.current, p);
        return resolveWindow(p);
      }),
    [],
  );
  const serverError = useMemo(() => {
    const e = results.error;
    const q = props.query.get('q');
    return e instanceof ApiError && e.traceql && q !== null ? { source: q, error: e.traceql } : undefined;
  }, [results.error]);

  const sorted = useMemo(() => {
    const list = [...(results.value?.traces ?? [])];
    if (sort !== 'recent') list.sort(SORTS[sort].compare);
    return list;
  }, [results.value, sort]);
  const maxDuration = useMemo(
    () => sorted.reduce((m, t) => (BigInt(t.durationNanos) > m ? BigInt(t.durationNanos) : m), 1n),
    [sorted],
  );

  const run = () => {
    // An emptied editor means every span, as the form's `{}`.
    const text = editorText.trim() === '' ? '{}' : editorText;
    let params: URLSearchParams;
    if (text === formToTraceQL(filters)) {
      params = filtersToParams(filters);
    } else {
      params = new URLSearchParams({ q: text });
      if (filters.limit && filters.limit !== '20') params.set('limit', filters.limit);
      timeRangeToParams(filters.time, params);
    }
    const url = buildUrl('/search', params);
    if (url === window.location.pathname + window.location.search) setRefresh((n) => n + 1);
    else navigate(url);
  };
  const submit = (e: Event) => {
    e.preventDefault();
    run();
  };
  const set = (patch: Partial<Filters>) => {
    const next = { ...filters, ...patch };
    setFilters(next);
    if (QUERY_KEYS.some((k) => k in patch)) writeEditor(formToTraceQL(next));
  };
  const openTrace = (id: string) => {
    const trace = sorted.find((t) => t.traceId === id);
    navigate(trace ? traceHref(trace) : `/trace/${id}`);
  };

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
        <div class="card" data-testid="traceql">
          <div class="card-title">
            <span>TraceQL</span>
            <span class="faint" style={{ fontWeight: 400, fontSize: '12px' }}>
              Enter to run · Ctrl-Space to complete · the filters on the left write here
            </span>
          </div>
          <div class="tql-row">
            <TraceQLEditor value={written} onChange={setEditorText} onRun={run} serverError={serverError} data={tags} />
            <button class="btn primary" type="button" onClick={run}>
              Run query
            </button>
          </div>
        </div>
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
                <span data-testid="result-count">
                  {sorted.length} trace{sorted.length === 1 ? '' : 's'}
                  {traceQLMode ? ' matching the query' : ''}
                  {results.value?.truncated ? ' (stopped early: narrow the query or the time range)' : ''}
                </span>
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

/** The trace page's link for a result: with `?highlight=` naming the spans a query matched. */
function traceHref(t: ResultTrace): string {
  const ids = new Set<string>();
  for (const set of t.spanSets ?? []) for (const span of set.spans) ids.add(span.spanId);
  const highlight = [...ids].slice(0, MAX_HIGHLIGHT).join(',');
  return buildUrl(`/trace/${t.traceId}`, { highlight });
}

function ResultRow(props: { trace: ResultTrace; maxDuration: bigint }) {
  const t = props.trace;
  const href = traceHref(t);
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
      {t.spanSets && t.spanSets.length > 0 && (
        <div class="tql-matches">
          {t.spanSets.map((set, k) => (
            <SpanSetRow key={k} set={set} />
          ))}
        </div>
      )}
    </a>
  );
}

/** One matched spanset of a TraceQL result: its size, aggregates, and its first spans. */
function SpanSetRow(props: { set: TraceQLSpanSetJson }) {
  const { set } = props;
  const listed = set.spans.slice(0, SPANS_LISTED);
  return (
    <div class="tql-spanset" data-testid="spanset">
      <span class="badge accent" data-testid="matched-count" data-matched={set.matched}>
        {set.matched} matched
      </span>
      {set.attributes.map((a) => (
        <span key={a.name} class="badge mono">
          {a.name} = {fieldValueText(a.value)}
        </span>
      ))}
      <div class="tql-spans">
        {listed.map((span) => (
          <MatchedSpan key={span.spanId} span={span} />
        ))}
        {set.matched > listed.length && <span class="faint">+{set.matched - listed.length} more</span>}
      </div>
    </div>
  );
}

function MatchedSpan(props: { span: TraceQLSpanJson }) {
  const { span } = props;
  return (
    <span class="tql-span" data-span-id={span.spanId} data-testid="matched-span">
      <span class="tql-span-mark" aria-hidden="true" />
      <ServiceChip service={span.service} />
      <span class="op">{span.name}</span>
      <span class="faint">{formatNanos(span.durationNanos)}</span>
      {span.attributes
        .filter((a) => a.key !== 'service.name' && a.key !== 'name' && a.key !== 'duration')
        .map((a) => (
          <span key={a.field} class="tql-field mono" title={a.field}>
            {a.key}={fieldValueText(a.value, a.field)}
          </span>
        ))}
    </span>
  );
}

/** Intrinsics whose values are words or durations, written without quotes. */
const BARE_FIELD = /(^|:)(status|kind|duration|traceDuration|timeSinceStart)$/;

/**
 * A field value from a TraceQL result as query text: strings quoted, except the words and
 * durations of status, kind and duration fields; the rest as they are.
 */
function fieldValueText(value: unknown, field = ''): string {
  if (typeof value === 'string') return BARE_FIELD.test(field) ? value : JSON.stringify(value);
  if (value === null) return 'nil';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
