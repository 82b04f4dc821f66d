import { fromDatetimeLocal, LOOKBACK_PRESETS, toDatetimeLocal } from '../time-range.ts';

/** The value edited by `TimeRangePicker`: a preset or `custom` with local datetime strings. */
export interface TimeRangeValue {
  readonly lookback: string;
  readonly start: string;
  readonly end: string;
}

/** Reads a `TimeRangeValue` from URL parameters. */
export function timeRangeFromQuery(query: URLSearchParams): TimeRangeValue {
  const lookback = query.get('lookback') ?? '1h';
  const start = Number(query.get('start'));
  const end = Number(query.get('end'));
  return {
    lookback,
    start: start > 0 ? toDatetimeLocal(start) : toDatetimeLocal(Date.now() - 3_600_000),
    end: end > 0 ? toDatetimeLocal(end) : toDatetimeLocal(Date.now()),
  };
}

/** Writes a `TimeRangeValue` into URL parameters (`lookback`, plus `start`/`end` when custom). */
export function timeRangeToParams(value: TimeRangeValue, params: URLSearchParams): void {
  params.set('lookback', value.lookback);
  if (value.lookback === 'custom') {
    const start = fromDatetimeLocal(value.start);
    const end = fromDatetimeLocal(value.end);
    if (start !== undefined) params.set('start', String(start));
    if (end !== undefined) params.set('end', String(end));
  }
}

/** A select of time presets plus a custom from/to range. */
export function TimeRangePicker(props: { value: TimeRangeValue; onChange: (value: TimeRangeValue) => void }) {
  const { value, onChange } = props;
  return (
    <div class="field">
      <label for="lookback">Time range</label>
      <select
        id="lookback"
        name="lookback"
        class="select"
        value={value.lookback}
        onChange={(e) => onChange({ ...value, lookback: e.currentTarget.value })}
      >
        {LOOKBACK_PRESETS.map((p) => (
          <option key={p.value} value={p.value}>
            {p.label}
          </option>
        ))}
        <option value="custom">Custom range…</option>
      </select>
      {value.lookback === 'custom' && (
        <div class="field" style={{ gap: '6px', marginTop: '4px' }}>
          <input
            class="input"
            type="datetime-local"
            aria-label="From"
            name="start"
            value={value.start}
            onInput={(e) => onChange({ ...value, start: e.currentTarget.value })}
          />
          <input
            class="input"
            type="datetime-local"
            aria-label="To"
            name="end"
            value={value.end}
            onInput={(e) => onChange({ ...value, end: e.currentTarget.value })}
          />
        </div>
      )}
    </div>
  );
}
