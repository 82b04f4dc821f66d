import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { QueueClosedError, QueueFullError } from './write-queue.ts';

/**
 * What the HTTP receivers (OTLP/HTTP, Zipkin) share: reading a request body within a size limit,
 * an in-flight budget and a minimum rate, and answering 503 when the write queue cannot take the
 * spans.
 */

/** The body is larger than the limit after decompression: 413. */
export class BodyTooLargeError extends Error {}

/** The body cannot be decompressed: 400. */
export class BadEncodingError extends Error {}

/**
 * The bodies in memory would exceed the in-flight budget (admission.ts) before this one was read
 * whole: 503 with `Retry-After`, and the connection closed (the rest of the body is not read).
 */
export class BodyBudgetError extends Error {}

/** The body arrives slower than the minimum rate (`BodyWatchdog`): 408, and the connection closed. */
export class SlowBodyError extends Error {}

/** The client went away before its body was complete. */
export class BodyAbortedError extends Error {}

/**
 * The minimum rate a body must arrive at: once `graceMs` have passed since the read started, a
 * body that has received fewer than `minBytesPerSecond` bytes for every second beyond the grace is
 * cut. Put another way, a body of N bytes has `graceMs` plus N / `minBytesPerSecond` seconds to
 * arrive; one byte a second is cut soon after the grace. Bytes are counted as sent (before
 * decompression).
 */
export interface BodyWatchdog {
  readonly minBytesPerSecond: number;
  readonly graceMs: number;
  /** Milliseconds now (default `Date.now`, which node:test mock timers control). */
  readonly now?: () => number;
  /** How often the rate is checked (default 1 s). */
  readonly checkEveryMs?: number;
}

/** The default `BodyWatchdog`: 16 KiB/s after 10 s (docs/operations.md, "Overload"). */
export const DEFAULT_BODY_WATCHDOG: BodyWatchdog = { minBytesPerSecond: 16 * 1024, graceMs: 10_000 };

/** Options of `readBody` beyond the size limit. */
export interface ReadBodyOptions {
  /**
   * Asked with the bytes read so far (after decompression) before each chunk is kept; false
   * stops the read with `BodyBudgetError`. See `Reservation.grow`.
   */
  readonly reserve?: (total: number) => boolean;
  /** Cut bodies that arrive slower than this (default: never). */
  readonly watchdog?: BodyWatchdog;
  /**
   * Bytes to leave before the body in the buffer it is read into (default 0): the returned body
   * then starts at this offset of an ArrayBuffer of its own, which a caller may fill in front
   * (decode-zipkin.ts, `zipkinRecord`) and transfer to a worker without copying the body.
   */
  readonly headroom?: number;
}

/** The chunks of a body in one buffer, after `headroom` bytes; the returned view starts after them. */
function joined(chunks: readonly Buffer[], total: number, headroom: number): Buffer {
  if (headroom === 0) return Buffer.concat(chunks, total);
  const whole = Buffer.allocUnsafeSlow(headroom + total);
  let at = headroom;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.length;
  }
  return whole.subarray(headroom);
}

/**
 * Reads a request body, decompressing gzip or deflate on the fly and counting the bytes after
 * decompression, so a gzip bomb stops at `limit` bytes instead of exhausting memory. With
 * `options`, it also stops when the in-flight budget is spent (`BodyBudgetError`) or the body is
 * too slow (`SlowBodyError`). On an error, the rest of the body is left unread: a caller that
 * answers and keeps the connection resumes the stream (to discard it); after `BodyBudgetError` or
 * `SlowBodyError` the caller closes the connection instead (`closeConnectionAfterReply`).
 */
export function readBody(
  stream: Readable,
  encoding: string,
  limit: number,
  options: ReadBodyOptions = {},
): Promise<Buffer> {
  let source: Readable = stream;
  if (encoding === 'gzip') source = stream.pipe(createGunzip());
  else if (encoding === 'deflate') source = stream.pipe(createInflate());
  const { reserve, watchdog } = options;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let wire = 0;
    let done = false;
    const now = watchdog?.now ?? Date.now;
    const started = now();
    const timer =
      watchdog &&
      setInterval(() => {
        const beyondGrace = now() - started - watchdog.graceMs;
        if (beyondGrace > 0 && wire < (watchdog.minBytesPerSecond * beyondGrace) / 1000)
          finish(
            new SlowBodyError(
              `request body arrived too slowly: ${wire} bytes in ${Math.round((now() - started) / 1000)} s (at least ${watchdog.minBytesPerSecond} bytes/s after ${watchdog.graceMs / 1000} s)`,
            ),
          );
      }, watchdog.checkEveryMs ?? 1_000);
    timer?.unref();
    const onWire = (chunk: Buffer) => {
      wire += chunk.length;
    };
    const onData = (chunk: Buffer) => {
      if (source === stream) wire += chunk.length;
      total += chunk.length;
      if (total > limit) return finish(new BodyTooLargeError());
      if (reserve && !reserve(total)) return finish(new BodyBudgetError('too many request bodies in memory at once'));
      chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onSourceError = (error: Error) =>
      finish(
        source === stream
          ? new BodyAbortedError(`request body not received: ${error.message}`)
          : new BadEncodingError(`cannot decompress ${encoding} body: ${error.message}`),
      );
    const onStreamError = (error: Error) => finish(new BodyAbortedError(`request body not received: ${error.message}`));
    const onClose = () => {
      if (!stream.readableEnded) finish(new BodyAbortedError('the client closed the connection before the body ended'));
    };
    function finish(error?: Error) {
      if (done) return;
      done = true;
      if (timer) clearInterval(timer);
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onSourceError);
      stream.off('data', onWire);
      stream.off('error', onStreamError);
      stream.off('close', onClose);
      if (error === undefined) return resolve(joined(chunks, total, options.headroom ?? 0));
      if (source !== stream) {
        stream.unpipe(source as unknown as NodeJS.WritableStream);
        source.destroy();
      }
      // Cut or over budget: read no more (the connection closes); otherwise discard the rest.
      if (error instanceof SlowBodyError || error instanceof BodyBudgetError) stream.pause();
      else stream.resume();
      reject(error);
    }
    // A client gone before the read started: no event will come.
    if (stream.destroyed && !stream.readableEnded)
      return finish(new BodyAbortedError('the client closed the connection before the body ended'));
    if (source !== stream) {
      stream.on('data', onWire);
      stream.on('error', onStreamError);
    }
    stream.on('close', onClose);
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onSourceError);
  });
}

/** Bodies up to this size are discarded after an early refusal; larger ones close the connection. */
const DISCARD_LIMIT_BYTES = 64 * 1024;

/**
 * For a request refused before its body was read (admission.ts): a small body is discarded unread
 * (nothing kept or decoded), which keeps the connection and lets the sender see the 503 and its
 * `Retry-After`; a large or chunked one closes the connection after the reply, because under
 * heavy overload, with hundreds of exports retrying, reading megabytes a second only to throw
 * them away takes the CPU the store needs (bench:overload measured it). The sender then sees the
 * 503 or a reset connection; OpenTelemetry exporters retry both, the latter with their own
 * growing backoff.
 */
export function leaveBodyUnread(
  stream: Readable | undefined,
  declaredBytes: number | undefined,
  reply: { header(name: string, value: string): unknown },
): void {
  if (declaredBytes !== undefined && declaredBytes <= DISCARD_LIMIT_BYTES) stream?.resume();
  else closeConnectionAfterReply(reply);
}

/**
 * After a reply to a request whose body was not read whole (cut for its rate, or over the
 * in-flight budget): the connection closes once the reply is sent, so nothing more of that body
 * is read.
 */
export function closeConnectionAfterReply(reply: { header(name: string, value: string): unknown }): void {
  reply.header('connection', 'close');
}

/** How to answer a request whose spans the queue did not take (503 with `Retry-After`). */
export interface Unavailable {
  readonly retryAfterSeconds: number;
  readonly message: string;
  /** Not the queue being full or closed but a failure (of the log, the store, the worker): log it. */
  readonly unexpected: boolean;
}

/**
 * The 503 answer for an error from `WriteQueue.decode` or `enqueueDecoded`: the queue full (retry
 * after its delay), closed (shutting down), or a failure, whose message says what could not be
 * done (`what`: `decoded`, `stored`) and which the caller logs.
 */
export function unavailableAnswer(error: unknown, what: string): Unavailable {
  const message = (error as Error).message;
  if (error instanceof QueueFullError)
    return { retryAfterSeconds: error.retryAfterSeconds, message, unexpected: false };
  if (error instanceof QueueClosedError) return { retryAfterSeconds: 5, message, unexpected: false };
  return { retryAfterSeconds: 5, message: `spans could not be ${what}: ${message}`, unexpected: true };
}
