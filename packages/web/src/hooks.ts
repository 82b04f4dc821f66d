import { useEffect, useState } from 'preact/hooks';

/** The state of an async load: the value, the error, and whether a request is in flight. */
export interface AsyncState<T> {
  readonly value: T | undefined;
  readonly error: Error | undefined;
  readonly loading: boolean;
}

/**
 * Runs `load` whenever `key` changes, aborting the previous request; stale answers are dropped.
 * `key` must capture everything `load` depends on.
 */
export function useAsync<T>(key: string, load: (signal: AbortSignal) => Promise<T>): AsyncState<T> {
  const [state, setState] = useState<AsyncState<T>>({ value: undefined, error: undefined, loading: true });
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ value: s.value, error: undefined, loading: true }));
    load(controller.signal).then(
      (value) => {
        if (!controller.signal.aborted) setState({ value, error: undefined, loading: false });
      },
      (error: Error) => {
        if (!controller.signal.aborted) setState({ value: undefined, error, loading: false });
      },
    );
    return () => controller.abort();
  }, [key]);
  return state;
}

/** Copies text to the clipboard, falling back to a hidden textarea where the API is missing. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}
