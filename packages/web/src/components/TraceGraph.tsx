import { Graph, layout } from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import { formatNanos } from '../format.ts';
import type { TraceView } from '../trace-view.ts';

/** Above this many spans the graph is not drawn: a layout of thousands of nodes is unreadable. */
export const GRAPH_SPAN_LIMIT = 400;

const NODE_W = 190;
const NODE_H = 42;

interface Laid {
  width: number;
  height: number;
  clusters: { service: string; x: number; y: number; w: number; h: number }[];
  nodes: { index: number; x: number; y: number }[];
  edges: { from: number; to: number; points: { x: number; y: number }[] }[];
}

function layoutTrace(view: TraceView): Laid {
  const g = new Graph({ compound: true, multigraph: false });
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 44, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  view.services.forEach((s, k) => {
    g.setNode(`svc${k}`, { label: s, paddingTop: 26, paddingLeft: 12, paddingRight: 12, paddingBottom: 12 });
  });
  for (let i = 0; i < view.spans.length; i++) {
    g.setNode(`s${i}`, { width: NODE_W, height: NODE_H });
    g.setParent(`s${i}`, `svc${view.serviceIndex[i]}`);
    if (view.parent[i] >= 0) g.setEdge(`s${view.parent[i]}`, `s${i}`);
  }
  layout(g);
  const out: Laid = { width: 0, height: 0, clusters: [], nodes: [], edges: [] };
  view.services.forEach((service, k) => {
    const n = g.node(`svc${k}`);
    if (n?.width) out.clusters.push({ service, x: n.x - n.width / 2, y: n.y - n.height / 2, w: n.width, h: n.height });
  });
  for (let i = 0; i < view.spans.length; i++) {
    const n = g.node(`s${i}`);
    out.nodes.push({ index: i, x: n.x, y: n.y });
  }
  for (const e of g.edges()) {
    const data = g.edge(e);
    out.edges.push({ from: Number(e.v.slice(1)), to: Number(e.w.slice(1)), points: data.points ?? [] });
  }
  const graph = g.graph();
  out.width = graph.width ?? 0;
  out.height = graph.height ?? 0;
  return out;
}

function path(points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/**
 * The trace as a graph: one group per service, one node per span (name and duration), an edge
 * from each parent to each child; error spans outlined in red. Laid out by dagre.
 */
export function TraceGraph(props: {
  view: TraceView;
  colors: readonly string[];
  selected: number;
  onSelect: (index: number) => void;
}) {
  const { view } = props;
  const laid = useMemo(() => (view.spans.length <= GRAPH_SPAN_LIMIT ? layoutTrace(view) : null), [view]);
  if (!laid) {
    return (
      <div class="empty">
        <h3>This trace is too large to draw as a graph</h3>
        It has {view.spans.length.toLocaleString('en-US')} spans; the graph view draws up to {GRAPH_SPAN_LIMIT}. Use the
        timeline and find-in-trace instead.
      </div>
    );
  }
  return (
    <div class="graph-wrap" data-testid="trace-graph">
      <svg width={laid.width} height={laid.height} role="img" aria-label="Trace graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" fill="var(--text-faint)" />
          </marker>
        </defs>
        {laid.clusters.map((c) => (
          <g class="cluster" key={c.service}>
            <rect x={c.x} y={c.y} width={c.w} height={c.h} rx={8} />
            <text x={c.x + 12} y={c.y + 18}>
              {c.service}
            </text>
          </g>
        ))}
        {laid.edges.map((e) => (
          <path
            key={`${e.from}-${e.to}`}
            class={`edge${view.error[e.to] ? ' error' : ''}`}
            d={path(e.points)}
            marker-end="url(#arrow)"
          />
        ))}
        {laid.nodes.map((n) => {
          const i = n.index;
          const span = view.spans[i];
          const name = span.name.length > 26 ? `${span.name.slice(0, 25)}…` : span.name;
          return (
            // biome-ignore lint/a11y/noStaticElementInteractions: the waterfall offers the same by keyboard
            <g
              key={i}
              class={`node${view.error[i] ? ' error' : ''}${i === props.selected ? ' selected' : ''}`}
              transform={`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`}
              onClick={() => props.onSelect(i)}
            >
              <title>{`${span.serviceName}: ${span.name}`}</title>
              <rect width={NODE_W} height={NODE_H} rx={6} stroke={props.colors[view.serviceIndex[i]]} />
              <rect width={4} height={NODE_H} rx={2} fill={props.colors[view.serviceIndex[i]]} />
              <text x={12} y={17}>
                {name}
              </text>
              <text x={12} y={33} class="sub">
                {formatNanos(view.duration[i])} · +{formatNanos(view.start[i])}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
