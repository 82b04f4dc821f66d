import type { Span, UnixNanos } from '@ariadne/core';

/**
 * The storage interface, owned by the query side (as Grafana Tempo's `pkg/traceql/storage.go`):
 * the API and the engine ask for what they need, and every store implements it. Stores never
 * import the API. `store/span-store.contract.ts` is the suite every implementation must pass.
 */

/** A half-open time window `[start, end)` in unix nanoseconds; either side may be open. */
export interface TimeRange {
  readonly startUnixNano?: UnixNanos;
  readonly endUnixNano?: UnixNanos;
}

/** One `key=value` attribute condition. The value matches a string, int, double or bool attribute whose text is equal. */
export interface AttributeFilter {
  readonly key: string;
  readonly value: string;
}

export type StatusFilter = 'error' | 'ok' | 'unset';

/**
 * The search form's query (the API's form parameters, the CLI's flags), run as the TraceQL query
 * it stands for by query/form-search.ts. All span conditions (service, operation, status, duration, attributes) must hold
 * for one and the same span, as in Jaeger; attributes match the span's own attributes or its
 * resource's. The time window applies to that span's start.
 */
export interface TraceQuery extends TimeRange {
  readonly service?: string;
  readonly operation?: string;
  readonly status?: StatusFilter;
  readonly minDurationNanos?: bigint;
  readonly maxDurationNanos?: bigint;
  readonly attributes?: readonly AttributeFilter[];
  /** Maximum number of traces returned, newest first. */
  readonly limit: number;
}

/** What a search returns for each trace. */
export interface TraceSummary {
  readonly traceId: string;
  /** Service and name of the root span (the earliest span without a parent; the earliest span if none). */
  readonly rootService: string;
  readonly rootName: string;
  readonly startUnixNano: UnixNanos;
  readonly durationNanos: bigint;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly services: readonly string[];
}

/** Calls from one service to another, summed over a time window. */
export interface DependencyEdge {
  readonly parent: string;
  readonly child: string;
  readonly callCount: number;
  readonly errorCount: number;
}

/** Request count, errors and latency percentiles of one operation of a service. */
export interface OperationStats {
  readonly operation: string;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly p50Nanos: bigint;
  readonly p95Nanos: bigint;
  readonly p99Nanos: bigint;
}

/**
 * How far a writer has got in its own input (an ingest log, say): stored in the same transaction
 * as the spans, so that after a crash the writer resumes exactly after what was committed.
 */
export interface WriteProgress {
  /** Names the input; one position is kept per source. */
  readonly source: string;
  /** Position reached once these spans are committed; positions of one source only grow. */
  readonly position: bigint;
  /**
   * More figures of the same source, committed with it; each is read back as
   * `readProgress(`${source}.${name}`)`.
   */
  readonly counters?: Readonly<Record<string, bigint>>;
}

/**
 * A read found nothing, but the store is behind what was acknowledged: what was asked for may be
 * among the acknowledged spans not yet committed. Answered as 503 with `Retry-After`, not 404.
 */
export class NotYetCommittedError extends Error {
  override readonly name = 'NotYetCommittedError';
  constructor(
    message: string,
    /** Acknowledged spans not yet committed when the read gave up waiting. */
    readonly pendingSpans: number,
  ) {
    super(message);
  }
}

/**
 * A span field a store can filter on (Tempo's `Condition` attribute): intrinsics stored per span,
 * `service` (`resource.service.name`), and attributes by scope (`any`: the span's or its
 * resource's, as TraceQL's unscoped `.key`).
 */
export type SpanField =
  | { readonly kind: 'name' | 'service' | 'statusMessage' | 'status' | 'kind' | 'duration' }
  | { readonly kind: 'attribute'; readonly scope: 'span' | 'resource' | 'any'; readonly key: string };

/**
 * A typed value to compare a field with: strings, 64-bit integers (also durations in
 * nanoseconds, status codes and span kinds as their OTLP numbers), floats and booleans.
 */
export type SpanValue = string | bigint | number | boolean;

/** Comparison operators of span conditions. */
export type SpanCompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

/**
 * A condition on one span, as TraceQL means it: a comparison with a missing attribute or a value
 * of another type is false (also for `!=`), numbers compare across int and float, an array
 * attribute is equal when one element is. Stores may over-approximate (treat a condition they
 * cannot express as true): the engine evaluates every candidate exactly.
 */
export type SpanPredicate =
  | { readonly kind: 'all' }
  | { readonly kind: 'compare'; readonly field: SpanField; readonly op: SpanCompareOp; readonly value: SpanValue }
  | { readonly kind: 'and' | 'or'; readonly args: readonly SpanPredicate[] };

/** At least `minSpans` spans of a trace meet `predicate`. */
export interface SpanRequirement {
  readonly predicate: SpanPredicate;
  readonly minSpans: number;
}

/**
 * Which traces may match a query: those with, for every requirement, at least `minSpans` spans
 * starting in the window that meet its predicate. A store returns a superset of the traces that
 * do (it may ignore conditions it cannot express), newest first by their latest span in the
 * window meeting any requirement, at most `limit`.
 *
 * Exact, not a superset, for one requirement of one span whose predicate compares only these
 * (`exactSpanPredicate` in traceql-plan.ts): `name` with a string by `=` or `!=`, `status` by
 * `=` or `!=`, `duration` with an integer by any operator, `service` with a string by `=`, joined
 * by `and` and `or`, or `all`. The summaries-only search relies on it and reads no
 * span back; the contract suite checks it.
 */
export interface TraceCandidateQuery extends TimeRange {
  readonly requirements: readonly SpanRequirement[];
  readonly limit: number;
  /**
   * The next page: only candidates after this one in the order (older, or as old with a greater
   * trace id), so that paging never skips traces whose latest spans share one instant.
   */
  readonly after?: TraceCandidate;
}

/** A trace that may match, and the start of its latest span meeting a requirement. */
export interface TraceCandidate {
  readonly traceId: string;
  readonly lastMatchUnixNano: UnixNanos;
}

/** Where attribute names are listed from: span attributes, or their resources'. */
export type TagScope = 'span' | 'resource';

/** A distinct value of a field, typed as stored (ints exact). */
export type TagValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'int'; readonly value: bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean };

/** A request for the values of one field, for autocompletion. */
export interface TagValuesQuery extends TimeRange {
  /** An attribute by scope (`any`: span or resource), or `service`, `name` or `statusMessage`. */
  readonly field: SpanField;
  /** Only values on spans meeting this (a store may ignore what it cannot express). */
  readonly where?: SpanPredicate;
  readonly limit: number;
}

/** Writes spans durably. */
export interface SpanWriter {
  /**
   * Resolves only once every span is durably committed; rejects and stores nothing on failure.
   * With `progress`, the source's position is committed atomically with the spans.
   */
  writeSpans(spans: readonly Span[], progress?: WriteProgress): Promise<void>;
}

/**
 * Turns spans into what one backend writes (its rows), without touching the database, so that
 * ingest can do it on another thread. Stateful: it may assume every batch it combined gets
 * written, in order (see `PreparedWriter.preparerState`). Parts and batches are plain data that
 * survive a structured clone; `transferables` names the buffers a batch can hand over uncopied.
 */
export interface SpanPreparer<Part = unknown, Batch = unknown> {
  /** The rows of some spans (one request's), made as soon as they arrive. */
  preparePart(spans: readonly Span[]): Part;
  /** Joins parts, in order, into one write batch. */
  combine(parts: readonly Part[]): Batch;
  transferables(batch: Batch): ArrayBuffer[];
}

/**
 * What a module named by `PreparedWriter.preparerModule` exports: ingest loads it on its prepare
 * thread (ingest/prepare-worker.ts) and so never imports a backend itself.
 */
export interface SpanPreparerModule<State = unknown, Part = unknown, Batch = unknown> {
  createPreparer(state: State): SpanPreparer<Part, Batch>;
}

/**
 * `PreparedWriter.writePrepared`'s refusal of a batch prepared from a state the store has moved
 * past: not a failure of the store; the writer starts a new preparer from `preparerState()` and
 * prepares the batch again.
 */
export class StalePreparationError extends Error {
  override readonly name: string = 'StalePreparationError';
}

/**
 * A store whose writes can be prepared on another thread: a `SpanPreparer` made from the module
 * at `preparerModule`, started from `preparerState()`, prepares batches that `writePrepared`
 * commits. A batch prepared from a state the store has moved past (a write in between, or a
 * failed one) is refused; the writer then asks for the state again.
 */
export interface PreparedWriter<State = unknown, Batch = unknown> {
  /** URL (href) of a module that implements `SpanPreparerModule<State, …, Batch>`. */
  readonly preparerModule: string;
  /** What a new preparer starts from: the store as of after every write before (cloneable). */
  preparerState(): Promise<State>;
  /** Commits a prepared batch; with `progress` as `SpanWriter.writeSpans`. */
  writePrepared(batch: Batch, progress?: WriteProgress): Promise<void>;
}

/** The reads the query API needs: what the API, the UI and the CLI depend on, whatever the backend. */
export interface SpanReader {
  /** Every span of a trace, ordered by start time; empty if the trace is unknown. */
  getTrace(traceId: string, range?: TimeRange): Promise<Span[]>;
  /**
   * The summary of each trace (from all its spans), by the id as given; an unknown trace has none.
   * What a search that returns summaries only (the form search) reads instead of whole traces.
   */
  summarizeTraces(traceIds: readonly string[]): Promise<Map<string, TraceSummary>>;
  /** Traces that may match a TraceQL query (a superset), newest first: see {@link TraceCandidateQuery}. */
  findTraceCandidates(query: TraceCandidateQuery): Promise<TraceCandidate[]>;
  /** The spans of each trace, by the id as given, as `getTrace(id)` returns them ([] if unknown). */
  getTraces(traceIds: readonly string[]): Promise<Map<string, Span[]>>;
  /**
   * Attribute names seen on spans starting in the window (`span`) or on their resources
   * (`resource`), sorted, at most `limit`. Only scalar and array values' keys are listed.
   */
  listTagNames(scope: TagScope, range: TimeRange, limit: number): Promise<string[]>;
  /**
   * Distinct values of a field on spans starting in the window, sorted (by type, then value), at
   * most `limit`; array attributes contribute their scalar elements. Values of types TraceQL
   * cannot search (bytes, maps) are left out.
   */
  listTagValues(query: TagValuesQuery): Promise<TagValue[]>;
  /** Service names, sorted. */
  listServices(): Promise<string[]>;
  /** Span names of one service, sorted. */
  listOperations(service: string): Promise<string[]>;
  /** Service-to-service calls (a span whose parent belongs to another service) in a time window. */
  dependencies(range: TimeRange): Promise<DependencyEdge[]>;
  /** Per-operation statistics of one service in a time window, sorted by operation. */
  operationStats(service: string, range: TimeRange): Promise<OperationStats[]>;
}

/**
 * A span store: durable writes and the reads of the query API. `main.ts` chooses the backend
 * (the embedded DuckDB store, or ClickHouse); ingest sees only `SpanWriter`, the API only
 * `SpanReader`.
 */
export interface SpanStore extends SpanWriter, SpanReader {
  /** The last position committed for `source` by `writeSpans`, or undefined if none was. */
  readProgress(source: string): Promise<bigint | undefined>;
  /** Flushes and releases everything. Idempotent. */
  close(): Promise<void>;
}
