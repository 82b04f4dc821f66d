import type { SpanContext } from './context.ts';
import { TraceFlags } from './context.ts';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  // A random id is all zeros with probability 2^-64 or less; the spec forbids all zeros, so draw again.
  do globalThis.crypto.getRandomValues(buf);
  while (buf.every((b) => b === 0));
  let out = '';
  for (const b of buf) out += HEX[b];
  return out;
}

/**
 * A new trace id: 16 bytes from `globalThis.crypto.getRandomValues` as 32 lowercase hex
 * characters, never all zeros (Trace Context §3.2.2.3 trace-id). All 16 bytes are random, so
 * a trace started with it may set the random-trace-id flag (§3.2.2.5.2). Needs Web Crypto
 * (`globalThis.crypto`, Node 20+ and browsers); it does not fall back to `Math.random`.
 */
export function generateTraceId(): string {
  return randomHex(16);
}

/**
 * A new span id (a `parent-id` on the wire): 8 random bytes as 16 lowercase hex characters,
 * never all zeros (Trace Context §3.2.2.4 parent-id). Same source as {@link generateTraceId}.
 */
export function generateSpanId(): string {
  return randomHex(8);
}

/** True if `id` is exactly 32 lowercase hex characters and not all zeros (§3.2.2.3). Uppercase is invalid. */
export function isValidTraceId(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id) && id !== '00000000000000000000000000000000';
}

/** True if `id` is exactly 16 lowercase hex characters and not all zeros (§3.2.2.4). Uppercase is invalid. */
export function isValidSpanId(id: string): boolean {
  return /^[0-9a-f]{16}$/.test(id) && id !== '0000000000000000';
}

/** Options for {@link createChildSpanContext}. */
export interface ChildSpanContextOptions {
  /**
   * The sampled flag of the new span context. Defaults to the parent's flag, or to `true` for a
   * new trace. Changing it is allowed because the child always gets a new parent-id
   * (Trace Context §3.4 Mutating the traceparent Field, "Update sampled").
   */
  readonly sampled?: boolean;
}

/**
 * The span context of a new span, to inject into outgoing requests: when the caller passes
 * `parent`, it continues its trace (same trace id, same trace state, the random-trace-id flag
 * exactly as received: §3.2.2.5.2 says it MUST stay unset if it was unset for the same trace id)
 * with a new span id, which becomes the new `parent-id` downstream (§3.4 "Update parent-id").
 * Without a parent it starts a new trace with a random trace id and the random flag set
 * (§3.2.2.5.2: all 16 bytes are random). Reserved flag bits are dropped (§3.2.2.5.3).
 * It does not record anything and does not make sampling decisions.
 */
export function createChildSpanContext(
  parent: SpanContext | undefined,
  options: ChildSpanContextOptions = {},
): SpanContext {
  if (parent === undefined) {
    const sampled = options.sampled ?? true;
    return Object.freeze({
      traceId: generateTraceId(),
      spanId: generateSpanId(),
      traceFlags: TraceFlags.RANDOM | (sampled ? TraceFlags.SAMPLED : 0),
      isRemote: false,
    });
  }
  const sampled = options.sampled ?? (parent.traceFlags & TraceFlags.SAMPLED) !== 0;
  const random = parent.traceFlags & TraceFlags.RANDOM;
  const child: SpanContext = {
    traceId: parent.traceId,
    spanId: generateSpanId(),
    traceFlags: random | (sampled ? TraceFlags.SAMPLED : 0),
    isRemote: false,
    ...(parent.traceState === undefined ? {} : { traceState: parent.traceState }),
  };
  return Object.freeze(child);
}
