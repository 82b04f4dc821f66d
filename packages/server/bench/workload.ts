/**
 * A deterministic workload shaped like a real microservice system, for the benchmarks: tens of
 * services with hundreds of operations, traces of 5–200 spans (a few much larger), fan-out and
 * depth like the shop and the public fixtures, about 1.5 % errors, and about 20 attributes per span
 * whose keys and most values repeat (http.method, http.route, status codes, db.system) while a few
 * are nearly unique (user.id, order.id). Produces OTLP `ExportTraceServiceRequest` objects in the
 * protobufjs object form, ready to encode.
 */
import { seededRandom } from '@ariadne/core';

/** Shared with core's tests and benchmarks. */
export const prng = seededRandom;

const SERVICE_NAMES = [
  'frontend',
  'api-gateway',
  'auth',
  'user',
  'session',
  'catalog',
  'search',
  'recommendation',
  'cart',
  'checkout',
  'payment',
  'fraud',
  'inventory',
  'warehouse',
  'shipping',
  'order',
  'invoice',
  'email',
  'notification',
  'review',
  'rating',
  'pricing',
  'currency',
  'tax',
  'loyalty',
  'ads',
  'media',
  'geo',
  'config',
  'audit',
];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const DB_SYSTEMS = ['postgresql', 'redis', 'mongodb', 'mysql'];

interface Operation {
  readonly name: string;
  readonly route: string;
  readonly method: string;
  readonly db?: string;
  readonly meanMs: number;
}

interface Service {
  readonly name: string;
  readonly operations: Operation[];
  readonly hosts: string[];
  readonly version: string;
}

export interface Workload {
  readonly services: readonly Service[];
  readonly rand: () => number;
}

/** Builds the service catalogue (30 services, 300+ operations) from a seed. */
export function makeWorkload(seed: number): Workload {
  const rand = prng(seed);
  const services = SERVICE_NAMES.map((name, i) => {
    const count = 6 + Math.floor(rand() * 10);
    const operations: Operation[] = [];
    for (let k = 0; k < count; k++) {
      const method = METHODS[Math.floor(rand() * METHODS.length)];
      const resource = ['items', 'orders', 'users', 'carts', 'sessions', 'prices', 'stock', 'events'][k % 8];
      const route = `/api/v${1 + (k % 2)}/${resource}${k % 3 === 0 ? '/{id}' : ''}${k >= 8 ? `/${k}` : ''}`;
      const isDb = k % 4 === 3;
      operations.push({
        name: isDb ? `${['SELECT', 'INSERT', 'UPDATE'][k % 3]} ${resource}` : `${method} ${route}`,
        route,
        method,
        db: isDb ? DB_SYSTEMS[(i + k) % DB_SYSTEMS.length] : undefined,
        meanMs: 1 + rand() * 80,
      });
    }
    return {
      name,
      operations,
      hosts: [0, 1, 2].map((h) => `${name}-${(i * 7919 + h * 104729).toString(36)}`),
      version: `1.${i % 5}.${i % 3}`,
    };
  });
  return { services, rand };
}

function hexBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  if (out.every((b) => b === 0)) out[0] = 1;
  return out;
}

type Kv = { key: string; value: Record<string, unknown> };
const s = (key: string, value: string): Kv => ({ key, value: { stringValue: value } });
const n = (key: string, value: number): Kv => ({ key, value: { intValue: value } });
const b = (key: string, value: boolean): Kv => ({ key, value: { boolValue: value } });

/** One generated span before grouping: protobufjs object form plus its service. */
export interface GeneratedSpan {
  readonly service: Service;
  readonly host: string;
  readonly span: Record<string, unknown>;
}

/**
 * Generates one trace starting at `startMs` (unix ms). Size: usually 5–60 spans, sometimes up to
 * 200, rarely 1,000–2,000.
 */
export function generateTrace(w: Workload, startMs: number): GeneratedSpan[] {
  const { rand, services } = w;
  const r = rand();
  const target =
    r < 0.002
      ? 1000 + Math.floor(rand() * 1000)
      : r < 0.1
        ? 60 + Math.floor(rand() * 140)
        : 5 + Math.floor(rand() * 55);
  const traceId = hexBytes(rand, 16);
  const userId = `user-${Math.floor(rand() * 2_000_000)}`;
  const orderId = `ORD-${Math.floor(rand() * 1e12).toString(36)}`;
  const failing = rand() < 0.015;
  const out: GeneratedSpan[] = [];
  const startNs = BigInt(Math.floor(startMs)) * 1_000_000n + BigInt(Math.floor(rand() * 1e6));
  // Breadth-first growth: each span calls a few others, deeper calls get shorter.
  const queue: { service: Service; parent?: Uint8Array; start: bigint; budget: bigint; depth: number }[] = [
    {
      service: services[Math.floor(rand() * 3)],
      start: startNs,
      budget: BigInt(Math.floor((20 + rand() * 400) * 1e6)),
      depth: 0,
    },
  ];
  while (queue.length > 0 && out.length < target) {
    const item = queue.shift()!;
    const op = item.service.operations[Math.floor(rand() * item.service.operations.length)];
    const spanId = hexBytes(rand, 8);
    const duration = item.budget;
    const isError = failing && (out.length === 0 || rand() < 0.3);
    const status = isError ? 500 : rand() < 0.02 ? 404 : 200;
    const attributes: Kv[] = [
      s('http.method', op.method),
      s('http.route', op.route),
      n('http.status_code', status),
      s('http.scheme', 'http'),
      s('http.flavor', '1.1'),
      s('net.host.name', item.service.hosts[out.length % item.service.hosts.length]),
      n('net.host.port', 8080),
      s('net.peer.name', item.service.name),
      s('http.user_agent', ['Mozilla/5.0', 'okhttp/4.9', 'Go-http-client/1.1', 'curl/8.0'][out.length % 4]),
      s('component', op.db ? 'db' : 'http'),
      s('thread.name', `worker-${Math.floor(rand() * 8)}`),
      n('thread.id', Math.floor(rand() * 64)),
      s('deployment.environment', 'production'),
      s('cloud.region', ['us-east-1', 'eu-west-1'][item.depth % 2]),
      s('user.id', userId),
      s('order.id', orderId),
      b('cache.hit', rand() < 0.4),
      s('peer.service', item.service.name),
      s('otel.library', 'http'),
    ];
    if (op.db) {
      attributes.push(s('db.system', op.db), s('db.statement', `${op.name} WHERE id = ?`));
    } else {
      attributes.push(s('http.target', op.route.replace('{id}', String(Math.floor(rand() * 1000)))));
    }
    out.push({
      service: item.service,
      host: item.service.hosts[Math.floor(rand() * item.service.hosts.length)],
      span: {
        traceId,
        spanId,
        parentSpanId: item.parent,
        name: op.name,
        kind: item.depth === 0 ? 2 : op.db ? 3 : rand() < 0.5 ? 2 : 3,
        startTimeUnixNano: item.start.toString(),
        endTimeUnixNano: (item.start + duration).toString(),
        attributes,
        status: isError ? { code: 2, message: 'upstream failed' } : {},
        events: isError
          ? [
              {
                timeUnixNano: (item.start + duration / 2n).toString(),
                name: 'exception',
                attributes: [s('exception.type', 'TimeoutError'), s('exception.message', 'deadline exceeded')],
              },
            ]
          : [],
      },
    });
    const fanout = item.depth > 6 ? 0 : 1 + Math.floor(rand() * (item.depth === 0 ? 6 : 4));
    for (let c = 0; c < fanout; c++) {
      const childStart = item.start + (duration * BigInt(Math.floor(rand() * 40))) / 100n;
      queue.push({
        service: services[Math.floor(rand() * services.length)],
        parent: spanId,
        start: childStart,
        budget: (duration * BigInt(10 + Math.floor(rand() * 50))) / 100n + 1000n,
        depth: item.depth + 1,
      });
    }
  }
  return out;
}

/** Groups generated spans into one OTLP request: one resourceSpans per service and host. */
export function toExportRequest(spans: readonly GeneratedSpan[]): Record<string, unknown> {
  const groups = new Map<string, { service: Service; host: string; spans: Record<string, unknown>[] }>();
  for (const g of spans) {
    const key = `${g.service.name}|${g.host}`;
    let group = groups.get(key);
    if (!group) {
      group = { service: g.service, host: g.host, spans: [] };
      groups.set(key, group);
    }
    group.spans.push(g.span);
  }
  return {
    resourceSpans: [...groups.values()].map((g) => ({
      resource: {
        attributes: [
          s('service.name', g.service.name),
          s('service.version', g.service.version),
          s('host.name', g.host),
          s('telemetry.sdk.language', 'nodejs'),
          s('telemetry.sdk.name', 'opentelemetry'),
          s('telemetry.sdk.version', '2.0.0'),
        ],
      },
      scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-http', version: '0.200.0' }, spans: g.spans }],
    })),
  };
}
