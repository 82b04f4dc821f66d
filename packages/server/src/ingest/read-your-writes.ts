import { AsyncLocalStorage } from 'node:async_hooks';
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
 * What a read sees. `committed`: what the store has committed, at once, whatever is being written
 * (spans acknowledged a moment ago may not be visible yet). `read-your-writes`: every span
 * acknowledged before the request, waiting for the write queue if need be.
 */
export type ReadConsistency = 'committed' | 'read-your-writes';

/** The request header that asks for a consistency, e.g. `X-Ariadne-Consistency: read-your-writes`. */
export const CONSISTENCY_HEADER = 'x-ariadne-consistency';

const CONSISTENCIES: readonly ReadConsistency[] = ['committed', 'read-your-writes'];

/** `value` as a consistency; throws with the accepted values otherwise. */
export function parseReadConsistency(value: string, name = CONSISTENCY_HEADER): ReadConsistency {
  const v = value.trim().toLowerCase();
  if ((CONSISTENCIES as readonly string[]).includes(v)) return v as ReadConsistency;
  throw new Error(`${name}: expected ${CONSISTENCIES.join(' or ')}, got ${JSON.stringify(value.slice(0, 40))}`);
}

/** One request's reads: the consistency asked for, and the wait they share. */
interface RequestReads {
  readonly consistency: ReadConsistency;
  caughtUp?: Promise<boolean>;
}

/** The hook's view of a fastify request and reply (only what it uses). */
interface HookRequest {
  readonly headers: Record<string, string | string[] | undefined>;
}
interface HookReply {
  code(status: number): { send(body: unknown): unknown };
}

/**
 * Which consistency the reads running now asked for: a request's header, else the server's
 * default. A request's reads run inside `run` (fastify: the `hook`), so the store wrapper can ask
 * without the consistency being passed through every API layer and the query engine.
 */
export class ReadConsistencyScope {
  private readonly storage = new AsyncLocalStorage<RequestReads>();

  /** `defaultConsistency`: for requests that do not ask, and for reads outside any request. */
  constructor(readonly defaultConsistency: ReadConsistency = 'committed') {}

  /** Runs `fn` (and everything it starts) as one request's reads with `consistency`. */
  run<T>(consistency: ReadConsistency | undefined, fn: () => T): T {
    return this.storage.run({ consistency: consistency ?? this.defaultConsistency }, fn);
  }

  /** The reads running now, if inside `run`. */
  current(): RequestReads | undefined {
    return this.storage.getStore();
  }

  /**
   * A fastify `preHandler` hook: the handler runs with the consistency of the request's
   * `X-Ariadne-Consistency` header (or the default); an unknown value is answered 400.
   */
  hook(): (request: HookRequest, reply: HookReply, done: () => void) => void {
    return (request, reply, done) => {
      const header = request.headers[CONSISTENCY_HEADER];
      let asked: ReadConsistency | undefined;
      if (header !== undefined) {
        try {
          asked = parseReadConsistency(Array.isArray(header) ? header[0] : header);
        } catch (error) {
          reply.code(400).send({ error: 'bad_request', message: (error as Error).message });
          return;
        }
      }
      this.run(asked, done);
    };
  }
}

export interface ReadYourWritesOptions {
  /** Which reads wait (default: none: every read answers from what is committed). */
  readonly scope?: ReadConsistencyScope;
  /** The longest a read waits (default 10 s). */
  readonly maxWaitMs?: number;
}

/**
 * A `SpanStore` whose reads see, when asked (`ReadConsistencyScope`), every span acknowledged
 * before the request started. With the ingest log, a request is acknowledged once it is in the
 * log, and the store receives it a little later. Reads that ask for `read-your-writes` first wait
 * until the write queue has committed everything acknowledged so far (once per request: its later
 * reads share that wait). The wait is bounded by `maxWaitMs` (default 10 s): if the store is
 * further behind than that (overloaded, or failing and retrying), the read answers from what is
 * committed, and a trace it does not find is `NotYetCommittedError` rather than absent: it may be
 * among the spans still waiting.
 *
 * Reads with `committed` consistency (the default) go straight to the store: they never queue
 * behind ingest. Writes and everything else go straight to the wrapped store too.
 */
export class ReadYourWritesStore implements SpanStore {
  private readonly scope: ReadConsistencyScope;
  private readonly maxWaitMs: number;

  constructor(
    private readonly store: SpanStore,
    private readonly queue: CommitWaiter,
    options: ReadYourWritesOptions = {},
  ) {
    this.scope = options.scope ?? new ReadConsistencyScope();
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_READ_WAIT_MS;
  }

  /** Waits if this read asks to see what was acknowledged: true if caught up, undefined if it did not wait. */
  private caughtUp(): Promise<boolean> | undefined {
    const reads = this.scope.current();
    const consistency = reads?.consistency ?? this.scope.defaultConsistency;
    if (consistency === 'committed') return undefined;
    if (reads === undefined) return this.queue.waitForCommitted(this.maxWaitMs);
    reads.caughtUp ??= this.queue.waitForCommitted(this.maxWaitMs);
    return reads.caughtUp;
  }

  writeSpans(spans: readonly Span[], progress?: WriteProgress): Promise<void> {
    return this.store.writeSpans(spans, progress);
  }

  async getTrace(traceId: string, range?: TimeRange): Promise<Span[]> {
    const waited = this.caughtUp();
    const caughtUp = waited === undefined ? undefined : await waited;
    const spans = await this.store.getTrace(traceId, range);
    if (spans.length === 0 && caughtUp === false && this.queue.pending > 0)
      throw new NotYetCommittedError(
        `trace ${traceId} is not in the store yet, and ${this.queue.pending} acknowledged spans are still waiting to be committed (for more than ${this.maxWaitMs} ms): it may be among them; retry`,
        this.queue.pending,
      );
    return spans;
  }

  async summarizeTraces(traceIds: readonly string[]): Promise<Map<string, TraceSummary>> {
    await this.caughtUp();
    return this.store.summarizeTraces(traceIds);
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
