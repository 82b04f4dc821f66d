import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Span } from '@ariadne/core';
import { INGEST_LOG_SOURCE, IngestLog } from '../ingest/ingest-log.ts';
import type { SpanStore, WriteProgress } from '../query/span-store.ts';
import { ClickHouseSpanStore } from '../store/clickhouse/clickhouse-store.ts';
import { HttpExecutor } from '../store/clickhouse/executor.ts';
import {
  type ClickHouseLocation,
  isClickHouseStore,
  parseClickHouseUrl,
  redactUrl,
} from '../store/clickhouse/store-url.ts';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import { type CliIo, UsageError } from './io.ts';

/**
 * `ariadne copy`: moves the spans of an embedded (DuckDB) store into ClickHouse, trace by trace in
 * ascending trace id order, resumable and idempotent.
 *
 * Where a copy stands is kept in ClickHouse itself, written by the same `writeSpans` call as the
 * spans, after they were acknowledged (`WriteProgress`), under the source `copy:<from dir>`. A
 * trace id has 128 bits and a position only 64 (a UInt64 column), so the id of the last trace
 * copied is split in two:
 *
 * ```
 * trace id  4bf92f3577b34da6 a3ce929d0e0e4736
 *           └─ position ───┘ └─ counter low ─┘   BigInt('0x' + id.slice(0, 16)), BigInt('0x' + id.slice(16))
 * counters  traces: traces done (copied or found in ClickHouse) up to it, over every run
 *           spans:  spans written, over every run
 * ```
 *
 * Every write holds only whole traces of one page of ids (a trace larger than a write is split
 * over several, with the position on the last), so at most one write lies beyond the recorded
 * position: the one an interruption cut short. A resumed copy therefore asks ClickHouse for each
 * trace it reads, until one page past the first trace ClickHouse lacks, and copies only traces
 * with a span ClickHouse lacks. Position and counters are separate rows; should an insert of them
 * land only in part (a shard down), the pair names no trace of the source, and the copy resumes at
 * the position alone (`id >= position << 64`, never past what was copied), checking from there.
 *
 * Not handled: spans added to the embedded store after a copy began (a trace whose id is below the
 * position is not read again), and spans in the ingest log that the store has not applied (a
 * server that crashed): the copy refuses to start until a server start has applied them.
 */

export const COPY_USAGE = `Usage: ariadne copy --from DIR --to URL [options]

Moves the spans of an embedded store (the data directory of \`ariadne serve\`) into ClickHouse.
The server using DIR must be stopped first. Progress is kept in ClickHouse: an interrupted
copy (Ctrl-C, a failure) resumes where it stopped when run again with the same --from and --to,
and copying again never stores a span twice.

Options:
  --from DIR           data directory of the embedded store
  --to URL             clickhouse://[user[:password]@]host:port/database[?cluster=NAME]
  --batch-spans N      spans per insert into ClickHouse (default 20000)
  --help               show this help

Exit status: 0 when every trace is in ClickHouse, 1 on a failure, 2 on a usage error,
130 when interrupted (run the same command again to resume).
`;

const PAGE_TRACES = 500;
const DEFAULT_BATCH_SPANS = 20_000;
/** Traces looked up in ClickHouse at once when checking (the embedded store is read a page at a time). */
const CONCURRENCY = 4;
const U64_MASK = 0xffff_ffff_ffff_ffffn;
/** The embedded store's database file in its data directory (as `DuckDbSpanStore.open` names it). */
const DUCKDB_FILE = 'ariadne.duckdb';

/** What `copyStore` needs. */
export interface CopyStoreOptions {
  /** Data directory of the embedded store. */
  readonly from: string;
  /** `clickhouse://…` URL of the target. */
  readonly to: string;
  /** Spans per write into ClickHouse (default 20,000). */
  readonly batchSpans?: number;
  /** Stop after this many writes, as an interruption would (tests). */
  readonly maxBatches?: number;
  /** Aborted: stop after the write under way, keeping what was copied. */
  readonly signal?: AbortSignal;
  /** Called once both stores are open, before the first trace is read. */
  readonly onStart?: (start: CopyStart) => void;
  /** Called after every write. */
  readonly onProgress?: (progress: CopyProgress) => void;
}

/** What a copy found when it started. */
export interface CopyStart {
  /** The embedded store's directory, resolved. */
  readonly from: string;
  /** The target as it may be shown (no password). */
  readonly to: string;
  readonly totalTraces: number;
  /** Where an earlier run stopped, when this one resumes it. */
  readonly resumed?: ResumePoint;
}

/** Where an earlier run of the same copy stopped. */
export interface ResumePoint {
  /** Traces and spans that runs before this one copied (as they recorded it). */
  readonly traces: number;
  readonly spans: number;
  /** The last trace they recorded as copied. */
  readonly lastTraceId: string;
  /** False when that record was only partly written: the copy resumes a little earlier and checks. */
  readonly exact: boolean;
}

/** Where a copy stands, over every run. */
export interface CopyProgress {
  readonly totalTraces: number;
  /** Traces copied or found in ClickHouse already, by this run and the ones before it. */
  readonly doneTraces: number;
  /** Spans written, by this run and the ones before it. */
  readonly doneSpans: number;
  /** Spans written by this run, and for how long it has been running. */
  readonly runSpans: number;
  readonly elapsedMs: number;
}

/** What one run did. */
export interface CopyResult extends CopyStart {
  /** Traces copied or found in ClickHouse already, by this run and the ones before it. */
  readonly doneTraces: number;
  /** Traces and spans this run wrote. */
  readonly copiedTraces: number;
  readonly copiedSpans: number;
  /** Traces this run found complete in ClickHouse already (written by an interrupted run). */
  readonly skippedTraces: number;
  /** Every trace was read; false when stopped (signal, `maxBatches`). */
  readonly complete: boolean;
  readonly elapsedMs: number;
}

/**
 * Copies every trace of the embedded store in `options.from` into the ClickHouse store at
 * `options.to`, resuming where an earlier run stopped. Throws with a message for people when a
 * store cannot be opened (the embedded one in use by a server, ClickHouse unreachable).
 */
export async function copyStore(options: CopyStoreOptions): Promise<CopyResult> {
  const location = parseClickHouseUrl(options.to);
  const from = await openEmbedded(options.from);
  try {
    const to = await openClickHouse(location);
    try {
      const source = `copy:${from.dir}`;
      const totalTraces = await from.store.countTraces();
      const resumed = await readResumePoint(to, from.store, source);
      const start: CopyStart = { from: from.dir, to: location.display, totalTraces, resumed };
      options.onStart?.(start);
      const run = await copyTraces({ ...options, from: from.store, to, source, start });
      return { ...start, ...run };
    } finally {
      await to.close();
    }
  } finally {
    await from.store.close();
  }
}

/** Opens the embedded store for reading; explains a store in use, missing, or behind its ingest log. */
async function openEmbedded(dir: string): Promise<{ store: DuckDbSpanStore; dir: string }> {
  if (!existsSync(join(dir, DUCKDB_FILE))) {
    throw new Error(
      `${dir} holds no embedded store (no ${DUCKDB_FILE}): --from takes the data directory of ariadne serve`,
    );
  }
  const resolved = realpathSync(dir);
  let store: DuckDbSpanStore;
  try {
    store = await DuckDbSpanStore.open({ dataDir: resolved });
  } catch (error) {
    const message = (error as Error).message;
    if (/Could not set lock on file/i.test(message)) {
      const holder = /Conflicting lock is held in (.*?)(?:\. See also|$)/.exec(message)?.[1];
      throw new Error(
        `the embedded store in ${resolved} is in use${holder ? ` by ${holder}` : ''}: stop the server (ariadne serve) first, then run the copy again`,
        { cause: error },
      );
    }
    throw new Error(`cannot open the embedded store in ${resolved}: ${message}`, { cause: error });
  }
  try {
    const behind = await unappliedLogBytes(store, join(resolved, 'ingest-log'));
    if (behind > 0n) {
      throw new Error(
        `the ingest log in ${resolved} holds ${behind} bytes of requests the store has not applied yet (the server did not stop cleanly): start ariadne serve on it once and stop it with Ctrl-C, which applies them, then run the copy again`,
      );
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  return { store, dir: resolved };
}

/**
 * Bytes of the ingest log after the store's position: requests acknowledged by a server that
 * stopped without applying them (a crash), which the next server start replays. Opening the log
 * does what a server start does first (it drops applied segments and cuts a torn tail).
 */
async function unappliedLogBytes(store: DuckDbSpanStore, dir: string): Promise<bigint> {
  if (!existsSync(dir)) return 0n;
  const applied = (await store.readProgress(INGEST_LOG_SOURCE)) ?? 0n;
  const log = await IngestLog.open({ dir, startAt: applied });
  try {
    return log.end > applied ? log.end - applied : 0n;
  } finally {
    await log.close();
  }
}

async function openClickHouse(location: ClickHouseLocation): Promise<ClickHouseSpanStore> {
  try {
    return await ClickHouseSpanStore.open({
      executor: new HttpExecutor(location),
      database: location.database,
      cluster: location.cluster,
      // A copy can wait out a longer outage than a server answering clients.
      writeRetryMs: 30_000,
    });
  } catch (error) {
    throw new Error(`cannot open the ClickHouse store at ${location.display}: ${redactUrl((error as Error).message)}`, {
      cause: error,
    });
  }
}

/** The embedded store as the copy reads it: a page of trace ids, then all their spans at once. */
type TraceSource = Pick<DuckDbSpanStore, 'listTraceIds' | 'getTraces'>;
/** The target as the copy writes it. */
type TraceTarget = Pick<SpanStore, 'getTrace' | 'writeSpans' | 'readProgress'>;

/** The progress record of a copy whose last copied trace is `traceId` (see the file comment). */
function progressRecord(source: string, traceId: string, traces: number, spans: number): WriteProgress {
  const id = BigInt(`0x${traceId}`);
  return {
    source,
    position: id >> 64n,
    counters: { low: id & U64_MASK, traces: BigInt(traces), spans: BigInt(spans) },
  };
}

function traceIdHex(id: bigint): string {
  return id.toString(16).padStart(32, '0');
}

/** Where an earlier run of this copy stopped, if one ran; reads the record written by `progressRecord`. */
async function readResumePoint(to: TraceTarget, from: TraceSource, source: string): Promise<ResumePoint | undefined> {
  const high = await to.readProgress(source);
  if (high === undefined) return undefined;
  const low = (await to.readProgress(`${source}.low`)) ?? 0n;
  const traces = Number((await to.readProgress(`${source}.traces`)) ?? 0n);
  const spans = Number((await to.readProgress(`${source}.spans`)) ?? 0n);
  const id = (high << 64n) | low;
  const [found] = await from.listTraceIds(id === 0n ? undefined : traceIdHex(id - 1n), 1);
  return { traces, spans, lastTraceId: traceIdHex(id), exact: found === traceIdHex(id) };
}

interface CopyTracesOptions extends Omit<CopyStoreOptions, 'from' | 'to' | 'onStart'> {
  readonly from: TraceSource;
  readonly to: TraceTarget;
  readonly source: string;
  readonly start: CopyStart;
}

/** A trace as read for copying: its spans, and whether ClickHouse has every one of them. */
interface ReadTrace {
  readonly id: string;
  readonly spans: Span[];
  readonly inTarget: boolean;
}

/**
 * Gathers spans into writes of at most `batchSpans` and counts what was done; a write carries the
 * position of the last whole trace added before it, if that moved.
 */
class CopyBatcher {
  private pending: Span[] = [];
  /** The last trace whose spans were all added, and the last one a write recorded. */
  private lastDone: string | undefined;
  private recorded: string | undefined;
  doneTraces: number;
  doneSpans: number;
  copiedTraces = 0;
  copiedSpans = 0;
  skippedTraces = 0;
  writes = 0;

  constructor(
    private readonly to: TraceTarget,
    private readonly source: string,
    private readonly batchSpans: number,
    resumed: ResumePoint | undefined,
    /** After every write; returns true to stop. */
    private readonly afterWrite: () => boolean,
  ) {
    this.doneTraces = resumed?.traces ?? 0;
    this.doneSpans = resumed?.spans ?? 0;
  }

  /**
   * Adds a trace, writing whenever a batch is full; returns true once a write asked to stop. A
   * trace goes whole into one write, unless it is larger than a write: then its parts go into
   * several, and the position moves with its last part.
   */
  async add(trace: ReadTrace): Promise<boolean> {
    const spans = trace.spans;
    if (trace.inTarget) {
      this.skippedTraces++;
    } else {
      // Stopping here leaves this trace out altogether (a resumed copy then finds nothing of it).
      if (this.pending.length > 0 && this.pending.length + spans.length > this.batchSpans && (await this.flush()))
        return true;
      for (let i = 0; i < spans.length; i++) {
        this.pending.push(spans[i]);
        if (this.pending.length >= this.batchSpans && i < spans.length - 1 && (await this.flush())) return true;
      }
      if (spans.length > 0) this.copiedTraces++;
    }
    this.doneTraces++;
    this.lastDone = trace.id;
    return this.pending.length >= this.batchSpans ? this.flush() : false;
  }

  /** Writes what is pending (and the position, if it moved); returns true to stop. */
  async flush(): Promise<boolean> {
    const moved = this.lastDone !== undefined && this.lastDone !== this.recorded;
    if (this.pending.length === 0 && !moved) return false;
    const spans = this.pending;
    const progress = moved
      ? progressRecord(this.source, this.lastDone!, this.doneTraces, this.doneSpans + spans.length)
      : undefined;
    await this.to.writeSpans(spans, progress);
    this.pending = [];
    this.recorded = this.lastDone;
    this.doneSpans += spans.length;
    this.copiedSpans += spans.length;
    this.writes++;
    return this.afterWrite();
  }
}

/** The copy loop: pages of trace ids after the resume point, each page read at once, written in batches. */
async function copyTraces(options: CopyTracesOptions): Promise<Omit<CopyResult, keyof CopyStart>> {
  const { from, to, start, signal } = options;
  const began = Date.now();
  const resumed = start.resumed;
  const shouldStop = (): boolean =>
    signal?.aborted === true || (options.maxBatches !== undefined && batcher.writes >= options.maxBatches);
  const batchSpans = Math.max(1, options.batchSpans ?? DEFAULT_BATCH_SPANS);
  const batcher: CopyBatcher = new CopyBatcher(to, options.source, batchSpans, resumed, (): boolean => {
    options.onProgress?.({
      totalTraces: start.totalTraces,
      doneTraces: batcher.doneTraces,
      doneSpans: batcher.doneSpans,
      runSpans: batcher.copiedSpans,
      elapsedMs: Date.now() - began,
    });
    return shouldStop();
  });
  const read = async (id: string, spans: Span[], check: boolean): Promise<ReadTrace> => {
    if (!check) return { id, spans, inTarget: false };
    const there = new Set((await to.getTrace(id)).map((s) => s.spanId));
    return { id, spans, inTarget: spans.every((s) => there.has(s.spanId)) };
  };

  let after = resumed ? resumeAfter(resumed) : undefined;
  // Traces this run reads are numbered from 0; those up to `checkUntil` are looked up in ClickHouse.
  let checkUntil = resumed ? Number.POSITIVE_INFINITY : -1;
  let ordinal = 0;
  let stopped = shouldStop();
  while (!stopped) {
    const ids = await from.listTraceIds(after, PAGE_TRACES);
    if (ids.length === 0) break;
    const page = await from.getTraces(ids);
    const reads: Promise<ReadTrace>[] = [];
    const startRead = () => {
      const n = ordinal + reads.length;
      const id = ids[reads.length];
      const promise = read(id, page.get(id) ?? [], n <= checkUntil);
      promise.catch(() => undefined); // awaited in order below; this only keeps it from counting as unhandled
      reads.push(promise);
    };
    try {
      while (reads.length < Math.min(CONCURRENCY, ids.length)) startRead();
      for (let i = 0; i < ids.length && !stopped; i++) {
        const trace = await reads[i];
        if (reads.length < ids.length) startRead();
        // The first trace ClickHouse lacks: a write cut short by an interruption lies within a page from here.
        if (!trace.inTarget && ordinal + i <= checkUntil) checkUntil = Math.min(checkUntil, ordinal + i + PAGE_TRACES);
        stopped = (await batcher.add(trace)) || shouldStop();
      }
      // A write never spans two pages (what a resumed copy checks relies on it).
      if (!stopped) stopped = await batcher.flush();
    } finally {
      await Promise.allSettled(reads);
    }
    ordinal += ids.length;
    after = ids[ids.length - 1];
  }
  return {
    doneTraces: batcher.doneTraces,
    copiedTraces: batcher.copiedTraces,
    copiedSpans: batcher.copiedSpans,
    skippedTraces: batcher.skippedTraces,
    complete: !stopped,
    elapsedMs: Date.now() - began,
  };
}

/**
 * The id to list traces after when resuming: the last one recorded, or, when that record was
 * only partly written, just before the first id its position allows (nothing before can be missing).
 */
function resumeAfter(resumed: ResumePoint): string | undefined {
  if (resumed.exact) return resumed.lastTraceId;
  const floor = BigInt(`0x${resumed.lastTraceId}`) & ~U64_MASK;
  return floor === 0n ? undefined : traceIdHex(floor - 1n);
}

/** `ariadne copy`: `copyStore` with a progress line on stderr, a summary on stdout, and Ctrl-C to stop. */
export async function runCopy(argv: string[], io: CliIo): Promise<number> {
  const args = parseCopyArgs(argv);
  if (args === 'help') {
    io.stdout.write(COPY_USAGE);
    return 0;
  }
  const stop = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled === undefined) {
      signalled = signal;
      stop.abort();
      line.interject('stopping after the write under way (Ctrl-C again to quit at once)');
      return;
    }
    // A second signal: quit at once, as without a handler (the copy stays resumable).
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  };
  const line = new ProgressLine(io);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await copyStore({
      ...args,
      signal: stop.signal,
      onStart: (start) => {
        const resumed = start.resumed
          ? `resuming: ${count(start.resumed.traces)} traces were copied by an earlier run`
          : undefined;
        io.stderr.write(
          `copying ${count(start.totalTraces)} traces from ${start.from} to ${start.to}${resumed ? `; ${resumed}` : ''}\n`,
        );
      },
      onProgress: (progress) => line.update(progress),
    });
    line.done();
    io.stdout.write(`${summary(result)}\n`);
    if (result.complete) return 0;
    io.stderr.write('interrupted; run the same command again to resume\n');
    return signalled === 'SIGTERM' ? 143 : 130;
  } catch (error) {
    line.done();
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function parseCopyArgs(argv: string[]): Omit<CopyStoreOptions, 'signal'> | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        'batch-spans': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(redactUrl((error as Error).message));
  }
  if (values.help) return 'help';
  const from = values.from as string | undefined;
  const to = values.to as string | undefined;
  if (!from) throw new UsageError('--from DIR is required (the data directory of the embedded store)');
  if (!to) throw new UsageError('--to URL is required (clickhouse://host:port/database)');
  if (!isClickHouseStore(to)) {
    throw new UsageError(
      `--to: expected clickhouse://[user[:password]@]host:port/database, got ${JSON.stringify(redactUrl(to))}`,
    );
  }
  try {
    parseClickHouseUrl(to);
  } catch (error) {
    throw new UsageError((error as Error).message.replace('--store', '--to'));
  }
  let batchSpans: number | undefined;
  if (values['batch-spans'] !== undefined) {
    const text = values['batch-spans'] as string;
    batchSpans = Number(text);
    if (!/^\d+$/.test(text) || batchSpans < 1) {
      throw new UsageError(`--batch-spans: expected a positive integer, got ${JSON.stringify(text)}`);
    }
  }
  return { from, to, batchSpans };
}

/** One line for people: what this run copied, and what it found done already. */
function summary(r: CopyResult): string {
  const seconds = (r.elapsedMs / 1000).toFixed(1);
  const skipped = r.skippedTraces > 0 ? `; ${count(r.skippedTraces)} traces skipped: already in ClickHouse` : '';
  if (r.complete && r.copiedTraces === 0) {
    return `nothing new to copy: all ${count(r.totalTraces)} traces were already copied to ${r.to}${skipped}`;
  }
  const earlier = r.resumed ? `; resumed after ${count(r.resumed.traces)} traces copied by an earlier run` : '';
  return `copied ${count(r.copiedTraces)} traces (${count(r.copiedSpans)} spans) to ${r.to} in ${seconds} s${earlier}${skipped}`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The progress line on stderr: on a terminal one line rewritten in place, otherwise a line every
 * two seconds (a log file gets a readable trail rather than a flood).
 */
class ProgressLine {
  private readonly tty: boolean;
  private shown = false;
  private lastPrinted = 0;
  private last: CopyProgress | undefined;
  /** The last figures are not on screen yet (not a terminal: a line every two seconds). */
  private behind = false;

  constructor(private readonly io: CliIo) {
    this.tty = io.isTTY === true;
  }

  update(progress: CopyProgress): void {
    this.last = progress;
    if (this.tty) {
      this.io.stderr.write(`\r${describe(progress)}\u001b[K`);
      this.shown = true;
    } else if (Date.now() - this.lastPrinted >= 2_000) {
      this.io.stderr.write(`${describe(progress)}\n`);
      this.lastPrinted = Date.now();
      this.behind = false;
    } else {
      this.behind = true;
    }
  }

  /** A message on a line of its own, the progress line redrawn after it. */
  interject(message: string): void {
    if (this.shown) this.io.stderr.write('\r\u001b[K');
    this.io.stderr.write(`${message}\n`);
    if (this.shown && this.last) this.io.stderr.write(`\r${describe(this.last)}\u001b[K`);
  }

  /** Leaves the last figures on screen (a terminal) or prints them once more if they were not. */
  done(): void {
    if (this.tty) {
      if (this.shown) this.io.stderr.write('\n');
    } else if (this.behind && this.last) {
      this.io.stderr.write(`${describe(this.last)}\n`);
    }
    this.shown = false;
    this.behind = false;
  }
}

/** `copied 12,345 / 100,000 traces (1,234,567 spans) 12.3% 4,321 spans/s` */
function describe(p: CopyProgress): string {
  const done = Math.min(p.doneTraces, p.totalTraces);
  const percent = p.totalTraces === 0 ? 100 : (done / p.totalTraces) * 100;
  const rate = p.elapsedMs > 0 ? Math.round((p.runSpans * 1000) / p.elapsedMs) : 0;
  return `copied ${count(done)} / ${count(p.totalTraces)} traces (${count(p.doneSpans)} spans) ${percent.toFixed(1)}% ${count(rate)} spans/s`;
}
