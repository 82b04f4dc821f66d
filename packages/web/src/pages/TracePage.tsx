import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, fetchTraceOtlp } from '../api.ts';
import { serviceColorMap } from '../colors.ts';
import { ServiceTimeChart } from '../components/ServiceTimeChart.tsx';
import { SpanDetail } from '../components/SpanDetail.tsx';
import { TraceGraph } from '../components/TraceGraph.tsx';
import { Waterfall } from '../components/Waterfall.tsx';
import { formatCount, formatNanos, formatTimestamp } from '../format.ts';
import { copyText, useAsync } from '../hooks.ts';
import { buildUrl, navigate, onLinkClick } from '../router.ts';
import { analyzeTrace } from '../trace-analysis.ts';
import { ancestorsOf, findSpans, type TraceError, type TraceView } from '../trace-view.ts';

const TRACE_ID_RE = /^[0-9a-f]{32}$/;

/** The trace page: loads one trace, analyses it with core and shows it. `?span=` selects a span. */
export function TracePage(props: { traceId: string; query: URLSearchParams }) {
  const { traceId } = props;
  const valid = TRACE_ID_RE.test(traceId);
  const loaded = useAsync(`trace:${traceId}`, async (signal) => {
    if (!valid) throw new ApiError(400, 'bad_trace_id', `"${traceId}" is not a trace ID (32 hex characters).`);
    const body = await fetchTraceOtlp(traceId, signal);
    return analyzeTrace(traceId, body);
  });
  useEffect(() => {
    document.title = `Trace ${traceId.slice(0, 7)} · Ariadne`;
  }, [traceId]);
  if (loaded.error) {
    const notFound = loaded.error instanceof ApiError && loaded.error.status === 404;
    return (
      <div class="empty" role="alert">
        <h3>{notFound ? 'Trace not found' : 'Could not open this trace'}</h3>
        <p>
          {notFound ? (
            <>
              No spans with trace ID <code>{traceId}</code> are stored. It may not have arrived yet, or it is older than
              the retention period.
            </>
          ) : (
            loaded.error.message
          )}
        </p>
        <a class="btn" href="/search" onClick={(e) => onLinkClick(e, '/search')}>
          Back to search
        </a>
      </div>
    );
  }
  if (!loaded.value || loaded.value.traceId !== traceId) {
    return (
      <div class="empty">
        <span class="spinner" /> Loading trace <code>{traceId}</code>…
      </div>
    );
  }
  return <TraceLoaded view={loaded.value} query={props.query} />;
}

type Tab = 'timeline' | 'services' | 'graph';

function TraceLoaded(props: { view: TraceView; query: URLSearchParams }) {
  const { view } = props;
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(() => new Set());
  const [tab, setTab] = useState<Tab>('timeline');
  const [find, setFind] = useState('');
  const [findPos, setFindPos] = useState(0);
  const [reveal, setReveal] = useState<{ index: number; seq: number } | null>(null);
  const [showCriticalPath, setShowCriticalPath] = useState(true);
  const colorMap = useMemo(() => serviceColorMap(view.services), [view]);
  const colors = useMemo(() => view.services.map((s) => colorMap.get(s)!), [view, colorMap]);
  const spanParam = props.query.get('span') ?? '';
  const selected = spanParam ? view.indexOf(spanParam.toLowerCase()) : -1;
  const highlightParam = props.query.get('highlight') ?? '';
  const highlighted = useMemo(() => highlightedSpans(view, highlightParam), [view, highlightParam]);
  const matchList = useMemo(() => findSpans(view, find), [view, find]);
  const matches = useMemo(() => new Set(matchList), [matchList]);
  const errorByIndex = useMemo(() => new Map(view.errors.map((e) => [e.index, e])), [view]);
  const swallowed = useMemo(() => swallowedGroups(view), [view]);
  const criticalByIndex = useMemo(() => {
    const m = new Map<number, number>();
    for (const [i, sections] of view.criticalPath)
      m.set(
        i,
        sections.reduce((sum, [s, e]) => sum + e - s, 0),
      );
    return m;
  }, [view]);

  const revealIndex = (index: number) => {
    const hidden = ancestorsOf(view, index).filter((a) => collapsed.has(a));
    if (hidden.length > 0) {
      const next = new Set(collapsed);
      for (const a of hidden) next.delete(a);
      setCollapsed(next);
    }
    setReveal((r) => ({ index, seq: (r?.seq ?? 0) + 1 }));
  };

  // A span selected through the URL (a shared link, back/forward) is revealed once; with none,
  // the first span a search query matched.
  useEffect(() => {
    if (selected >= 0) revealIndex(selected);
    else if (highlighted.size > 0) revealIndex(Math.min(...highlighted));
  }, [selected, view, highlighted]);

  const select = (index: number) => {
    const spanId = index >= 0 ? view.spans[index].spanId : '';
    navigate(buildUrl(`/trace/${view.traceId}`, { highlight: highlightParam, span: spanId }), { replace: true });
  };
  const selectById = (spanId: string): boolean => {
    const index = view.indexOf(spanId);
    if (index < 0) return false;
    setTab('timeline');
    select(index);
    return true;
  };
  const toggle = (index: number) => {
    const next = new Set(collapsed);
    if (next.has(index)) next.delete(index);
    else next.add(index);
    setCollapsed(next);
  };
  const stepFind = (delta: number) => {
    if (matchList.length === 0) return;
    const pos = (findPos + delta + matchList.length) % matchList.length;
    setFindPos(pos);
    revealIndex(matchList[pos]);
  };

  const root = view.rootIndex >= 0 ? view.spans[view.rootIndex] : undefined;
  const errorCount = view.errors.length > 0 ? view.errors.length : view.error.reduce((a, b) => a + b, 0);
  let maxDepth = 0;
  for (let i = 0; i < view.depth.length; i++) if (view.depth[i] > maxDepth) maxDepth = view.depth[i];
  const skew = view.warnings.filter((w) => w.code === 'clock-skew').length;
  const orphans = view.warnings.filter((w) => w.code === 'missing-parent').length;
  const selectedSpan = selected >= 0 ? view.spans[selected] : undefined;

  return (
    <div class="trace-page">
      <header class="trace-header">
        <div class="trace-title">
          <h1>
            {root && (
              <>
                <span class="svc">{root.serviceName}:</span> {root.name}
              </>
            )}
          </h1>
          <TraceIdCopy traceId={view.traceId} />
        </div>
        <div class="trace-stats">
          <Stat k="Started" v={formatTimestamp(view.traceStart)} />
          <Stat k="Duration" v={formatNanos(view.traceDuration)} />
          <Stat k="Services" v={String(view.services.length)} />
          <Stat k="Depth" v={String(maxDepth + 1)} />
          <Stat k="Spans" v={formatCount(view.spans.length)} />
          <Stat k="Errors" v={formatCount(errorCount)} error={errorCount > 0} />
        </div>
        {(highlighted.size > 0 || swallowed.length > 0 || view.warnings.length > 0) && (
          <div class="trace-alerts">
            {highlighted.size > 0 && (
              <div class="banner info" data-testid="query-matches">
                <span class="icon">◆</span>
                <div>
                  {highlighted.size} span{highlighted.size === 1 ? '' : 's'} matched by the search query{' '}
                  {highlighted.size === 1 ? 'is' : 'are'} marked with ◆.{' '}
                  <a
                    href={`/trace/${view.traceId}`}
                    onClick={(e) => {
                      e.preventDefault();
                      navigate(buildUrl(`/trace/${view.traceId}`, { span: spanParam }), { replace: true });
                    }}
                  >
                    Clear
                  </a>
                </div>
              </div>
            )}
            {swallowed.slice(0, 3).map((g) => (
              <SwallowedBanner key={g.first.index} view={view} group={g} onOpen={() => select(g.first.index)} />
            ))}
            {swallowed.length > 3 && (
              <div class="muted">and {swallowed.length - 3} more swallowed errors (marked in the timeline)</div>
            )}
            {view.warnings.length > 0 && (
              <div class="banner warn" data-testid="trace-warnings">
                <span class="icon">⚠</span>
                <details>
                  <summary>
                    {[
                      skew > 0 ? `${skew} span${skew === 1 ? '' : 's'} adjusted for clock skew` : '',
                      orphans > 0 ? `${orphans} span${orphans === 1 ? '' : 's'} with a missing parent` : '',
                      view.warnings.length - skew - orphans > 0
                        ? `${view.warnings.length - skew - orphans} other repair${view.warnings.length - skew - orphans === 1 ? '' : 's'}`
                        : '',
                    ]
                      .filter(Boolean)
                      .join(' · ')}
                  </summary>
                  <ul>
                    {view.warnings.slice(0, 50).map((w, k) => (
                      <li key={k}>
                        {w.index !== undefined ? (
                          <a
                            href={`?span=${view.spans[w.index].spanId}`}
                            onClick={(e) => {
                              e.preventDefault();
                              select(w.index!);
                            }}
                          >
                            {view.spans[w.index].serviceName}: {view.spans[w.index].name}
                          </a>
                        ) : (
                          'trace'
                        )}{' '}
                        — {w.message}
                      </li>
                    ))}
                    {view.warnings.length > 50 && <li>and {view.warnings.length - 50} more</li>}
                  </ul>
                </details>
              </div>
            )}
          </div>
        )}
        <div class="tabs" role="tablist">
          {(
            [
              ['timeline', 'Timeline'],
              ['services', 'Time by service'],
              ['graph', 'Graph'],
            ] as const
          ).map(([key, label]) => (
            <button
              key={key}
              type="button"
              role="tab"
              aria-selected={tab === key}
              class={tab === key ? 'on' : ''}
              onClick={() => setTab(key)}
            >
              {label}
            </button>
          ))}
          <div class="spacer" />
          {tab === 'timeline' && (
            <div class="toolbar">
              <form
                class="find-box"
                onSubmit={(e) => {
                  e.preventDefault();
                  stepFind(1);
                }}
              >
                <input
                  class="input"
                  type="search"
                  aria-label="Find in trace"
                  placeholder="Find name, service or key=value"
                  value={find}
                  onInput={(e) => {
                    setFind(e.currentTarget.value);
                    setFindPos(-1);
                  }}
                />
                <span class="muted" style={{ minWidth: '62px', fontSize: '12px' }} data-testid="find-count">
                  {find.trim() ? `${matchList.length === 0 ? 0 : Math.max(findPos, 0) + 1}/${matchList.length}` : ''}
                </span>
                <button type="button" class="btn small" aria-label="Previous match" onClick={() => stepFind(-1)}>
                  ↑
                </button>
                <button type="button" class="btn small" aria-label="Next match" onClick={() => stepFind(1)}>
                  ↓
                </button>
              </form>
              <label class="row" style={{ gap: '4px', fontSize: '12px' }}>
                <input
                  type="checkbox"
                  checked={showCriticalPath}
                  onChange={(e) => setShowCriticalPath(e.currentTarget.checked)}
                />
                Critical path
              </label>
              <button type="button" class="btn small" onClick={() => setCollapsed(new Set())}>
                Expand all
              </button>
              <button
                type="button"
                class="btn small"
                onClick={() => {
                  const next = new Set<number>();
                  for (let i = 0; i < view.spans.length; i++) {
                    if (view.childCount[i] > 0 && view.depth[i] >= 1) next.add(i);
                  }
                  setCollapsed(next);
                }}
              >
                Collapse
              </button>
            </div>
          )}
        </div>
      </header>
      <div class="trace-body">
        <div class="trace-content">
          {tab === 'timeline' && (
            <>
              <div class="legend">
                {view.services.map((s) => (
                  <span key={s}>
                    <span class="svc-dot" style={{ background: colorMap.get(s) }} />
                    {s}
                  </span>
                ))}
                <span class="faint" style={{ marginLeft: 'auto' }}>
                  <span class="cp-sample" /> critical path · <span class="kbd">↑</span>
                  <span class="kbd">↓</span> walk · <span class="kbd">←</span>
                  <span class="kbd">→</span> collapse/expand · <span class="kbd">Enter</span> details
                </span>
              </div>
              <Waterfall
                view={view}
                colors={colors}
                collapsed={collapsed}
                onToggle={toggle}
                selected={selected}
                onSelect={select}
                matches={matches}
                highlighted={highlighted}
                reveal={reveal}
                showCriticalPath={showCriticalPath}
              />
            </>
          )}
          {tab === 'services' && (
            <div class="panel-pad">
              {view.timeByService.length > 0 ? (
                <ServiceTimeChart rows={view.timeByService} colors={colorMap} traceDuration={view.traceDuration} />
              ) : (
                <div class="empty">Time by service is not available for this trace.</div>
              )}
            </div>
          )}
          {tab === 'graph' && <TraceGraph view={view} colors={colors} selected={selected} onSelect={select} />}
        </div>
        {selectedSpan && (
          <SpanDetail
            key={selected}
            span={selectedSpan}
            color={colors[view.serviceIndex[selected]]}
            traceStart={view.traceStart}
            error={errorByIndex.get(selected)}
            criticalNanos={criticalByIndex.get(selected) ?? 0}
            warnings={view.warnings.filter((w) => w.index === selected).map((w) => w.message)}
            onClose={() => select(-1)}
            onSelectSpan={selectById}
          />
        )}
      </div>
    </div>
  );
}

function Stat(props: { k: string; v: string; error?: boolean }) {
  return (
    <div class="stat">
      <span class="k">{props.k}</span>
      <span class={`v${props.error ? ' error' : ''}`}>{props.v}</span>
    </div>
  );
}

function TraceIdCopy(props: { traceId: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <span class="row" style={{ gap: '4px', flex: 'none' }}>
      <code class="faint">{props.traceId}</code>
      <button
        type="button"
        class="btn ghost small"
        aria-label="Copy trace id"
        onClick={() =>
          void copyText(props.traceId).then(() => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1200);
          })
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </span>
  );
}

/**
 * The spans named by `?highlight=` (comma-separated span ids, from a TraceQL result), as indices
 * into the view; ids that are not span ids of this trace are ignored.
 */
function highlightedSpans(view: TraceView, param: string): ReadonlySet<number> {
  const out = new Set<number>();
  for (const id of param.split(',')) {
    if (!/^[0-9a-fA-F]{16}$/.test(id)) continue;
    const index = view.indexOf(id.toLowerCase());
    if (index >= 0) out.add(index);
  }
  return out;
}

/** Swallowed failures, one group per failing operation and the caller that hid it. */
interface SwallowedGroup {
  /** The first span of the group: where the failure stopped travelling up. */
  readonly first: TraceError;
  readonly count: number;
}

/**
 * Groups the swallowed errors by where each failure stopped: the highest error span of a chain
 * whose parent is not in error (the caller that swallowed it), by operation and caller.
 */
function swallowedGroups(view: TraceView): SwallowedGroup[] {
  const groups = new Map<string, { first: TraceError; count: number }>();
  for (const e of view.errors) {
    if (e.outcome !== 'swallowed') continue;
    const p = view.parent[e.index];
    if (p >= 0 && view.error[p]) continue;
    const span = view.spans[e.index];
    const key = `${span.serviceName}\u0000${span.name}\u0000${p >= 0 ? view.spans[p].spanId : ''}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { first: e, count: 1 });
  }
  return [...groups.values()];
}

function SwallowedBanner(props: { view: TraceView; group: SwallowedGroup; onOpen: () => void }) {
  const { view } = props;
  const error = props.group.first;
  const span = view.spans[error.index];
  const p = view.parent[error.index];
  const caller = p >= 0 ? view.spans[p] : undefined;
  const root = error.chain.length > 2 ? view.spans[error.chain[error.chain.length - 1]] : undefined;
  const times = props.group.count > 1 ? ` ${props.group.count} times` : '';
  return (
    <div class="banner error" role="alert" data-testid="swallowed-error">
      <span class="icon">!</span>
      <div>
        <strong>Swallowed error:</strong> <strong>{span.serviceName}</strong> · <span>{span.name}</span> failed
        {times}
        {error.reason ? (
          <>
            {' '}
            (“<span>{error.reason}</span>”)
          </>
        ) : null}
        {caller ? (
          <>
            , but its caller <strong>{caller.serviceName}</strong> · <span>{caller.name}</span> carried on
          </>
        ) : null}
        {root ? (
          <>
            {' '}
            and <strong>{root.serviceName}</strong> · <span>{root.name}</span> reported success
          </>
        ) : null}
        .{' '}
        <a
          href={`?span=${span.spanId}`}
          data-span-link={span.spanId}
          onClick={(e) => {
            e.preventDefault();
            props.onOpen();
          }}
        >
          Show the failing span →
        </a>
      </div>
    </div>
  );
}
