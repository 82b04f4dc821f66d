import { Graph, layout } from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import type { DependencyJson } from '../api.ts';
import { serviceColor } from '../colors.ts';
import { formatCount } from '../format.ts';

const NODE_W = 170;
const NODE_H = 44;

interface Laid {
  width: number;
  height: number;
  nodes: { service: string; x: number; y: number }[];
  edges: { dep: DependencyJson; points: { x: number; y: number }[]; labelX: number; labelY: number }[];
}

function layoutMap(services: readonly string[], deps: readonly DependencyJson[]): Laid {
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 110, marginx: 20, marginy: 20 });
  for (const s of services) g.setNode(s, { width: NODE_W, height: NODE_H });
  deps.forEach((d, k) => {
    if (!g.hasNode(d.parent)) g.setNode(d.parent, { width: NODE_W, height: NODE_H });
    if (!g.hasNode(d.child)) g.setNode(d.child, { width: NODE_W, height: NODE_H });
    g.setEdge(d.parent, d.child, { width: 90, height: 30, labelpos: 'c', k }, `e${k}`);
  });
  layout(g);
  const out: Laid = { width: g.graph().width ?? 0, height: g.graph().height ?? 0, nodes: [], edges: [] };
  for (const v of g.nodes()) {
    const n = g.node(v);
    out.nodes.push({ service: v, x: n.x, y: n.y });
  }
  for (const e of g.edges()) {
    const data = g.edge(e) as { points?: { x: number; y: number }[]; x?: number; y?: number; k: number };
    const dep = deps[data.k];
    out.edges.push({ dep, points: data.points ?? [], labelX: data.x ?? 0, labelY: data.y ?? 0 });
  }
  return out;
}

function curve(points: readonly { x: number; y: number }[]): string {
  if (points.length === 0) return '';
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const mx = (points[i].x + points[i + 1].x) / 2;
    const my = (points[i].y + points[i + 1].y) / 2;
    d += ` Q${points[i].x},${points[i].y} ${mx},${my}`;
  }
  const last = points[points.length - 1];
  return `${d} L${last.x},${last.y}`;
}

/**
 * The service dependency map: services as nodes, calls as edges labelled with the call count and
 * the error count (red when any call failed), laid out left to right by dagre. Clicking a
 * service calls `onSelect`.
 */
export function DependencyMap(props: {
  services: readonly string[];
  dependencies: readonly DependencyJson[];
  selected: string;
  onSelect: (service: string) => void;
}) {
  const laid = useMemo(() => layoutMap(props.services, props.dependencies), [props.services, props.dependencies]);
  if (laid.nodes.length === 0) {
    return (
      <div class="empty">
        <h3>No services in this window</h3>
        Send some spans, or choose a longer time range.
      </div>
    );
  }
  return (
    <div class="graph-wrap" style={{ padding: '8px' }}>
      <svg
        width={laid.width}
        height={laid.height}
        viewBox={`0 0 ${laid.width} ${laid.height}`}
        style={{ display: 'block', margin: '0 auto' }}
        role="img"
        aria-label="Service dependency map"
        data-testid="dependency-map"
      >
        <defs>
          <marker id="dep-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" fill="var(--text-faint)" />
          </marker>
          <marker
            id="dep-arrow-err"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="var(--error)" />
          </marker>
        </defs>
        {laid.edges.map((e) => {
          const err = e.dep.errorCount > 0;
          return (
            <g key={`${e.dep.parent}->${e.dep.child}`} data-edge={`${e.dep.parent}->${e.dep.child}`}>
              <path
                class={`edge${err ? ' error' : ''}`}
                d={curve(e.points)}
                marker-end={err ? 'url(#dep-arrow-err)' : 'url(#dep-arrow)'}
                style={{ strokeWidth: Math.min(4, 1.2 + Math.log10(e.dep.callCount + 1)) }}
              />
              <text class="edge-label" x={e.labelX} y={e.labelY - 3} text-anchor="middle">
                {formatCount(e.dep.callCount)} call{e.dep.callCount === 1 ? '' : 's'}
              </text>
              {err && (
                <text class="edge-label error" x={e.labelX} y={e.labelY + 10} text-anchor="middle">
                  {formatCount(e.dep.errorCount)} error{e.dep.errorCount === 1 ? '' : 's'}
                </text>
              )}
            </g>
          );
        })}
        {laid.nodes.map((n) => {
          const name = n.service.length > 22 ? `${n.service.slice(0, 21)}…` : n.service;
          const selected = n.service === props.selected;
          return (
            // biome-ignore lint/a11y/noStaticElementInteractions: the service list offers the same by keyboard
            <g
              key={n.service}
              class={`node${selected ? ' selected' : ''}`}
              data-service={n.service}
              transform={`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`}
              onClick={() => props.onSelect(n.service)}
            >
              <title>{n.service}</title>
              <rect
                width={NODE_W}
                height={NODE_H}
                rx={NODE_H / 2}
                stroke={selected ? 'var(--accent)' : serviceColor(n.service)}
                style={selected ? { fill: 'var(--accent-soft)' } : undefined}
              />
              <circle cx={20} cy={NODE_H / 2} r={6} fill={serviceColor(n.service)} />
              <text x={34} y={NODE_H / 2 + 4} style={{ fontWeight: 600, fontSize: '12px' }}>
                {name}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
