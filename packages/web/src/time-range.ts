/**
 * Time windows for search and the services page, as kept in the URL: `lookback=1h` (a preset,
 * relative to now when the request is made) or `lookback=custom&start=<unix ms>&end=<unix ms>`.
 */

/** A preset window: its URL value, label and length in ms. */
export interface LookbackPreset {
  readonly value: string;
  readonly label: string;
  readonly ms: number;
}

/** The presets offered in every time-range picker. */
export const LOOKBACK_PRESETS: readonly LookbackPreset[] = [
  { value: '5m', label: 'Last 5 minutes', ms: 5 * 60_000 },
  { value: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '6h', label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { value: '2d', label: 'Last 2 days', ms: 48 * 3_600_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 24 * 3_600_000 },
];

/** The default preset when the URL names none. */
export const DEFAULT_LOOKBACK = '1h';

/** A resolved window in unix milliseconds. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/**
 * Resolves the window named by URL parameters at time `now`. A custom window with a missing or
 * unparsable bound falls back to the default preset's length ending now.
 */
export function resolveWindow(query: URLSearchParams, now: number = Date.now()): TimeWindow {
  const lookback = query.get('lookback') ?? DEFAULT_LOOKBACK;
  if (lookback === 'custom') {
    const start = Number(query.get('start'));
    const end = query.get('end') ? Number(query.get('end')) : now;
    if (Number.isFinite(start) && start > 0 && Number.isFinite(end) && end > start) return { start, end };
  }
  const preset = LOOKBACK_PRESETS.find((p) => p.value === lookback) ?? LOOKBACK_PRESETS[2];
  return { start: now - preset.ms, end: now };
}

/** Formats unix ms for an `<input type="datetime-local">` in local time. */
export function toDatetimeLocal(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Parses an `<input type="datetime-local">` value (local time) to unix ms, or undefined. */
export function fromDatetimeLocal(text: string): number | undefined {
  if (!text) return undefined;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}
