import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type InstrumentationScope,
  type Resource,
  type Span,
  type SpanEvent,
  type SpanLink,
  serviceNameOf,
  unixNanos,
} from '@ariadne/core';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBType,
  type DuckDBValue,
  LIST,
  listValue,
  UBIGINT,
  UHUGEINT,
  VARCHAR,
} from '@duckdb/node-api';
import type {
  DependencyEdge,
  OperationStats,
  SpanStore,
  TimeRange,
  TraceQuery,
  TraceSummary,
} from '../query/span-store.ts';
import {
  ATTR_SEP,
  attributeFilterCandidates,
  attributesFromJsonText,
  attributesToJsonText,
  decodeAttribute,
  encodeAttributeList,
} from './attribute-codec.ts';

/** Options for the embedded DuckDB store. */
export interface DuckDbStoreOptions {
  /** Directory holding the database file; created if missing. */
  readonly dataDir: string;
  /** DuckDB memory limit, e.g. `1GB`. Defaults to DuckDB's own (80 % of RAM). */
  readonly memoryLimit?: string;
  /** Worker threads for DuckDB; defaults to the number of cores. */
  readonly threads?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spans (
  trace_id UHUGEINT NOT NULL,
  span_id UBIGINT NOT NULL,
  parent_span_id UBIGINT NOT NULL,
  start_ns UBIGINT NOT NULL,
  duration_ns UBIGINT NOT NULL,
  service VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  kind UTINYINT NOT NULL,
  status_code UTINYINT NOT NULL,
  status_message VARCHAR NOT NULL,
  trace_state VARCHAR NOT NULL,
  flags UINTEGER NOT NULL,
  attrs VARCHAR[] NOT NULL,
  dropped_attributes UINTEGER NOT NULL,
  events VARCHAR NOT NULL,
  dropped_events UINTEGER NOT NULL,
  links VARCHAR NOT NULL,
  dropped_links UINTEGER NOT NULL,
  resource_id UBIGINT NOT NULL,
  scope_id UBIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS resources (
  id UBIGINT PRIMARY KEY,
  service VARCHAR NOT NULL,
  attrs VARCHAR[] NOT NULL,
  body VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS scopes (
  id UBIGINT PRIMARY KEY,
  body VARCHAR NOT NULL
);
`;

// The staging table holds one batch as plain scalars (fast to append); one INSERT ... SELECT
// then splits the attribute lists inside DuckDB. It is a temp table: never written to the WAL.
const STAGE = `
CREATE TEMP TABLE IF NOT EXISTS stage (
  trace_id UHUGEINT, span_id UBIGINT, parent_span_id UBIGINT, start_ns UBIGINT, duration_ns UBIGINT,
  service VARCHAR, name VARCHAR, kind UTINYINT, status_code UTINYINT, status_message VARCHAR,
  trace_state VARCHAR, flags UINTEGER, attrs VARCHAR, dropped_attributes UINTEGER, events VARCHAR,
  dropped_events UINTEGER, links VARCHAR, dropped_links UINTEGER, resource_id UBIGINT, scope_id UBIGINT
)`;

const SPAN_COLUMNS = `trace_id, span_id, parent_span_id, start_ns, duration_ns, service, name, kind, status_code,
  status_message, trace_state, flags, attrs, dropped_attributes, events, dropped_events, links, dropped_links,
  resource_id, scope_id`;

function hexToBigInt(hex: string): bigint {
  return hex.length === 0 ? 0n : BigInt(`0x${hex}`);
}

function bigIntToHex(value: bigint, length: number): string {
  return value === 0n && length === 16 ? '' : value.toString(16).padStart(length, '0');
}

function hashId(text: string): bigint {
  return createHash('sha256').update(text).digest().readBigUInt64BE(0);
}

interface StoredResource {
  readonly resource: Resource;
  readonly serviceName: string;
}

/**
 * The embedded default store: one DuckDB database file in the data directory.
 *
 * Spans are one row each, attributes as a list of `key RS type value` strings (see
 * attribute-codec.ts). Resources and scopes repeat across spans, so they are stored once in their
 * own tables and referenced by a content hash. Writes are serialised on one connection; reads use
 * another, so queries see only committed batches.
 */
export class DuckDbSpanStore implements SpanStore {
  private readonly resourceCache = new Map<bigint, StoredResource>();
  private readonly scopeCache = new Map<bigint, InstrumentationScope>();
  private readonly knownResourceIds = new Set<bigint>();
  private readonly knownScopeIds = new Set<bigint>();
  private closed = false;
  private writeChain: Promise<unknown> = Promise.resolve();
  private readChain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  /** Opens (or creates) the database in `options.dataDir`. */
  static async open(options: DuckDbStoreOptions): Promise<DuckDbSpanStore> {
    mkdirSync(options.dataDir, { recursive: true });
    const config: Record<string, string> = {};
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (options.threads) config.threads = String(options.threads);
    const instance = await DuckDBInstance.create(join(options.dataDir, 'ariadne.duckdb'), config);
    const writer = await instance.connect();
    await writer.run(SCHEMA);
    await writer.run(STAGE);
    const reader = await instance.connect();
    return new DuckDbSpanStore(instance, writer, reader);
  }

  async writeSpans(spans: readonly Span[]): Promise<void> {
    if (spans.length === 0) return;
    const run = this.writeChain.then(() => this.writeBatch(spans));
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  private async writeBatch(spans: readonly Span[]): Promise<void> {
    this.assertOpen();
    const newResources = new Map<bigint, Resource>();
    const newScopes = new Map<bigint, InstrumentationScope>();
    const resourceIds = new Map<Resource, bigint>();
    const scopeIds = new Map<InstrumentationScope, bigint>();
    const db = this.writer;
    await db.run('BEGIN TRANSACTION');
    try {
      const appender: DuckDBAppender = await db.createAppender('stage', 'main', 'temp');
      for (const span of spans) {
        let resourceId = resourceIds.get(span.resource);
        if (resourceId === undefined) {
          const body = resourceBody(span.resource);
          resourceId = hashId(body);
          resourceIds.set(span.resource, resourceId);
          if (!this.knownResourceIds.has(resourceId)) newResources.set(resourceId, span.resource);
        }
        let scopeId = scopeIds.get(span.scope);
        if (scopeId === undefined) {
          const body = scopeBody(span.scope);
          scopeId = hashId(body);
          scopeIds.set(span.scope, scopeId);
          if (!this.knownScopeIds.has(scopeId)) newScopes.set(scopeId, span.scope);
        }
        appender.appendUHugeInt(hexToBigInt(span.traceId));
        appender.appendUBigInt(hexToBigInt(span.spanId));
        appender.appendUBigInt(hexToBigInt(span.parentSpanId));
        appender.appendUBigInt(span.startTimeUnixNano);
        appender.appendUBigInt(span.endTimeUnixNano - span.startTimeUnixNano);
        appender.appendVarchar(span.serviceName);
        appender.appendVarchar(span.name);
        appender.appendUTinyInt(span.kind & 0xff);
        appender.appendUTinyInt(span.status.code & 0xff);
        appender.appendVarchar(span.status.message);
        appender.appendVarchar(span.traceState);
        appender.appendUInteger(span.flags >>> 0);
        appender.appendVarchar(encodeAttributeList(span.attributes));
        appender.appendUInteger(span.droppedAttributesCount);
        appender.appendVarchar(span.events.length === 0 ? '' : eventsToText(span.events));
        appender.appendUInteger(span.droppedEventsCount);
        appender.appendVarchar(span.links.length === 0 ? '' : linksToText(span.links));
        appender.appendUInteger(span.droppedLinksCount);
        appender.appendUBigInt(resourceId);
        appender.appendUBigInt(scopeId);
        appender.endRow();
      }
      appender.flushSync();
      appender.closeSync();
      for (const [id, resource] of newResources) {
        await db.run(
          `INSERT INTO resources VALUES ($1, $2, CASE WHEN $3 = '' THEN []::VARCHAR[] ELSE string_split($3, chr(31)) END, $4) ON CONFLICT DO NOTHING`,
          [id, serviceNameOf(resource), encodeAttributeList(resource.attributes), resourceBody(resource)],
          [UBIGINT, VARCHAR, VARCHAR, VARCHAR],
        );
      }
      for (const [id, scope] of newScopes) {
        await db.run(
          'INSERT INTO scopes VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [id, scopeBody(scope)],
          [UBIGINT, VARCHAR],
        );
      }
      await db.run(`INSERT INTO spans SELECT trace_id, span_id, parent_span_id, start_ns, duration_ns, service, name,
        kind, status_code, status_message, trace_state, flags,
        CASE WHEN attrs = '' THEN []::VARCHAR[] ELSE string_split(attrs, chr(31)) END,
        dropped_attributes, events, dropped_events, links, dropped_links, resource_id, scope_id FROM temp.main.stage`);
      await db.run('DELETE FROM temp.main.stage');
      await db.run('COMMIT');
    } catch (error) {
      await db.run('ROLLBACK').catch(() => undefined);
      await db.run('DELETE FROM temp.main.stage').catch(() => undefined);
      throw error;
    }
    for (const id of newResources.keys()) this.knownResourceIds.add(id);
    for (const id of newScopes.keys()) this.knownScopeIds.add(id);
  }

  /** Runs one read at a time on the read connection. */
  private read<T>(fn: (db: DuckDBConnection) => Promise<T>): Promise<T> {
    this.assertOpen();
    const run = this.readChain.then(() => fn(this.reader));
    this.readChain = run.catch(() => undefined);
    return run;
  }

  private async rows(sql: string, values: DuckDBValue[] = [], types: DuckDBType[] = []) {
    return this.read(async (db) => (await db.runAndReadAll(sql, values, types)).getRowObjects());
  }

  async getTrace(traceId: string, range: TimeRange = {}): Promise<Span[]> {
    const where = ['trace_id = $1'];
    const values: DuckDBValue[] = [hexToBigInt(traceId)];
    const types: DuckDBType[] = [UHUGEINT];
    addRange(range, 'start_ns', where, values, types);
    const rows = await this.rows(
      `SELECT ${SPAN_COLUMNS} FROM spans WHERE ${where.join(' AND ')} ORDER BY start_ns, span_id`,
      values,
      types,
    );
    await this.loadResourcesAndScopes(
      rows.map((r) => r.resource_id as bigint),
      rows.map((r) => r.scope_id as bigint),
    );
    return rows.map((r) => this.rowToSpan(r));
  }

  private async loadResourcesAndScopes(resourceIds: bigint[], scopeIds: bigint[]): Promise<void> {
    const missingResources = [...new Set(resourceIds)].filter((id) => !this.resourceCache.has(id));
    if (missingResources.length > 0) {
      const rows = await this.rows(
        'SELECT id, body FROM resources WHERE list_contains($1, id)',
        [listValue(missingResources)],
        [LIST(UBIGINT)],
      );
      for (const row of rows) {
        const resource = resourceFromBody(row.body as string);
        this.resourceCache.set(row.id as bigint, { resource, serviceName: serviceNameOf(resource) });
      }
    }
    const missingScopes = [...new Set(scopeIds)].filter((id) => !this.scopeCache.has(id));
    if (missingScopes.length > 0) {
      const rows = await this.rows(
        'SELECT id, body FROM scopes WHERE list_contains($1, id)',
        [listValue(missingScopes)],
        [LIST(UBIGINT)],
      );
      for (const row of rows) this.scopeCache.set(row.id as bigint, scopeFromBody(row.body as string));
    }
  }

  private rowToSpan(r: Record<string, unknown>): Span {
    const stored = this.resourceCache.get(r.resource_id as bigint);
    const scope = this.scopeCache.get(r.scope_id as bigint);
    if (!stored || !scope) throw new Error('corrupt store: span references a missing resource or scope');
    const start = r.start_ns as bigint;
    const attrs = (r.attrs as { items: string[] }).items;
    return {
      traceId: bigIntToHex(r.trace_id as bigint, 32),
      spanId: bigIntToHex(r.span_id as bigint, 16).padStart(16, '0'),
      parentSpanId: bigIntToHex(r.parent_span_id as bigint, 16),
      traceState: r.trace_state as string,
      flags: Number(r.flags),
      name: r.name as string,
      kind: Number(r.kind),
      startTimeUnixNano: unixNanos(start),
      endTimeUnixNano: unixNanos(start + (r.duration_ns as bigint)),
      attributes: attrs.map(decodeAttribute),
      droppedAttributesCount: Number(r.dropped_attributes),
      events: r.events === '' ? [] : eventsFromText(r.events as string),
      droppedEventsCount: Number(r.dropped_events),
      links: r.links === '' ? [] : linksFromText(r.links as string),
      droppedLinksCount: Number(r.dropped_links),
      status: { code: Number(r.status_code), message: r.status_message as string },
      serviceName: r.service as string,
      resource: stored.resource,
      scope,
    };
  }

  async searchTraces(query: TraceQuery): Promise<TraceSummary[]> {
    const where: string[] = [];
    const values: DuckDBValue[] = [];
    const types: DuckDBType[] = [];
    const param = (value: DuckDBValue, type: DuckDBType) => {
      values.push(value);
      types.push(type);
      return `$${values.length}`;
    };
    if (query.service !== undefined) where.push(`service = ${param(query.service, VARCHAR)}`);
    if (query.operation !== undefined) where.push(`name = ${param(query.operation, VARCHAR)}`);
    if (query.status !== undefined) {
      where.push(`status_code = ${query.status === 'error' ? 2 : query.status === 'ok' ? 1 : 0}`);
    }
    if (query.minDurationNanos !== undefined) {
      where.push(`duration_ns >= ${param(clampU64(query.minDurationNanos), UBIGINT)}`);
    }
    if (query.maxDurationNanos !== undefined) {
      where.push(`duration_ns <= ${param(clampU64(query.maxDurationNanos), UBIGINT)}`);
    }
    addRange(query, 'start_ns', where, values, types);
    for (const filter of query.attributes ?? []) {
      const candidates = param(listValue(attributeFilterCandidates(filter.key, filter.value)), LIST(VARCHAR));
      where.push(
        `(list_has_any(attrs, ${candidates}) OR resource_id IN (SELECT id FROM resources WHERE list_has_any(attrs, ${candidates})))`,
      );
    }
    const limit = Math.max(1, Math.min(Math.floor(query.limit), 10_000));
    const sql = `
      WITH matched AS (
        SELECT trace_id, max(start_ns) AS last_start FROM spans
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        GROUP BY trace_id ORDER BY last_start DESC LIMIT ${limit}
      )
      SELECT s.trace_id,
        min(s.start_ns) AS start_ns,
        max(s.start_ns + s.duration_ns) AS end_ns,
        count(*) AS span_count,
        count(*) FILTER (WHERE s.status_code = 2) AS error_count,
        list(DISTINCT s.service ORDER BY s.service) AS services,
        coalesce(arg_min(s.service, s.start_ns) FILTER (WHERE s.parent_span_id = 0), arg_min(s.service, s.start_ns)) AS root_service,
        coalesce(arg_min(s.name, s.start_ns) FILTER (WHERE s.parent_span_id = 0), arg_min(s.name, s.start_ns)) AS root_name
      FROM spans s SEMI JOIN matched m ON s.trace_id = m.trace_id
      GROUP BY s.trace_id
      ORDER BY start_ns DESC, s.trace_id`;
    const rows = await this.rows(sql, values, types);
    return rows.map((r) => ({
      traceId: bigIntToHex(r.trace_id as bigint, 32),
      rootService: r.root_service as string,
      rootName: r.root_name as string,
      startUnixNano: unixNanos(r.start_ns as bigint),
      durationNanos: BigInt(r.end_ns as bigint) - BigInt(r.start_ns as bigint),
      spanCount: Number(r.span_count),
      errorCount: Number(r.error_count),
      services: (r.services as { items: string[] }).items,
    }));
  }

  async listServices(): Promise<string[]> {
    const rows = await this.rows('SELECT DISTINCT service FROM spans ORDER BY service');
    return rows.map((r) => r.service as string);
  }

  async listOperations(service: string): Promise<string[]> {
    const rows = await this.rows(
      'SELECT DISTINCT name FROM spans WHERE service = $1 ORDER BY name',
      [service],
      [VARCHAR],
    );
    return rows.map((r) => r.name as string);
  }

  async dependencies(range: TimeRange): Promise<DependencyEdge[]> {
    const where: string[] = [];
    const values: DuckDBValue[] = [];
    const types: DuckDBType[] = [];
    addRange(range, 'c.start_ns', where, values, types);
    const rows = await this.rows(
      `SELECT p.service AS parent, c.service AS child, count(*) AS calls,
         count(*) FILTER (WHERE c.status_code = 2) AS errors
       FROM spans c JOIN spans p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
       WHERE c.parent_span_id <> 0 AND p.service <> c.service ${where.length > 0 ? `AND ${where.join(' AND ')}` : ''}
       GROUP BY ALL ORDER BY parent, child`,
      values,
      types,
    );
    return rows.map((r) => ({
      parent: r.parent as string,
      child: r.child as string,
      callCount: Number(r.calls),
      errorCount: Number(r.errors),
    }));
  }

  async operationStats(service: string, range: TimeRange): Promise<OperationStats[]> {
    const where = ['service = $1'];
    const values: DuckDBValue[] = [service];
    const types: DuckDBType[] = [VARCHAR];
    addRange(range, 'start_ns', where, values, types);
    const rows = await this.rows(
      `SELECT name, count(*) AS n, count(*) FILTER (WHERE status_code = 2) AS errors,
         quantile_disc(duration_ns, [0.5, 0.95, 0.99]) AS q
       FROM spans WHERE ${where.join(' AND ')} GROUP BY name ORDER BY name`,
      values,
      types,
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

  /** Bytes of the database file as DuckDB reports them (blocks in use times block size). */
  async databaseBytes(): Promise<number> {
    await this.writeChain;
    const rows = await this.rows('SELECT used_blocks * block_size AS bytes FROM pragma_database_size()');
    return Number(rows[0].bytes);
  }

  /** Writes the WAL into the database file. */
  async checkpoint(): Promise<void> {
    await this.writeChain;
    await this.writer.run('CHECKPOINT');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writeChain;
    await this.readChain;
    this.closed = true;
    this.writer.closeSync();
    this.reader.closeSync();
    this.instance.closeSync();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}

const U64_MAX = 0xffffffffffffffffn;

function clampU64(value: bigint): bigint {
  return value < 0n ? 0n : value > U64_MAX ? U64_MAX : value;
}

function addRange(range: TimeRange, column: string, where: string[], values: DuckDBValue[], types: DuckDBType[]) {
  if (range.startUnixNano !== undefined) {
    values.push(clampU64(range.startUnixNano));
    types.push(UBIGINT);
    where.push(`${column} >= $${values.length}`);
  }
  if (range.endUnixNano !== undefined) {
    values.push(clampU64(range.endUnixNano));
    types.push(UBIGINT);
    where.push(`${column} < $${values.length}`);
  }
}

function resourceBody(resource: Resource): string {
  return JSON.stringify({
    attributes: JSON.parse(attributesToJsonText(resource.attributes)),
    droppedAttributesCount: resource.droppedAttributesCount,
    schemaUrl: resource.schemaUrl,
  });
}

function resourceFromBody(body: string): Resource {
  const o = JSON.parse(body) as { attributes: unknown; droppedAttributesCount: number; schemaUrl: string };
  return {
    attributes: attributesFromJsonText(JSON.stringify(o.attributes)),
    droppedAttributesCount: o.droppedAttributesCount,
    schemaUrl: o.schemaUrl,
  };
}

function scopeBody(scope: InstrumentationScope): string {
  return JSON.stringify({
    name: scope.name,
    version: scope.version,
    attributes: JSON.parse(attributesToJsonText(scope.attributes)),
    droppedAttributesCount: scope.droppedAttributesCount,
    schemaUrl: scope.schemaUrl,
  });
}

function scopeFromBody(body: string): InstrumentationScope {
  const o = JSON.parse(body) as {
    name: string;
    version: string;
    attributes: unknown;
    droppedAttributesCount: number;
    schemaUrl: string;
  };
  return {
    name: o.name,
    version: o.version,
    attributes: attributesFromJsonText(JSON.stringify(o.attributes)),
    droppedAttributesCount: o.droppedAttributesCount,
    schemaUrl: o.schemaUrl,
  };
}

function eventsToText(events: readonly SpanEvent[]): string {
  return JSON.stringify(
    events.map((e) => [e.timeUnixNano.toString(), e.name, encodeAttributeList(e.attributes), e.droppedAttributesCount]),
  );
}

function eventsFromText(text: string): SpanEvent[] {
  return (JSON.parse(text) as [string, string, string, number][]).map(([time, name, attrs, dropped]) => ({
    timeUnixNano: unixNanos(BigInt(time)),
    name,
    attributes: attrs === '' ? [] : attrs.split(ATTR_SEP).map(decodeAttribute),
    droppedAttributesCount: dropped,
  }));
}

function linksToText(links: readonly SpanLink[]): string {
  return JSON.stringify(
    links.map((l) => [
      l.traceId,
      l.spanId,
      l.traceState,
      encodeAttributeList(l.attributes),
      l.droppedAttributesCount,
      l.flags,
    ]),
  );
}

function linksFromText(text: string): SpanLink[] {
  return (JSON.parse(text) as [string, string, string, string, number, number][]).map(
    ([traceId, spanId, traceState, attrs, dropped, flags]) => ({
      traceId,
      spanId,
      traceState,
      attributes: attrs === '' ? [] : attrs.split(ATTR_SEP).map(decodeAttribute),
      droppedAttributesCount: dropped,
      flags,
    }),
  );
}
