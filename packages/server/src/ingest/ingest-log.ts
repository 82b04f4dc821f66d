import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type Logger, silentLogger } from '../logger.ts';

/**
 * The ingest log: an append-only, segmented, checksummed file of OTLP export requests, as
 * received (after decompression), written before a request is acknowledged. The store is brought
 * up to date from it later, in large batches; after a crash, whatever the store had not committed
 * is replayed from here (Grafana Tempo's ingester WAL, Jaeger's Kafka topic).
 *
 * Positions: one monotonic byte offset over the record stream of all segments (segment headers do
 * not count). A record's position is where it starts; `end` is where the next one starts.
 *
 * ```
 * <dir>/00000000000000000000.log   16-byte header: "ARDNLOG1", start position (u64 LE)
 *       00000000000067108901.log   then records: u32 body length, u32 CRC-32, u8 format, body
 *                                  (CRC over length, format and body, little-endian)
 * ```
 *
 * Group commit: records appended while a write + fdatasync is in flight are written together by
 * the next one; `append(...).durable` resolves only after the fdatasync that covers the record.
 * A segment rolls once it holds `segmentBytes` of records (a record is never split across
 * segments); `release(position)` deletes segments whose records all lie before `position`.
 *
 * On open, a torn or corrupt tail of the last segment (a partial record, a bad checksum: a
 * write that was never acknowledged) is truncated. Anything else that does not add up (a corrupt
 * record in an older segment, a gap between segments, a foreign file header) is an
 * `IngestLogError`. Not handled: concurrent writers (one process owns the directory), reading
 * while appending (`records` is for the replay before the first append).
 */

/**
 * How a request body is encoded: what decoder replays it. A Zipkin record's body is the time the
 * request was received (unix nanoseconds, u64 LE: the start of a span with no time known) and
 * then the request's body (decode-zipkin.ts, `zipkinRecord`).
 */
export const LogFormat = {
  OTLP_PROTOBUF: 1,
  OTLP_JSON: 2,
  ZIPKIN_JSON_V2: 3,
  ZIPKIN_PROTO3: 4,
  ZIPKIN_JSON_V1: 5,
} as const;
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

/** The log cannot be opened or read as it is, or a write to it failed. */
export class IngestLogError extends Error {
  override readonly name = 'IngestLogError';
}

/** One record read back from the log. */
export interface LogRecord {
  /** Position of the record's first byte. */
  readonly position: bigint;
  /** Position just after the record. */
  readonly end: bigint;
  readonly format: LogFormat;
  readonly body: Buffer;
}

/** What `append` returns at once: the record's end position, and when it is on disk. */
export interface Appended {
  readonly end: bigint;
  /** Resolves after the fdatasync covering the record; rejects if the write failed. */
  readonly durable: Promise<void>;
}

export interface IngestLogOptions {
  /** The log's own directory, e.g. `<dataDir>/ingest-log`; created if missing. */
  readonly dir: string;
  /** Records per segment before rolling to a new file, in bytes (default 64 MiB). */
  readonly segmentBytes?: number;
  /**
   * The position the store has applied up to. Segments entirely before it are deleted; when the
   * log is empty or ends before it, writing resumes at this position (positions never go back).
   */
  readonly startAt?: bigint;
  /**
   * The log position the store last recorded as acknowledged (durable in the log). Records
   * before it that the log no longer holds intact were acknowledged and are reported as damage.
   */
  readonly acknowledged?: bigint;
  /**
   * Copies of damaged bytes kept in `<dir>/damaged/` (default 16): on open, the oldest beyond
   * this many, or beyond `keepDamagedBytes` in all, are deleted (the newest is always kept).
   */
  readonly keepDamagedFiles?: number;
  /** Bytes of damaged copies kept in `<dir>/damaged/` in all (default 64 MiB). */
  readonly keepDamagedBytes?: number;
  /**
   * Least milliseconds between two durable writes of the `acknowledged` mark (default 1,000):
   * see `IngestLog.writeMark`.
   */
  readonly markSyncMs?: number;
  /** Milliseconds on a monotonic clock, for `markSyncMs` (default `performance.now`). */
  readonly now?: () => number;
  /** Told what the log deletes from `damaged/` and when the `acknowledged` mark cannot be written. */
  readonly logger?: Logger;
}

/**
 * A stretch of the log, after the store's position, that cannot be read back: `corrupt` bytes
 * (their copy is in `savedTo`) or `missing` positions that no file holds (a segment deleted, a
 * file cut short).
 */
export interface LogDamage {
  readonly kind: 'corrupt' | 'missing';
  /** The segment holding the bytes, or the log's directory for missing positions. */
  readonly file: string;
  readonly from: bigint;
  readonly to: bigint;
  readonly savedTo?: string;
}

const MAGIC = Buffer.from('ARDNLOG1', 'latin1');
const SEGMENT_HEADER_BYTES = 16;
const RECORD_HEADER_BYTES = 9;
const SEGMENT_NAME = /^(\d{20})\.log$/;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_KEEP_DAMAGED_FILES = 16;
const DEFAULT_KEEP_DAMAGED_BYTES = 64 * 1024 * 1024;
const DAMAGED_NAME = /^\d{20}-\d{20}\.bin$/;
/**
 * `<dir>/acknowledged`: two slots of u64 position and u64 span count of a durable record, u32
 * CRC-32; the first is the copy last made durable, the second the latest (see `writeMark`). A
 * 20-byte file (one slot) is an older version's.
 */
const MARK_FILE = 'acknowledged';
const MARK_BYTES = 20;
const DEFAULT_MARK_SYNC_MS = 1_000;
/** What `probe` writes to see whether the disk takes writes again. */
const PROBE_BYTES = 64 * 1024;

/** The last durable record as the `acknowledged` mark recorded it. */
export interface AcknowledgedMark {
  readonly position: bigint;
  /** Acknowledged spans up to `position`, counted as the store counts applied ones. */
  readonly spans: bigint;
}

/** The slot of the mark with the later position among those whose checksum holds; undefined if none does. */
function readMark(dir: string): AcknowledgedMark | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, MARK_FILE));
  } catch {
    return undefined;
  }
  let mark: AcknowledgedMark | undefined;
  for (let at = 0; at + MARK_BYTES <= bytes.length && at <= MARK_BYTES; at += MARK_BYTES) {
    if (crc32(bytes.subarray(at, at + 16)) !== bytes.readUInt32LE(at + 16)) continue;
    const position = bytes.readBigUInt64LE(at);
    if (mark === undefined || position > mark.position) mark = { position, spans: bytes.readBigUInt64LE(at + 8) };
  }
  return mark;
}

function markSlot(position: bigint, spans: bigint): Buffer {
  const slot = Buffer.alloc(MARK_BYTES);
  slot.writeBigUInt64LE(position, 0);
  slot.writeBigUInt64LE(spans, 8);
  slot.writeUInt32LE(crc32(slot.subarray(0, 16)), 16);
  return slot;
}

interface Segment {
  readonly start: bigint;
  readonly path: string;
  /** Bytes of records in the segment (its file size minus the header). */
  size: number;
}

interface Pending {
  readonly buffers: Buffer[];
  bytes: number;
  end: bigint;
  spans: number;
  readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

function segmentPath(dir: string, start: bigint): string {
  return join(dir, `${start.toString().padStart(20, '0')}.log`);
}

function segmentHeader(start: bigint): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeBigUInt64LE(start, 8);
  return header;
}

function recordHeader(format: LogFormat, body: Buffer): Buffer {
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  header.writeUInt32LE(body.length, 0);
  header.writeUInt8(format, 8);
  header.writeUInt32LE(recordChecksum(header, body), 4);
  return header;
}

function recordChecksum(header: Buffer, body: Buffer): number {
  return crc32(body, crc32(header.subarray(8, 9), crc32(header.subarray(0, 4))));
}

function isFormat(value: number): value is LogFormat {
  return Number.isInteger(value) && value >= LogFormat.OTLP_PROTOBUF && value <= LogFormat.ZIPKIN_JSON_V1;
}

/** A record's end offset if a whole, intact record starts at `at`; -1 otherwise. */
function recordEndAt(bytes: Buffer, at: number): number {
  if (at + RECORD_HEADER_BYTES > bytes.length) return -1;
  const length = bytes.readUInt32LE(at);
  const next = at + RECORD_HEADER_BYTES + length;
  if (!isFormat(bytes.readUInt8(at + 8)) || next > bytes.length) return -1;
  const header = bytes.subarray(at, at + RECORD_HEADER_BYTES);
  const body = bytes.subarray(at + RECORD_HEADER_BYTES, next);
  return recordChecksum(header, body) === bytes.readUInt32LE(at + 4) ? next : -1;
}

/** Whether a record header at `at` is plausible (format byte, length within the file), or the file ends there. */
function plausibleAt(bytes: Buffer, at: number): boolean {
  if (at === bytes.length) return true;
  if (at + RECORD_HEADER_BYTES > bytes.length) return false;
  return isFormat(bytes.readUInt8(at + 8)) && at + RECORD_HEADER_BYTES + bytes.readUInt32LE(at) <= bytes.length;
}

/**
 * Where the next intact record starts after a bad one at `at` (the file's length if none does).
 * Most damage leaves the bad record's length intact, so its own end is tried first; otherwise
 * every offset whose header is plausible and whose next header is plausible too is checked.
 */
function resync(bytes: Buffer, at: number): number {
  if (at + RECORD_HEADER_BYTES <= bytes.length) {
    const end = at + RECORD_HEADER_BYTES + bytes.readUInt32LE(at);
    if (end < bytes.length && recordEndAt(bytes, end) >= 0) return end;
  }
  for (let k = at + 1; k + RECORD_HEADER_BYTES <= bytes.length; k++) {
    if (!plausibleAt(bytes, k)) continue;
    const next = k + RECORD_HEADER_BYTES + bytes.readUInt32LE(k);
    if (!plausibleAt(bytes, next)) continue;
    if (recordEndAt(bytes, k) >= 0) return k;
  }
  return bytes.length;
}

/** A run of bytes in a segment that holds no intact record, as file offsets. */
interface BadRange {
  readonly from: number;
  readonly to: number;
}

/**
 * Reads one segment's bytes (header included): its intact records, and the runs of bytes between
 * or after them that are not intact records (skipped, never guessed at).
 */
function scanSegment(bytes: Buffer, start: bigint): { records: LogRecord[]; bad: BadRange[] } {
  const records: LogRecord[] = [];
  const bad: BadRange[] = [];
  let at = SEGMENT_HEADER_BYTES;
  while (at < bytes.length) {
    const next = recordEndAt(bytes, at);
    if (next < 0) {
      const to = resync(bytes, at);
      bad.push({ from: at, to });
      at = to;
      continue;
    }
    const position = start + BigInt(at - SEGMENT_HEADER_BYTES);
    records.push({
      position,
      end: position + BigInt(next - at),
      format: bytes.readUInt8(at + 8) as LogFormat,
      body: bytes.subarray(at + RECORD_HEADER_BYTES, next),
    });
    at = next;
  }
  return { records, bad };
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** Keeps a copy of damaged bytes in `<dir>/damaged/`, for a person to inspect; returns its path. */
function saveDamaged(dir: string, from: bigint, to: bigint, bytes: Buffer): string {
  const damagedDir = join(dir, 'damaged');
  mkdirSync(damagedDir, { recursive: true });
  const path = join(damagedDir, `${from.toString().padStart(20, '0')}-${to.toString().padStart(20, '0')}.bin`);
  writeFileSync(path, bytes);
  return path;
}

/**
 * Bounds `<dir>/damaged/`: keeps the newest copies (by modification time, then name) while they
 * number at most `files` and take at most `bytes` in all, always the newest one, and deletes the
 * rest, saying so to `logger`. Files it did not name itself are left alone. Returns the paths
 * deleted.
 */
function pruneDamaged(dir: string, files: number, bytes: number, logger: Logger): Set<string> {
  const damagedDir = join(dir, 'damaged');
  const removed = new Set<string>();
  let names: string[];
  try {
    names = readdirSync(damagedDir).filter((n) => DAMAGED_NAME.test(n));
  } catch {
    return removed; // no damage kept so far
  }
  const copies = names.flatMap((name) => {
    try {
      const { mtimeMs, size } = statSync(join(damagedDir, name));
      return [{ name, mtimeMs, size }];
    } catch {
      return []; // gone meanwhile
    }
  });
  copies.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  let kept = 0;
  let keptBytes = 0;
  const deleted: { name: string; size: number }[] = [];
  for (const copy of copies) {
    if (deleted.length === 0 && (kept === 0 || (kept < files && keptBytes + copy.size <= bytes))) {
      kept++;
      keptBytes += copy.size;
      continue;
    }
    const path = join(damagedDir, copy.name);
    try {
      unlinkSync(path);
      removed.add(path);
      deleted.push(copy);
    } catch (error) {
      logger.warn({ err: error, file: path }, 'ingest log: could not delete an old copy of damaged bytes');
    }
  }
  if (deleted.length > 0)
    logger.warn(
      {
        dir: damagedDir,
        removed: deleted.map((d) => d.name),
        removedBytes: deleted.reduce((n, d) => n + d.size, 0),
        kept,
        keptBytes,
      },
      `ingest log: deleted the ${deleted.length} oldest copies of damaged bytes, to keep at most ${files} files and ${bytes} bytes in ${damagedDir}`,
    );
  return removed;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The ingest log of one data directory. See the file comment for its format and guarantees. */
export class IngestLog {
  private readonly segments: Segment[];
  private fh: FileHandle;
  private pending: Pending | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private appendedEnd: bigint;
  private durableEnd: bigint;
  private syncs = 0;
  /** Set by a failed write until a write succeeds. */
  private failure: Error | undefined;
  /** Set when the log cannot go on (a write failed and cutting it back failed too). */
  private broken: Error | undefined;
  private acknowledgedSpans = 0n;
  private markFd: number | undefined;
  /** The position the mark's durable copy holds, when it was written (`now`), and the write under way. */
  private markSynced = -1n;
  private markSyncedAt = Number.NEGATIVE_INFINITY;
  private markSyncing: Promise<void> | undefined;
  private markSyncs = 0;
  /** Set while writing the mark fails, so that the failure is logged once. */
  private markFailing = false;
  private readonly markSyncMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    options: IngestLogOptions,
    segments: Segment[],
    fh: FileHandle,
    /** Bytes cut from a torn or corrupt tail when the log was opened. */
    readonly truncatedBytes: number,
    /**
     * What the log could not give back when it was opened, after the store's position: runs of
     * bytes that are not intact records (skipped by `records`), and positions no file holds.
     */
    readonly damage: readonly LogDamage[],
    /** The `acknowledged` mark as the log was opened, if it was readable. */
    readonly mark: AcknowledgedMark | undefined,
  ) {
    this.segments = segments;
    this.fh = fh;
    this.markSyncMs = options.markSyncMs ?? DEFAULT_MARK_SYNC_MS;
    this.now = options.now ?? (() => performance.now());
    this.logger = options.logger ?? silentLogger;
    const last = segments[segments.length - 1];
    this.appendedEnd = last.start + BigInt(last.size);
    this.durableEnd = this.appendedEnd;
  }

  /**
   * Opens (or creates) the log in `options.dir`. Segments the store has applied are deleted. In
   * the rest, runs of bytes that are not intact records are skipped (and reported in `damage`
   * when they lie after the store's position); a bad run at the very end of the last segment (a
   * write torn by a crash) is cut, its bytes kept in `damaged/` (which keeps only the newest
   * copies: `keepDamagedFiles`, `keepDamagedBytes`). Nothing the store has not applied is
   * deleted. Throws `IngestLogError` for a file that is not a segment of this log.
   */
  static async open(options: IngestLogOptions): Promise<IngestLog> {
    const { dir } = options;
    const startAt = options.startAt ?? 0n;
    const mark = readMark(dir);
    const acknowledged = maxBig(options.acknowledged ?? 0n, mark?.position ?? 0n);
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    mkdirSync(dir, { recursive: true });
    fsyncDir(dirname(dir));
    let found: Segment[] = [];
    for (const name of readdirSync(dir)) {
      const m = SEGMENT_NAME.exec(name);
      if (!m) continue;
      const path = join(dir, name);
      found.push({ start: BigInt(m[1]), path, size: statSync(path).size - SEGMENT_HEADER_BYTES });
    }
    found.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));

    // A segment created by a roll that crashed before its header was written is empty: remove it.
    let truncatedBytes = 0;
    const last = found[found.length - 1];
    if (last && last.size <= 0 && found.length > 1) {
      truncatedBytes += last.size + SEGMENT_HEADER_BYTES;
      await unlink(last.path);
      found.pop();
    }

    // Segments whose records the store has all applied are not needed any more (whatever their
    // state: what they held is in the store). The last one is kept to append to if it ends
    // exactly where the store is.
    const applied = found.filter((seg, i) => {
      const end = seg.start + BigInt(Math.max(0, seg.size));
      return end < startAt || (end === startAt && i < found.length - 1);
    });
    for (const seg of applied) await unlink(seg.path);
    found = found.filter((seg) => !applied.includes(seg));

    const damage: LogDamage[] = [];
    const missing = (from: bigint, to: bigint) => {
      if (from < startAt) from = startAt;
      if (to > from) damage.push({ kind: 'missing', file: dir, from, to });
    };
    let expected = startAt;
    /** Where the damage reported for a cut tail ends (it lies beyond `expected`). */
    let reported = 0n;
    for (let i = 0; i < found.length; i++) {
      const seg = found[i];
      const isLast = i === found.length - 1;
      missing(expected, seg.start);
      const bytes = readFileSync(seg.path);
      if (bytes.length < SEGMENT_HEADER_BYTES && isLast) {
        // Torn while its header was written: the segment holds no record yet.
        const fh = await open(seg.path, 'r+');
        try {
          await fh.truncate(0);
          await fh.write(segmentHeader(seg.start), 0, SEGMENT_HEADER_BYTES, 0);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        truncatedBytes += bytes.length;
        seg.size = 0;
        expected = seg.start;
        continue;
      }
      if (
        bytes.length < SEGMENT_HEADER_BYTES ||
        !bytes.subarray(0, 8).equals(MAGIC) ||
        bytes.readBigUInt64LE(8) !== seg.start
      )
        throw new IngestLogError(
          `${seg.path} is not an ingest log segment starting at ${seg.start}: it does not belong in ${dir}; move it out of the directory and start again`,
        );
      const { bad } = scanSegment(bytes, seg.start);
      const position = (offset: number) => seg.start + BigInt(offset - SEGMENT_HEADER_BYTES);
      for (const range of bad) {
        const torn = isLast && range.to === bytes.length;
        const from = position(range.from);
        const to = position(range.to);
        const savedTo =
          to > startAt || torn ? saveDamaged(dir, from, to, bytes.subarray(range.from, range.to)) : undefined;
        if (torn) {
          // The end of the log: a write torn by a crash. Cut it so appends continue after the
          // last intact record. It is damage only where the store knew it acknowledged.
          const fh = await open(seg.path, 'r+');
          try {
            await fh.truncate(range.from);
            await fh.datasync();
          } finally {
            await fh.close();
          }
          truncatedBytes += range.to - range.from;
          seg.size = range.from - SEGMENT_HEADER_BYTES;
          const lostTo = minBig(acknowledged, to);
          if (lostTo > from && lostTo > startAt) {
            damage.push({ kind: 'corrupt', file: seg.path, from: maxBig(from, startAt), to: lostTo, savedTo });
            reported = lostTo;
          }
        } else if (to > startAt) {
          damage.push({ kind: 'corrupt', file: seg.path, from: maxBig(from, startAt), to, savedTo });
        }
      }
      expected = seg.start + BigInt(seg.size);
    }
    // Acknowledged (as the store last knew) but beyond the end of what is left: cut off.
    missing(maxBig(expected, reported), acknowledged);
    const removed = pruneDamaged(
      dir,
      options.keepDamagedFiles ?? DEFAULT_KEEP_DAMAGED_FILES,
      options.keepDamagedBytes ?? DEFAULT_KEEP_DAMAGED_BYTES,
      options.logger ?? silentLogger,
    );
    const reportable = damage.map((d) =>
      d.savedTo !== undefined && removed.has(d.savedTo) ? { ...d, savedTo: undefined } : d,
    );

    // Appends continue at the end of the log, or where the store is if that is further: a
    // position once handed out is never reused.
    const resumeAt = [startAt, acknowledged, expected].reduce((a, b) => (a > b ? a : b));
    if (found.length === 0 || expected < resumeAt) {
      const path = segmentPath(dir, resumeAt);
      const fh = await open(path, 'w+');
      await fh.writeFile(segmentHeader(resumeAt));
      await fh.datasync();
      fsyncDir(dir);
      found.push({ start: resumeAt, path, size: 0 });
      return new IngestLog(dir, segmentBytes, options, found, fh, truncatedBytes, reportable, mark);
    }
    const fh = await open(found[found.length - 1].path, 'r+');
    return new IngestLog(dir, segmentBytes, options, found, fh, truncatedBytes, reportable, mark);
  }

  /** Position after the last record appended (durable or not). */
  get end(): bigint {
    return this.appendedEnd;
  }

  /** Position up to which every record is on disk (fdatasync done). */
  get durable(): bigint {
    return this.durableEnd;
  }

  /** Position of the oldest record still kept. */
  get start(): bigint {
    return this.segments[0].start;
  }

  /** Write + fdatasync rounds so far (each covers one group of records). */
  get syncCount(): number {
    return this.syncs;
  }

  /** Resolves once the durable write of the mark in progress, if any, has finished. */
  async markSettled(): Promise<void> {
    await this.markSyncing;
  }

  /** Durable writes of the `acknowledged` mark so far (see `writeMark`). */
  get markSyncCount(): number {
    return this.markSyncs;
  }

  /** Number of segment files. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Appends one record of `spans` spans. The end position is known at once; `durable` resolves
   * after the fdatasync that covers it. If the write fails (a full disk), the record and every
   * record appended after it are refused, the segment is cut back to its last durable record,
   * and the next append tries again; only if that cut fails too does the log refuse every later
   * append (what reached the disk is then unknown: restart, and the replay sorts it out).
   */
  append(format: LogFormat, body: Buffer, spans = 0): Appended {
    if (this.closed)
      return { end: this.appendedEnd, durable: Promise.reject(new IngestLogError('ingest log is closed')) };
    if (this.broken) return { end: this.appendedEnd, durable: Promise.reject(this.broken) };
    if (body.length > 0xffff_ffff) throw new IngestLogError(`record of ${body.length} bytes is too large`);
    const bytes = RECORD_HEADER_BYTES + body.length;
    this.appendedEnd += BigInt(bytes);
    this.pending ??= { buffers: [], bytes: 0, end: this.appendedEnd, spans: 0, waiters: [] };
    const group = this.pending;
    group.buffers.push(recordHeader(format, body), body);
    group.bytes += bytes;
    group.spans += spans;
    group.end = this.appendedEnd;
    const durable = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
    this.flushing ??= this.flushLoop();
    return { end: this.appendedEnd, durable };
  }

  /** The last write failure, while no write has succeeded since (for readiness reports). */
  get writeFailure(): Error | undefined {
    return this.broken ?? this.failure;
  }

  /**
   * After a failed write, checks whether writing works again (a full disk freed): writes and
   * syncs a block past the end of the active segment and cuts it off again. Clears the failure
   * if that works. Does nothing while the log is healthy or busy writing.
   */
  async probe(): Promise<boolean> {
    if (!this.failure || this.broken || this.closed || this.flushing) return !this.failure;
    const active = this.segments[this.segments.length - 1];
    const end = SEGMENT_HEADER_BYTES + active.size;
    await this.holdingFlushSlot(async () => {
      try {
        await this.fh.write(Buffer.alloc(PROBE_BYTES), 0, PROBE_BYTES, end);
        await this.fh.datasync();
        await this.fh.truncate(end);
        await this.fh.datasync();
        this.failure = undefined;
      } catch {
        await this.fh.truncate(end).catch(() => undefined);
      }
    });
    return !this.failure;
  }

  /**
   * Runs `fn` while holding the flush slot (only when no flush runs): appends meanwhile wait in
   * `pending`, and are flushed after it, so `fn` may change the active segment and its file.
   */
  private async holdingFlushSlot(fn: () => Promise<void>): Promise<void> {
    let done: () => void = () => undefined;
    this.flushing = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      await fn();
    } finally {
      this.flushing = undefined;
      done();
      if (this.pending) this.flushing = this.flushLoop();
    }
  }

  /**
   * Counts acknowledged spans from `spans` on (the store's applied count once the startup replay
   * is done); the count and position of the last durable record go to the `acknowledged` mark.
   */
  startCounting(spans: bigint): void {
    this.acknowledgedSpans = spans;
  }

  private async flushLoop(): Promise<void> {
    // Never finish synchronously (append assigns the promise), and take what this tick appended.
    await Promise.resolve();
    while (this.pending) {
      const group = this.pending;
      this.pending = undefined;
      try {
        if (this.broken) throw this.broken;
        const active = this.segments[this.segments.length - 1];
        if (active.size > 0 && active.size + group.bytes > this.segmentBytes) await this.roll();
        await this.writeGroup(group);
        this.durableEnd = group.end;
        this.failure = undefined;
        this.acknowledgedSpans += BigInt(group.spans);
        this.writeMark();
        void this.syncMarkIfDue(false);
        for (const w of group.waiters) w.resolve();
      } catch (error) {
        const failure =
          this.broken ?? new IngestLogError(`ingest log write failed: ${(error as Error).message}`, { cause: error });
        this.failure = failure;
        // Records appended meanwhile were placed after this group: refuse them too, and go back to
        // the last durable record.
        const later = this.pending as Pending | undefined;
        this.pending = undefined;
        for (const w of [...group.waiters, ...(later?.waiters ?? [])]) w.reject(failure);
        if (!this.broken) {
          this.appendedEnd = this.durableEnd;
          await this.rollBack(failure);
        }
      }
    }
    this.flushing = undefined;
  }

  /** After a failed write: cut the active segment back to its durable records. */
  private async rollBack(failure: Error): Promise<void> {
    try {
      const active = this.segments[this.segments.length - 1];
      await this.fh.truncate(SEGMENT_HEADER_BYTES + active.size);
      await this.fh.datasync();
    } catch (error) {
      this.broken = new IngestLogError(
        `${failure.message}; cutting the segment back to its last durable record failed too (${(error as Error).message}): restart to replay the log`,
        { cause: error },
      );
    }
  }

  /**
   * Writes the position and span count of the last durable record to the second slot of
   * `<dir>/acknowledged` (after every write + fdatasync, as before), in place and without a sync
   * of its own: it survives a killed process (the page cache keeps it) and tells the next start
   * exactly which acknowledged records a damaged log lost. A crash of the machine can lose it or
   * tear it (its checksum then fails), so the first slot holds a copy made durable
   * (`persistMark`) at most every `markSyncMs`, off the path that acknowledges, and again when
   * ingest pauses and at close: a torn second slot never takes the first with it, and a crash
   * of the machine loses at most the last `markSyncMs` of it. Best effort: only the loss report
   * depends on it (and the store records the acknowledged position with each commit too).
   */
  private writeMark(): void {
    try {
      if (this.markFd === undefined) {
        const path = join(this.dir, MARK_FILE);
        try {
          this.markFd = openSync(path, 'r+');
        } catch {
          this.markFd = openSync(path, 'w');
        }
      }
      writeSync(this.markFd, markSlot(this.durableEnd, this.acknowledgedSpans), 0, MARK_BYTES, MARK_BYTES);
      this.markWorks();
    } catch (error) {
      this.markFailed(error);
    }
  }

  /**
   * Starts a durable write of the mark if it is behind and none runs: when `markSyncMs` has
   * passed since the last (or at once, with `force`). Not awaited by anything that acknowledges.
   */
  private syncMarkIfDue(force: boolean): Promise<void> {
    if (this.markSyncing) return this.markSyncing;
    // Nothing acknowledged since the log was opened: the mark is as the last run left it.
    if (this.markFd === undefined) return Promise.resolve();
    if (this.markSynced === this.durableEnd || (!force && this.now() - this.markSyncedAt < this.markSyncMs))
      return Promise.resolve();
    this.markSyncedAt = this.now();
    const syncing = this.persistMark()
      .then(() => this.markWorks())
      .catch((error: unknown) => this.markFailed(error))
      .finally(() => {
        this.markSyncing = undefined;
      });
    this.markSyncing = syncing;
    return syncing;
  }

  /**
   * Writes both slots of the mark to a temporary file, syncs it, renames it over the mark and
   * syncs the directory; then the in-place writes go to the new file.
   */
  private async persistMark(): Promise<void> {
    const position = this.durableEnd;
    const slot = markSlot(position, this.acknowledgedSpans);
    const path = join(this.dir, MARK_FILE);
    const temporary = `${path}.tmp`;
    const fh = await open(temporary, 'w');
    try {
      await fh.writeFile(Buffer.concat([slot, slot]));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temporary, path);
    const directory = await open(this.dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    const previous = this.markFd;
    this.markFd = openSync(path, 'r+');
    if (previous !== undefined) closeSync(previous);
    this.markSynced = position;
    this.markSyncs++;
    // Appends acknowledged meanwhile went to the file just replaced.
    if (this.durableEnd !== position && !this.closed) this.writeMark();
  }

  private markWorks(): void {
    if (this.markFailing) this.logger.info('ingest log: the acknowledged mark is written again');
    this.markFailing = false;
  }

  private markFailed(error: unknown): void {
    if (!this.markFailing)
      this.logger.warn(
        { err: error, file: join(this.dir, MARK_FILE) },
        'ingest log: writing the acknowledged mark failed; after a crash, the loss report of a damaged log falls back on the store',
      );
    this.markFailing = true;
  }

  private async writeGroup(group: Pending): Promise<void> {
    const active = this.segments[this.segments.length - 1];
    let buffers = group.buffers;
    let offset = SEGMENT_HEADER_BYTES + active.size;
    let left = group.bytes;
    while (left > 0) {
      // Write at most 1,024 buffers per call (IOV_MAX) and continue after a short write.
      const chunk = buffers.slice(0, 1024);
      const chunkBytes = chunk.reduce((n, b) => n + b.length, 0);
      const { bytesWritten } = await this.fh.writev(chunk, offset);
      offset += bytesWritten;
      left -= bytesWritten;
      if (bytesWritten === chunkBytes) buffers = buffers.slice(chunk.length);
      else {
        let skip = bytesWritten;
        const rest: Buffer[] = [];
        for (const b of buffers) {
          if (skip >= b.length) skip -= b.length;
          else {
            rest.push(skip > 0 ? b.subarray(skip) : b);
            skip = 0;
          }
        }
        buffers = rest;
      }
    }
    await this.fh.datasync();
    this.syncs++;
    active.size += group.bytes;
  }

  /** Starts a new segment at the current durable end; the old one is complete and synced. */
  private async roll(): Promise<void> {
    const active = this.segments[this.segments.length - 1];
    const start = active.start + BigInt(active.size);
    const path = segmentPath(this.dir, start);
    const fh = await open(path, 'wx');
    try {
      await fh.write(segmentHeader(start), 0, SEGMENT_HEADER_BYTES, 0);
      fsyncDir(this.dir);
    } catch (error) {
      await fh.close();
      await unlink(path).catch(() => undefined); // so that the next roll can create it again
      throw error;
    }
    await this.fh.close();
    this.fh = fh;
    this.segments.push({ start, path, size: 0 });
  }

  /**
   * The intact records after position `after`, oldest first, read from disk, skipping the damage
   * found on open. Throws `IngestLogError` for damage found since, or if `after` is not a
   * record boundary. For the replay at startup, before anything is appended.
   */
  *records(after: bigint): Generator<LogRecord> {
    for (const seg of this.segments) {
      const end = seg.start + BigInt(seg.size);
      if (end <= after || seg.size === 0) continue;
      const bytes = readFileSync(seg.path).subarray(0, SEGMENT_HEADER_BYTES + seg.size);
      if (!bytes.subarray(0, 8).equals(MAGIC) || bytes.readBigUInt64LE(8) !== seg.start)
        throw new IngestLogError(`${seg.path} is not an ingest log segment starting at ${seg.start}`);
      const { records, bad } = scanSegment(bytes, seg.start);
      for (const range of bad) {
        const from = seg.start + BigInt(range.from - SEGMENT_HEADER_BYTES);
        const to = seg.start + BigInt(range.to - SEGMENT_HEADER_BYTES);
        if (to > after && !this.damage.some((d) => d.kind === 'corrupt' && d.from <= maxBig(from, after) && d.to >= to))
          throw new IngestLogError(`ingest log segment ${seg.path} is corrupt at position ${from}`);
      }
      for (const r of records) {
        if (r.end <= after) continue;
        if (r.position < after)
          throw new IngestLogError(`position ${after} is not the start of a record in ${seg.path}`);
        yield r;
      }
    }
  }

  /**
   * Deletes the segments whose records all lie before `position` (applied to the store), except
   * the one being written. With `everything`, also that one once it is entirely applied and
   * nothing is in flight (at shutdown, or when ingest pauses), so that a log at rest is one empty
   * segment: the records are in the database, and only the database takes space. Also brings
   * the `acknowledged` mark's durable copy up to date when it is due (with `everything`, at once).
   */
  async release(position: bigint, everything = false): Promise<void> {
    const idle = () => !this.closed && !this.failure && !this.broken && !this.flushing && !this.pending;
    if (everything && idle() && this.end <= position && this.segments[this.segments.length - 1].size > 0) {
      // Start an empty segment at the end, so the loop below can delete the last full one. The
      // server may be receiving (an idle trim): appends wait for the roll, then go to the new one.
      await this.holdingFlushSlot(() => this.roll());
    }
    while (this.segments.length > 1 && this.segments[0].start + BigInt(this.segments[0].size) <= position) {
      const s = this.segments.shift()!;
      await unlink(s.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    // After a store commit, or paused (`everything`): the mark's durable copy catches up if it is
    // due (at once when paused) rather than at the next append. Only a pause waits for it: the
    // queue's next store write must not wait behind its fsyncs.
    if (this.closed) return;
    if (everything) await this.syncMarkIfDue(true);
    else void this.syncMarkIfDue(false);
  }

  /** Waits for writes in flight, then closes the file. Appends after this fail. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.fh.close();
    await this.markSyncing;
    await this.syncMarkIfDue(true);
    if (this.markFd !== undefined) closeSync(this.markFd);
    this.markFd = undefined;
  }
}

/** The `source` under which the store keeps how far it has applied the ingest log. */
export const INGEST_LOG_SOURCE = 'ingest-log';
