import { formatDuration } from '@ariadne/core';

/** Display helpers shared by the pages. Rounded for people, never for machines. */

/** Formats a duration given as nanoseconds in a decimal string, a bigint or a number. */
export function formatNanos(nanos: string | bigint | number): string {
  if (typeof nanos === 'number') return formatDuration(BigInt(Math.round(nanos)));
  return formatDuration(typeof nanos === 'string' ? BigInt(nanos) : nanos);
}

/** Formats unix nanoseconds (decimal string or bigint) as a local date and time with ms. */
export function formatTimestamp(unixNanos: string | bigint): string {
  const ms = Number(BigInt(unixNanos) / 1_000_000n);
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** "3 minutes ago" style age of a unix-nanos timestamp relative to `now` (ms). */
export function formatAge(unixNanos: string | bigint, now: number = Date.now()): string {
  const ms = now - Number(BigInt(unixNanos) / 1_000_000n);
  const s = Math.round(ms / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

/** Formats a fraction (0..1) as a percentage with sensible precision. */
export function formatPercent(fraction: number): string {
  const pct = fraction * 100;
  if (pct === 0) return '0%';
  if (pct < 0.1) return '<0.1%';
  if (pct < 10) return `${pct.toFixed(1)}%`;
  return `${Math.round(pct)}%`;
}

/** Formats a count with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Shortens a hex id for display: the first 7 characters, as git does. */
export function shortId(id: string): string {
  return id.slice(0, 7);
}

/** Picks round tick positions (in the same unit as `max`) for an axis from 0 to `max`. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const step = (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(v);
  return ticks;
}
