import { fetchTagNames, fetchTagValues, type TagScope, type TagValueJson } from './api.ts';
import type { TimeWindow } from './time-range.ts';

/** How long fetched names and values are reused while typing. */
const FRESH_MS = 30_000;

/** Attribute names and values for the TraceQL editor's completion. */
export interface TagSource {
  names(scope: TagScope): Promise<readonly string[]>;
  /** Values of `field`, on spans `where` (a spanset filter) selects when given. */
  values(field: string, where?: string): Promise<readonly TagValueJson[]>;
}

/**
 * Names and values from the tags API for the window `window()` returns when asked (the search
 * page's time range), each answer reused for 30 s so that typing does not send a request per key.
 * A failed request is not kept: the next keystroke asks again.
 */
export function createTagSource(window: () => TimeWindow, now: () => number = Date.now): TagSource {
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  function cached<T>(key: string, load: (w: TimeWindow) => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit && now() - hit.at < FRESH_MS) return hit.value as Promise<T>;
    const value = load(window());
    cache.set(key, { at: now(), value });
    value.catch(() => {
      if (cache.get(key)?.value === value) cache.delete(key);
    });
    return value;
  }
  return {
    names: (scope) => cached(`names\u0000${scope}`, (w) => fetchTagNames(scope, w.start, w.end)),
    values: (field, where) =>
      cached(`values\u0000${field}\u0000${where ?? ''}`, (w) => fetchTagValues(field, { ...w, where })),
  };
}
