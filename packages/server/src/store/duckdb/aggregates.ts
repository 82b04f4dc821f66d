/**
 * Aggregates over the DuckDB store's spans: the service and operation lists (from the small
 * `operations` table, which retention keeps to pairs that still have a span: retention.ts),
 * service dependencies and per-operation statistics.
 */
import { UBIGINT, VARCHAR } from '@duckdb/node-api';
import type { DependencyEdge, OperationStats, TimeRange } from '../../query/span-store.ts';
import type { ReadConnection } from './read-connection.ts';
import { addRange, Params } from './sql.ts';

/** Every service that wrote a span, sorted. */
export async function listServices(reads: ReadConnection): Promise<string[]> {
  const [services] = await reads.columns('SELECT DISTINCT service FROM operations ORDER BY service');
  return services as string[];
}

/** The span names of `service`, sorted. */
export async function listOperations(reads: ReadConnection, service: string): Promise<string[]> {
  const [names] = await reads.columns(
    'SELECT DISTINCT name FROM operations WHERE service = $1 ORDER BY name',
    [service],
    [VARCHAR],
  );
  return names as string[];
}

/**
 * Calls between services by children started in `range`. Most children have their parent's
 * service filled at ingest (`parent_service`, when the parent was in the same write batch); the
 * others are joined to their parent here.
 */
export async function dependencies(reads: ReadConnection, range: TimeRange): Promise<DependencyEdge[]> {
  const p = new Params();
  const where: string[] = [];
  addRange(range, 'c.start_ns', where, p);
  const window = where.length > 0 ? `AND ${where.join(' AND ')}` : '';
  // Children whose parent was not in the same write batch: joined here, reading only the time
  // range of their traces.
  const [lo, hi] = await reads.columns(
    `SELECT min(t.start_ns), max(t.last_start_ns) FROM trace_parts t SEMI JOIN (
         SELECT trace_id FROM spans c WHERE c.parent_service IS NULL ${window}
       ) o ON t.trace_id = o.trace_id`,
    p.values,
    p.types,
  );
  const parts = [
    `SELECT c.parent_service AS parent, c.service AS child, count(*) AS calls,
         count(*) FILTER (WHERE c.status_code = 2) AS errors
       FROM spans c WHERE c.parent_service <> '' AND c.parent_service <> c.service ${window} GROUP BY ALL`,
  ];
  if (lo[0] !== null) {
    parts.push(`SELECT p.service AS parent, c.service AS child, count(*) AS calls,
          count(*) FILTER (WHERE c.status_code = 2) AS errors
        FROM spans c JOIN spans p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
        WHERE c.parent_service IS NULL AND p.service <> c.service ${window}
          AND p.start_ns >= ${p.add(lo[0] as bigint, UBIGINT)} AND p.start_ns <= ${p.add(hi[0] as bigint, UBIGINT)}
        GROUP BY ALL`);
  }
  const rows = await reads.rows(
    `SELECT parent, child, sum(calls) AS calls, sum(errors) AS errors FROM (${parts.join(' UNION ALL ')})
       GROUP BY ALL ORDER BY parent, child`,
    p.values,
    p.types,
  );
  return rows.map((r) => ({
    parent: r.parent as string,
    child: r.child as string,
    callCount: Number(r.calls),
    errorCount: Number(r.errors),
  }));
}

/** Span count, errors and duration percentiles of each operation of `service` in `range`. */
export async function operationStats(
  reads: ReadConnection,
  service: string,
  range: TimeRange,
): Promise<OperationStats[]> {
  const p = new Params();
  const where = [`service = ${p.add(service, VARCHAR)}`];
  addRange(range, 'start_ns', where, p);
  const rows = await reads.rows(
    `SELECT name, count(*) AS n, count(*) FILTER (WHERE status_code = 2) AS errors,
         quantile_disc(duration_ns, [0.5, 0.95, 0.99]) AS q
       FROM spans WHERE ${where.join(' AND ')} GROUP BY name ORDER BY name`,
    p.values,
    p.types,
  );
  return rows.map((r) => {
    const q = (r.q as { items: bigint[] }).items;
    return {
      operation: r.name as string,
      spanCount: Number(r.n),
      errorCount: Number(r.errors),
      p50Nanos: BigInt(q[0]),
      p95Nanos: BigInt(q[1]),
      p99Nanos: BigInt(q[2]),
    };
  });
}
