import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

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

/** How a request body is encoded: what decoder replays it. */
export const LogFormat = { OTLP_PROTOBUF: 1, OTLP_JSON: 2 } as const;
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
}

const MAGIC = Buffer.from('ARDNLOG1', 'latin1');
const SEGMENT_HEADER_BYTES = 16;
const RECORD_HEADER_BYTES = 9;
const SEGMENT_NAME = /^(\d{20})\.log$/;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

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
  return value === LogFormat.OTLP_PROTOBUF || value === LogFormat.OTLP_JSON;
}

/**
 * Parses the records of one segment's bytes (header included). Returns the records and the file
 * offset where parsing stopped: the file's length when every record is whole and intact.
 */
function parseSegment(bytes: Buffer, start: bigint): { records: LogRecord[]; validBytes: number } {
  const records: LogRecord[] = [];
  let at = SEGMENT_HEADER_BYTES;
  while (at + RECORD_HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(at);
    const format = bytes.readUInt8(at + 8);
    const next = at + RECORD_HEADER_BYTES + length;
    if (!isFormat(format) || next > bytes.length) break;
    const header = bytes.subarray(at, at + RECORD_HEADER_BYTES);
    const body = bytes.subarray(at + RECORD_HEADER_BYTES, next);
    if (recordChecksum(header, body) !== bytes.readUInt32LE(at + 4)) break;
    const position = start + BigInt(at - SEGMENT_HEADER_BYTES);
    records.push({ position, end: position + BigInt(next - at), format, body });
    at = next;
  }
  return { records, validBytes: at };
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
  private failure: Error | undefined;
  private closed = false;
  private appendedEnd: bigint;
  private durableEnd: bigint;
  private syncs = 0;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    segments: Segment[],
    fh: FileHandle,
    /** Bytes cut from a torn or corrupt tail when the log was opened. */
    readonly truncatedBytes: number,
  ) {
    this.segments = segments;
    this.fh = fh;
    const last = segments[segments.length - 1];
    this.appendedEnd = last.start + BigInt(last.size);
    this.durableEnd = this.appendedEnd;
  }

  /** Opens (or creates) the log in `options.dir`, repairing a torn tail. */
  static async open(options: IngestLogOptions): Promise<IngestLog> {
    const { dir } = options;
    const startAt = options.startAt ?? 0n;
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    mkdirSync(dir, { recursive: true });
    fsyncDir(dirname(dir));
    const found: Segment[] = [];
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
    for (let i = 0; i < found.length; i++) {
      const s = found[i];
      if (s.size < 0 && i < found.length - 1)
        throw new IngestLogError(`ingest log segment ${s.path} is shorter than its header`);
      if (i > 0) {
        const previousEnd = found[i - 1].start + BigInt(found[i - 1].size);
        if (previousEnd !== s.start)
          throw new IngestLogError(
            `ingest log segments do not join: ${found[i - 1].path} ends at position ${previousEnd}, the next file starts at ${s.start}`,
          );
      }
    }

    // Segments entirely applied to the store are not needed any more.
    while (found.length > 0 && found[0].start + BigInt(Math.max(0, found[0].size)) <= startAt) {
      const s = found.shift()!;
      if (found.length === 0 && s.start + BigInt(s.size) === startAt && s.size >= 0) {
        found.push(s); // the log ends exactly where the store is: keep appending to it
        break;
      }
      await unlink(s.path);
    }
    if (found.length > 0 && found[0].start > startAt)
      throw new IngestLogError(
        `ingest log starts at position ${found[0].start} but the store has applied only up to ${startAt}: segments are missing from ${dir}`,
      );

    if (found.length === 0) {
      const path = segmentPath(dir, startAt);
      const fh = await open(path, 'w+');
      await fh.writeFile(segmentHeader(startAt));
      await fh.datasync();
      fsyncDir(dir);
      return new IngestLog(dir, segmentBytes, [{ start: startAt, path, size: 0 }], fh, truncatedBytes);
    }

    // Check the last segment record by record; cut a torn or corrupt tail (never acknowledged).
    const tail = found[found.length - 1];
    const bytes = readFileSync(tail.path);
    const fh = await open(tail.path, 'r+');
    try {
      if (bytes.length < SEGMENT_HEADER_BYTES) {
        // Torn while its header was written: the segment holds no record yet.
        await fh.truncate(0);
        await fh.write(segmentHeader(tail.start), 0, SEGMENT_HEADER_BYTES, 0);
        await fh.datasync();
        truncatedBytes += bytes.length;
        tail.size = 0;
      } else {
        if (!bytes.subarray(0, 8).equals(MAGIC) || bytes.readBigUInt64LE(8) !== tail.start)
          throw new IngestLogError(`${tail.path} is not an ingest log segment starting at ${tail.start}`);
        const { validBytes } = parseSegment(bytes, tail.start);
        if (validBytes < bytes.length) {
          await fh.truncate(validBytes);
          await fh.datasync();
          truncatedBytes += bytes.length - validBytes;
        }
        tail.size = validBytes - SEGMENT_HEADER_BYTES;
      }
    } catch (error) {
      await fh.close();
      throw error;
    }
    const log = new IngestLog(dir, segmentBytes, found, fh, truncatedBytes);
    if (log.end < startAt)
      throw new IngestLogError(
        `ingest log ends at position ${log.end} (after repairing its tail) but the store has applied up to ${startAt}: the log in ${dir} is damaged or belongs to another data directory`,
      );
    return log;
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

  /** Number of segment files. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Appends one record. The end position is known at once; `durable` resolves after the
   * fdatasync that covers it. After a failed write every later append fails too: what reached the
   * disk is unknown, so the process should restart and replay.
   */
  append(format: LogFormat, body: Buffer): Appended {
    if (this.closed)
      return { end: this.appendedEnd, durable: Promise.reject(new IngestLogError('ingest log is closed')) };
    if (this.failure) return { end: this.appendedEnd, durable: Promise.reject(this.failure) };
    if (body.length > 0xffff_ffff) throw new IngestLogError(`record of ${body.length} bytes is too large`);
    const bytes = RECORD_HEADER_BYTES + body.length;
    this.appendedEnd += BigInt(bytes);
    this.pending ??= { buffers: [], bytes: 0, end: this.appendedEnd, waiters: [] };
    const group = this.pending;
    group.buffers.push(recordHeader(format, body), body);
    group.bytes += bytes;
    group.end = this.appendedEnd;
    const durable = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
    this.flushing ??= this.flushLoop();
    return { end: this.appendedEnd, durable };
  }

  private async flushLoop(): Promise<void> {
    // Never finish synchronously (append assigns the promise), and take what this tick appended.
    await Promise.resolve();
    while (this.pending) {
      const group = this.pending;
      this.pending = undefined;
      try {
        if (this.failure) throw this.failure;
        const active = this.segments[this.segments.length - 1];
        if (active.size > 0 && active.size + group.bytes > this.segmentBytes) await this.roll();
        await this.writeGroup(group);
        this.durableEnd = group.end;
        for (const w of group.waiters) w.resolve();
      } catch (error) {
        this.failure ??= new IngestLogError(`ingest log write failed: ${(error as Error).message}`);
        for (const w of group.waiters) w.reject(this.failure);
      }
    }
    this.flushing = undefined;
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
      throw error;
    }
    await this.fh.close();
    this.fh = fh;
    this.segments.push({ start, path, size: 0 });
  }

  /**
   * The records after position `after`, oldest first, read from disk. Throws `IngestLogError` for
   * a corrupt record (the tail was repaired on open, so this is damage) or if `after` is not a
   * record boundary. For the replay at startup, before anything is appended.
   */
  *records(after: bigint): Generator<LogRecord> {
    for (const s of this.segments) {
      const end = s.start + BigInt(s.size);
      if (end <= after || s.size === 0) continue;
      const bytes = readFileSync(s.path).subarray(0, SEGMENT_HEADER_BYTES + s.size);
      if (!bytes.subarray(0, 8).equals(MAGIC) || bytes.readBigUInt64LE(8) !== s.start)
        throw new IngestLogError(`${s.path} is not an ingest log segment starting at ${s.start}`);
      const { records, validBytes } = parseSegment(bytes, s.start);
      if (validBytes < bytes.length)
        throw new IngestLogError(
          `ingest log segment ${s.path} is corrupt at position ${s.start + BigInt(validBytes - SEGMENT_HEADER_BYTES)}`,
        );
      for (const r of records) {
        if (r.end <= after) continue;
        if (r.position < after) throw new IngestLogError(`position ${after} is not the start of a record in ${s.path}`);
        yield r;
      }
    }
  }

  /**
   * Deletes the segments whose records all lie before `position` (applied to the store), except
   * the one being written. With `everything`, also that one once it is entirely applied and
   * nothing is in flight (at shutdown), so a cleanly stopped server leaves an empty log.
   */
  async release(position: bigint, everything = false): Promise<void> {
    if (everything && !this.failure && !this.flushing && !this.pending && this.end <= position) {
      const active = this.segments[this.segments.length - 1];
      // Start an empty segment at the end, so the loop below can delete the last full one.
      if (active.size > 0) await this.roll();
    }
    while (this.segments.length > 1 && this.segments[0].start + BigInt(this.segments[0].size) <= position) {
      const s = this.segments.shift()!;
      await unlink(s.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  }

  /** Waits for writes in flight, then closes the file. Appends after this fail. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.fh.close();
  }
}

/** The `source` under which the store keeps how far it has applied the ingest log. */
export const INGEST_LOG_SOURCE = 'ingest-log';
