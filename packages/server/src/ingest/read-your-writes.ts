import type { Span } from '@ariadne/core';
import {
  type DependencyEdge,
  NotYetCommittedError,
  type OperationStats,
  type SpanStore,
  type TagScope,
  type TagValue,
  type TagValuesQuery,
  type TimeRange,
  type TraceCandidate,
  type TraceCandidateQuery,
  type TraceQuery,
  type TraceSummary,
  type WriteProgress,
} from '../query/span-store.ts';

/** What the wrapper waits on: the write queue. */
export interface CommitWaiter {
  /** True once everything acknowledged before the call is committed; false after `timeoutMs`. */
  waitForCommitted(timeoutMs: number): Promise<boolean>;
  /** Spans acknowledged and not yet committed. */
  readonly pending: number;
}

/** How long a read waits at most for acknowledged spans to reach the store. */
export const DEFAULT_READ_WAIT_MS = 10_000;

/**
 * A `SpanStore` whose reads see every span acknowledged before the read started. With the
 * ingest log, a request is acknowledged once it is in the log, and the store receives it a little
 * later; each read here first waits until the write queue has committed everything acknowledged
 * so far. The wait is bounded by `maxWaitMs` (default 10 s): if the store is further behind than
 * that (overloaded, or failing and retrying), the read answers from what is committed, and a
 * trace it does not find is `NotYetCommittedError` rather than absent: it may be among the spans
 * still waiting.
 *
 * Writes and everything else go straight to the wrapped store.
 */
export class ReadYourWritesStore implements SpanStore {
  constructor(
    private readonly store: SpanStore,
    private readonly queue: CommitWaiter,
    private readonly maxWaitMs = DEFAULT_READ_WAIT_MS,
  ) {}

  private async caughtUp(): Promise<boolean> {
    return this.queue.waitForCommitted(this.maxWaitMs);
  }

  writeSpans(spans: readonly Span[], progress?: WriteProgress): Promise<void> {
    return this.store.writeSpans(spans, progress);
  }

  async getTrace(traceId: string, range?: TimeRange): Promise<Span[]> {
    const caughtUp = await this.caughtUp();
    const spans = await this.store.getTrace(traceId, range);
    if (spans.length === 0 && !caughtUp && this.queue.pending > 0)
      throw new NotYetCommittedError(
        `trace ${traceId} is not in the store yet, and ${this.queue.pending} acknowledged spans are still waiting to be committed (for more than ${this.maxWaitMs} ms): it may be among them; retry`,
        this.queue.pending,
      );
    return spans;
  }

  async searchTraces(query: TraceQuery): Promise<TraceSummary[]> {
    await this.caughtUp();
    return this.store.searchTraces(query);
  }

  async findTraceCandidates(query: TraceCandidateQuery): Promise<TraceCandidate[]> {
    await this.caughtUp();
    return this.store.findTraceCandidates(query);
  }

  async getTraces(traceIds: readonly string[]): Promise<Map<string, Span[]>> {
    await this.caughtUp();
    return this.store.getTraces(traceIds);
  }

  async listTagNames(scope: TagScope, range: TimeRange, limit: number): Promise<string[]> {
    await this.caughtUp();
    return this.store.listTagNames(scope, range, limit);
  }

  async listTagValues(query: TagValuesQuery): Promise<TagValue[]> {
    await this.caughtUp();
    return this.store.listTagValues(query);
  }

  async listServices(): Promise<string[]> {
    await this.caughtUp();
    return this.store.listServices();
  }

  async listOperations(service: string): Promise<string[]> {
    await this.caughtUp();
    return this.store.listOperations(service);
  }

  async dependencies(range: TimeRange): Promise<DependencyEdge[]> {
    await this.caughtUp();
    return this.store.dependencies(range);
  }

  async operationStats(service: string, range: TimeRange): Promise<OperationStats[]> {
    await this.caughtUp();
    return this.store.operationStats(service, range);
  }

  readProgress(source: string): Promise<bigint | undefined> {
    return this.store.readProgress(source);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
