/**
 * Service colours. A trace view colours services by their order in the trace so that no two
 * services of one trace share a colour (up to the palette size); elsewhere a stable hash keeps a
 * service's colour the same across pages.
 */

const PALETTE = [
  '#3b82f6',
  '#f59e0b',
  '#10b981',
  '#a855f7',
  '#ec4899',
  '#06b6d4',
  '#84cc16',
  '#f97316',
  '#6366f1',
  '#14b8a6',
  '#eab308',
  '#d946ef',
  '#0ea5e9',
  '#22c55e',
  '#f43f5e',
  '#8b5cf6',
];

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** A stable colour for a service name, the same on every page. */
export function serviceColor(service: string): string {
  return PALETTE[hash(service) % PALETTE.length];
}

/** Colours for the services of one trace: distinct by position, in the order given. */
export function serviceColorMap(services: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  services.forEach((service, i) => {
    map.set(service, i < PALETTE.length ? PALETTE[i] : serviceColor(service));
  });
  return map;
}
