import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { formatNanos, niceTicks } from '../format.ts';
import { type TraceView, visibleRows } from '../trace-view.ts';

/** Height of one waterfall row in CSS pixels; every row has the same height so rows can be virtualised. */
export const ROW_HEIGHT = 26;
const OVERSCAN = 12;
const NAME_COL = 380;
const INDENT = 14;

/** Props of `Waterfall`. */
export interface WaterfallProps {
  readonly view: TraceView;
  /** Colour of each service, by index in `view.services`. */
  readonly colors: readonly string[];
  readonly collapsed: ReadonlySet<number>;
  readonly onToggle: (index: number) => void;
  readonly selected: number;
  readonly onSelect: (index: number) => void;
  /** Find-in-trace matches; when non-empty other rows are dimmed. */
  readonly matches: ReadonlySet<number>;
  /** Spans a search query matched (the trace was opened from a TraceQL result): marked, not dimmed. */
  readonly highlighted?: ReadonlySet<number>;
  /** Row to scroll into view (changes when the selection or find cursor moves). */
  readonly reveal: { index: number; seq: number } | null;
  readonly showCriticalPath: boolean;
}

/**
 * The trace waterfall: a collapsible span tree on the left and the spans' bars on a shared time
 * axis on the right, with the critical path drawn over the bars and error spans marked.
 *
 * Only the rows in view (plus a few above and below) are in the DOM, so opening a
 * 100,000-span trace costs the same as opening a small one. The list is keyboard-walkable:
 * ↑/↓ move, ←/→ collapse/expand (or go to parent/child), Enter opens the span, Home/End jump.
 */
export function Waterfall(props: WaterfallProps) {
  const { view, colors, collapsed, selected, matches } = props;
  const scrollRef = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [cursor, setCursor] = useState(Math.max(selected, 0));
  const rows = useMemo(() => visibleRows(view, collapsed), [view, collapsed]);
  const rowOf = useMemo(() => {
    const m = new Int32Array(view.spans.length).fill(-1);
    for (let r = 0; r < rows.length; r++) m[rows[r]] = r;
    return m;
  }, [view, rows]);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const scrollToRow = (row: number) => {
    const el = scrollRef.current;
    if (!el || row < 0) return;
    const top = row * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
    setScrollTop(el.scrollTop);
  };

  const reveal = props.reveal;
  // Each reveal is done once its row is shown: rows changing later (a subtree collapsed or
  // expanded by the keyboard) must not pull the cursor back to it.
  const revealedSeq = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (!reveal || revealedSeq.current === reveal.seq) return;
    setCursor(reveal.index);
    const row = rowOf[reveal.index];
    if (row >= 0) revealedSeq.current = reveal.seq;
    const el = scrollRef.current;
    if (el && row >= 0) {
      const top = row * ROW_HEIGHT;
      if (top < el.scrollTop || top + ROW_HEIGHT > el.scrollTop + el.clientHeight) {
        el.scrollTop = Math.max(0, top - el.clientHeight / 3);
        setScrollTop(el.scrollTop);
      }
    }
  }, [reveal?.seq, rowOf]);

  const moveCursor = (index: number) => {
    setCursor(index);
    scrollToRow(rowOf[index]);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const cur = rowOf[cursor] >= 0 ? cursor : rows[0];
    const row = rowOf[cur];
    const page = Math.max(1, Math.floor(height / ROW_HEIGHT) - 1);
    let handled = true;
    switch (e.key) {
      case 'ArrowDown':
      case 'j':
        if (row + 1 < rows.length) moveCursor(rows[row + 1]);
        break;
      case 'ArrowUp':
      case 'k':
        if (row > 0) moveCursor(rows[row - 1]);
        break;
      case 'PageDown':
        moveCursor(rows[Math.min(rows.length - 1, row + page)]);
        break;
      case 'PageUp':
        moveCursor(rows[Math.max(0, row - page)]);
        break;
      case 'Home':
        moveCursor(rows[0]);
        break;
      case 'End':
        moveCursor(rows[rows.length - 1]);
        break;
      case 'ArrowLeft':
      case 'h':
        if (view.childCount[cur] > 0 && !collapsed.has(cur)) props.onToggle(cur);
        else if (view.parent[cur] >= 0) moveCursor(view.parent[cur]);
        break;
      case 'ArrowRight':
      case 'l':
        if (view.childCount[cur] > 0 && collapsed.has(cur)) props.onToggle(cur);
        else if (view.childCount[cur] > 0) moveCursor(cur + 1);
        break;
      case 'Enter':
      case ' ':
        props.onSelect(cur);
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  };

  const total = view.traceDuration > 0 ? view.traceDuration : 1;
  const ticks = useMemo(() => niceTicks(total, 5).filter((t) => t < total * 0.9 || t === 0), [total]);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const items = [];
  for (let r = first; r < last; r++) {
    const i = rows[r];
    items.push(
      <Row
        key={i}
        view={view}
        index={i}
        top={r * ROW_HEIGHT}
        total={total}
        color={colors[view.serviceIndex[i]]}
        collapsed={collapsed.has(i)}
        selected={i === selected}
        cursor={i === cursor}
        match={matches.size > 0 ? (matches.has(i) ? 1 : -1) : 0}
        highlighted={props.highlighted?.has(i) ?? false}
        showCriticalPath={props.showCriticalPath}
        onToggle={props.onToggle}
        onSelect={(index) => {
          setCursor(index);
          props.onSelect(index);
        }}
      />,
    );
  }

  return (
    <div class="wf" style={{ '--name-col': `${NAME_COL}px` }}>
      <div class="wf-head">
        <div class="name-h">Service &amp; operation</div>
        <div class="wf-axis" aria-hidden="true">
          {ticks.map((t) => (
            <div key={t} class="tick" style={{ left: `${(t / total) * 100}%` }}>
              {formatNanos(t)}
            </div>
          ))}
          <div class="tick" style={{ right: '0', borderLeft: '0', paddingRight: '6px' }}>
            {formatNanos(total)}
          </div>
        </div>
      </div>
      <div
        class="wf-scroll"
        ref={scrollRef}
        tabIndex={0}
        role="tree"
        aria-label="Trace waterfall"
        aria-activedescendant={`row-${cursor}`}
        data-testid="waterfall"
        onKeyDown={onKeyDown}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <div style={{ height: `${rows.length * ROW_HEIGHT}px`, position: 'relative' }}>
          <div class="wf-grid" aria-hidden="true">
            {ticks.map((t) => (
              <div key={t} style={{ left: `${(t / total) * 100}%` }} />
            ))}
          </div>
          {items}
        </div>
      </div>
    </div>
  );
}

interface RowProps {
  readonly view: TraceView;
  readonly index: number;
  readonly top: number;
  readonly total: number;
  readonly color: string;
  readonly collapsed: boolean;
  readonly selected: boolean;
  readonly cursor: boolean;
  /** 1 match, -1 not a match while finding, 0 not finding. */
  readonly match: number;
  readonly highlighted: boolean;
  readonly showCriticalPath: boolean;
  readonly onToggle: (index: number) => void;
  readonly onSelect: (index: number) => void;
}

function Row(props: RowProps) {
  const { view, index: i, total } = props;
  const span = view.spans[i];
  const hasChildren = view.childCount[i] > 0;
  const left = (view.start[i] / total) * 100;
  const width = (view.duration[i] / total) * 100;
  const error = view.error[i] === 1;
  const cp = props.showCriticalPath ? view.criticalPath.get(i) : undefined;
  const labelPlace = left + width < 85 ? 'right' : left > 12 ? 'left' : 'inside';
  const classes = ['wf-row'];
  if (props.selected) classes.push('selected');
  if (props.cursor) classes.push('cursor');
  if (props.match === 1) classes.push('match');
  if (props.match === -1) classes.push('dim');
  if (props.highlighted) classes.push('query-match');
  if (error) classes.push('error');
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the tree container handles the keyboard for all rows
    <div
      id={`row-${i}`}
      tabIndex={-1}
      class={classes.join(' ')}
      style={{ top: `${props.top}px`, height: `${ROW_HEIGHT}px` }}
      role="treeitem"
      aria-level={view.depth[i] + 1}
      aria-expanded={hasChildren ? !props.collapsed : undefined}
      aria-selected={props.selected}
      data-span-id={span.spanId}
      data-critical={cp ? 'true' : undefined}
      data-error={error ? 'true' : undefined}
      data-query-match={props.highlighted ? 'true' : undefined}
      onClick={() => props.onSelect(i)}
    >
      <div class="wf-name">
        <span class="wf-indent" style={{ width: `${view.depth[i] * INDENT + 4}px` }} />
        <button
          type="button"
          tabIndex={-1}
          class={`wf-toggle${hasChildren ? '' : ' leaf'}`}
          aria-label={props.collapsed ? 'Expand' : 'Collapse'}
          onClick={(e) => {
            e.stopPropagation();
            if (hasChildren) props.onToggle(i);
          }}
        >
          {props.collapsed ? '▶' : '▼'}
        </button>
        <span class="wf-svc-bar" style={{ background: props.color }} />
        {props.highlighted && (
          <span class="wf-query-mark" title="Matched by the search query">
            ◆
          </span>
        )}
        {error && (
          <span class="wf-err-icon" title="Error">
            !
          </span>
        )}
        <span class="wf-name-text" title={`${span.serviceName}: ${span.name}`}>
          <span class="svc">{span.serviceName}</span>
          <span class="op">{span.name}</span>
        </span>
        {props.collapsed && hasChildren && <span class="wf-count">+{view.subtreeEnd[i] - i - 1}</span>}
      </div>
      <div class="wf-bar-cell">
        <div
          class={`wf-bar${error ? ' error' : ''}`}
          style={{ left: `${left}%`, width: `${width}%`, background: props.color }}
        />
        {cp?.map(([s, e]) => (
          <div
            key={s}
            class="wf-cp"
            style={{ left: `${(s / total) * 100}%`, width: `max(2px, ${((e - s) / total) * 100}%)` }}
          />
        ))}
        {span.events.length > 0 &&
          span.events.length <= 20 &&
          span.events.map((ev, k) => {
            const off = Number(ev.timeUnixNano - view.traceStart);
            return (
              <div
                key={k}
                class={`wf-event${ev.name === 'exception' ? ' exc' : ''}`}
                style={{ left: `${(off / total) * 100}%` }}
              />
            );
          })}
        <span
          class={`wf-label${labelPlace === 'inside' ? ' inside' : ''}`}
          style={
            labelPlace === 'right'
              ? { left: `calc(${left + width}% + 6px)` }
              : labelPlace === 'left'
                ? { right: `calc(${100 - left}% + 6px)` }
                : { right: `calc(${100 - left - width}% + 6px)` }
          }
        >
          {formatNanos(view.duration[i])}
        </span>
      </div>
    </div>
  );
}
