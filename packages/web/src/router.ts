import { useEffect, useState } from 'preact/hooks';

/**
 * The URL is the one source of truth for what is on screen: the page, the search filters and the
 * selected span all live in it, so any view can be shared as a link and the back button works.
 * Components read it with `useLocation()` and change it with `navigate()`.
 */

/** The current path and query string. */
export interface AppLocation {
  readonly path: string;
  readonly query: URLSearchParams;
}

const CHANGE = 'ariadne:navigate';

function current(): AppLocation {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

/** Options for `navigate`. */
export interface NavigateOptions {
  /** Replace the history entry instead of pushing one (for state that should not pile up). */
  readonly replace?: boolean;
}

/** Moves to `url` (path plus query) inside the app, without reloading the page. */
export function navigate(url: string, options: NavigateOptions = {}): void {
  const target = new URL(url, window.location.href);
  if (target.pathname + target.search === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  window.dispatchEvent(new Event(CHANGE));
}

/** Returns a new URL for `path` with `params` (empty values dropped). */
export function buildUrl(path: string, params: URLSearchParams | Record<string, string | undefined>): string {
  const out = new URLSearchParams();
  const entries = params instanceof URLSearchParams ? [...params.entries()] : Object.entries(params);
  for (const [key, value] of entries) if (value !== undefined && value !== '') out.append(key, value);
  const text = out.toString();
  return text ? `${path}?${text}` : path;
}

/** Subscribes a component to the URL: it re-renders on pushes, replaces and back/forward. */
export function useLocation(): AppLocation {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return location;
}

/**
 * Turns a plain click on an in-app link into `navigate()`; modified clicks (new tab, new window)
 * keep the browser's behaviour.
 */
export function onLinkClick(event: MouseEvent, href: string): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(href);
}
