import { type Span, SpanKind, stringAttribute } from '../model/span.ts';
import { type DurationNanos, durationNanos } from '../model/units.ts';
import type { Trace } from './build-trace.ts';

/**
 * Service dependencies: who calls whom, how often, how often it failed, how long it took.
 * ```
 * frontend: GET /        ─┐
 *   frontend: GET /cart   │ client span, same service: no edge
 *     cart: GET /cart    ─┘ server span of another service: edge frontend → cart
 *       cart: SELECT      ─ client span with db.system=redis and no instrumented callee:
 *                           edge cart → redis (a "virtual" service, as Tempo's service graph)
 * ```
 */

/** Calls from one service to another. */
export interface DependencyEdge {
  readonly caller: string;
  readonly callee: string;
  readonly callCount: number;
  readonly errorCount: number;
  /** Summed duration of the callee spans (of the client spans for a virtual callee). */
  readonly durationNanos: DurationNanos;
}

/** Edges sorted by caller, then callee. Plain data: merge with `mergeDependencies`. */
export interface Dependencies {
  readonly edges: readonly DependencyEdge[];
}

const PEER_ATTRIBUTES = ['peer.service', 'db.system', 'messaging.system', 'rpc.service', 'server.address'];

function virtualCallee(span: Span): string | undefined {
  for (const key of PEER_ATTRIBUTES) {
    const value = stringAttribute(span.attributes, key);
    if (value) return value;
  }
  return undefined;
}

/**
 * The service edges of one trace: a span whose parent belongs to another service is one call
 * from the parent's service to its own; a CLIENT or PRODUCER span with no child in another
 * service is one call to the service named by `peer.service` (else `db.system`,
 * `messaging.system`, `rpc.service`, `server.address`), when present. Calls within a service
 * are not edges. `isError` (from `analyzeErrors`) counts failed calls; without it none are.
 */
export function traceDependencies(trace: Trace, isError?: Uint8Array): Dependencies {
  const { spans, parent, serviceOf, services, start, end, childStart, children } = trace;
  const edges = new Map<string, { caller: string; callee: string; calls: number; errors: number; nanos: number }>();
  const add = (caller: string, callee: string, i: number): void => {
    const key = `${caller}\u0000${callee}`;
    let edge = edges.get(key);
    if (edge === undefined) {
      edge = { caller, callee, calls: 0, errors: 0, nanos: 0 };
      edges.set(key, edge);
    }
    edge.calls++;
    if (isError?.[i]) edge.errors++;
    edge.nanos += end[i] - start[i];
  };
  for (let i = 0; i < trace.size; i++) {
    const p = parent[i];
    const s = serviceOf[i];
    if (p >= 0 && serviceOf[p] !== s) add(services[serviceOf[p]], services[s], i);
    const kind = spans[i].kind;
    if (kind !== SpanKind.CLIENT && kind !== SpanKind.PRODUCER) continue;
    let callsOut = false;
    for (let k = childStart[i]; k < childStart[i + 1] && !callsOut; k++) callsOut = serviceOf[children[k]] !== s;
    if (callsOut) continue;
    const callee = virtualCallee(spans[i]);
    if (callee !== undefined && callee !== services[s]) add(services[s], callee, i);
  }
  return {
    edges: sortEdges(
      [...edges.values()].map((e) => ({
        caller: e.caller,
        callee: e.callee,
        callCount: e.calls,
        errorCount: e.errors,
        durationNanos: durationNanos(BigInt(e.nanos)),
      })),
    ),
  };
}

/** Adds up the edges of several dependency sets (of several traces), exactly. */
export function mergeDependencies(sets: readonly Dependencies[]): Dependencies {
  const merged = new Map<string, DependencyEdge>();
  for (const set of sets) {
    for (const e of set.edges) {
      const key = `${e.caller}\u0000${e.callee}`;
      const prev = merged.get(key);
      merged.set(
        key,
        prev === undefined
          ? e
          : {
              caller: e.caller,
              callee: e.callee,
              callCount: prev.callCount + e.callCount,
              errorCount: prev.errorCount + e.errorCount,
              durationNanos: durationNanos(prev.durationNanos + e.durationNanos),
            },
      );
    }
  }
  return { edges: sortEdges([...merged.values()]) };
}

function sortEdges(edges: DependencyEdge[]): DependencyEdge[] {
  return edges.sort((a, b) =>
    a.caller < b.caller ? -1 : a.caller > b.caller ? 1 : a.callee < b.callee ? -1 : a.callee > b.callee ? 1 : 0,
  );
}
