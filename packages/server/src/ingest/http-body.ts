import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { QueueClosedError, QueueFullError } from './write-queue.ts';

/**
 * What the HTTP receivers (OTLP/HTTP, Zipkin) share: reading a request body within a limit, and
 * answering 503 when the write queue cannot take the spans.
 */

/** The body is larger than the limit after decompression: 413. */
export class BodyTooLargeError extends Error {}

/** The body cannot be decompressed: 400. */
export class BadEncodingError extends Error {}

/**
 * Reads a request body, decompressing gzip or deflate on the fly and counting the bytes after
 * decompression, so a gzip bomb stops at `limit` bytes instead of exhausting memory.
 */
export async function readBody(stream: Readable, encoding: string, limit: number): Promise<Buffer> {
  let source: Readable = stream;
  if (encoding === 'gzip') source = stream.pipe(createGunzip());
  else if (encoding === 'deflate') source = stream.pipe(createInflate());
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of source) {
      total += (chunk as Buffer).length;
      if (total > limit) throw new BodyTooLargeError();
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (source !== stream) source.destroy();
    stream.resume();
    if (error instanceof BodyTooLargeError) throw error;
    if (encoding !== 'identity')
      throw new BadEncodingError(`cannot decompress ${encoding} body: ${(error as Error).message}`);
    throw error;
  }
  return Buffer.concat(chunks, total);
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
