/**
 * Known traces for the browser tests and the UI benchmark, built as OTLP JSON
 * (`ExportTraceServiceRequest`) so that they go in through the real OTLP/HTTP receiver.
 */

/** An attribute value as a fixture writes it. */
export type FixtureValue = string | number | boolean;

/** One span of a fixture; times are milliseconds from the trace's base time. */
export interface FixtureSpan {
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly service: string;
  readonly name: string;
  /** OTLP span kind number: 1 internal, 2 server, 3 client. */
  readonly kind?: number;
  readonly startMs: number;
  readonly durationMs: number;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status?: { readonly code: number; readonly message?: string };
  readonly attributes?: Readonly<Record<string, FixtureValue>>;
  readonly events?: readonly { name: string; atMs: number; attributes?: Readonly<Record<string, FixtureValue>> }[];
}

/** A trace of fixture spans starting at `baseMs` (unix ms). */
export interface FixtureTrace {
  readonly traceId: string;
  readonly baseMs: number;
  readonly spans: readonly FixtureSpan[];
}

/** A deterministic 16- or 32-character hex id from a seed text. */
export function hexId(seed: string, length: 16 | 32): string {
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; out.length < length; round++) {
    for (let i = 0; i < seed.length; i++) {
      h ^= seed.charCodeAt(i) + round;
      h = Math.imul(h, 16777619) >>> 0;
    }
    out += h.toString(16).padStart(8, '0');
  }
  out = out.slice(0, length);
  return /^0+$/.test(out) ? `1${out.slice(1)}` : out;
}

function attr(key: string, value: FixtureValue) {
  if (typeof value === 'string') return { key, value: { stringValue: value } };
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  if (Number.isInteger(value)) return { key, value: { intValue: String(value) } };
  return { key, value: { doubleValue: value } };
}

function attrs(record: Readonly<Record<string, FixtureValue>> | undefined) {
  return Object.entries(record ?? {}).map(([k, v]) => attr(k, v));
}

function nanos(ms: number): string {
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}

/** Encodes traces as one OTLP JSON request, one resource per service. */
export function toOtlpJson(traces: readonly FixtureTrace[]): unknown {
  const byService = new Map<string, unknown[]>();
  for (const trace of traces) {
    for (const s of trace.spans) {
      let list = byService.get(s.service);
      if (!list) {
        list = [];
        byService.set(s.service, list);
      }
      list.push({
        traceId: trace.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: s.kind ?? 1,
        startTimeUnixNano: nanos(trace.baseMs + s.startMs),
        endTimeUnixNano: nanos(trace.baseMs + s.startMs + s.durationMs),
        attributes: attrs(s.attributes),
        events: (s.events ?? []).map((e) => ({
          name: e.name,
          timeUnixNano: nanos(trace.baseMs + e.atMs),
          attributes: attrs(e.attributes),
        })),
        status: s.status ? { code: s.status.code, message: s.status.message ?? '' } : {},
      });
    }
  }
  return {
    resourceSpans: [...byService.entries()].map(([service, spans]) => ({
      resource: {
        attributes: [
          attr('service.name', service),
          attr('host.name', `${service}-host`),
          attr('telemetry.sdk.language', 'nodejs'),
        ],
      },
      scopeSpans: [{ scope: { name: '@ariadne/fixtures', version: '1.0.0' }, spans }],
    })),
  };
}

/**
 * The lost order: the shop's checkout returns 200 OK, but every attempt to save the order failed
 * deep down and inventory swallowed the failure.
 * ```
 * frontend  POST /checkout (OK) ─────────────────────────────────────────────┐
 *  payment   POST /charge ────────────────────────────┐                      │
 *   inventory  POST /reserve ───────────────────────┐ │                      │
 *    order      save_order (ERROR) save_order (ERROR) save_order (ERROR)     │
 *  frontend  render confirmation ─────────────────────────────────────────────┘
 * ```
 */
export function lostOrderTrace(baseMs: number): FixtureTrace {
  const traceId = hexId('lost-order', 32);
  const id = (name: string) => hexId(`lost-order/${name}`, 16);
  const saveAttempt = (n: number, startMs: number): FixtureSpan[] => [
    {
      spanId: id(`save${n}`),
      parentSpanId: id('order-call'),
      service: 'order',
      name: 'save_order',
      kind: 2,
      startMs,
      durationMs: 30,
      status: { code: 2, message: 'deadlock detected while inserting into orders' },
      attributes: { 'order.id': 'ord-7731', 'retry.attempt': n, 'db.system': 'postgresql' },
      events: [
        {
          name: 'exception',
          atMs: startMs + 28,
          attributes: { 'exception.type': 'SerializationFailure', 'exception.message': 'deadlock detected' },
        },
      ],
    },
    {
      spanId: id(`insert${n}`),
      parentSpanId: id(`save${n}`),
      service: 'order',
      name: 'INSERT orders',
      kind: 3,
      startMs: startMs + 3,
      durationMs: 24,
      status: { code: 2, message: 'deadlock detected' },
      attributes: { 'db.system': 'postgresql', 'db.statement': 'INSERT INTO orders (id, total) VALUES ($1, $2)' },
    },
  ];
  return {
    traceId,
    baseMs,
    spans: [
      {
        spanId: id('root'),
        service: 'frontend',
        name: 'POST /checkout',
        kind: 2,
        startMs: 0,
        durationMs: 420,
        status: { code: 1 },
        attributes: {
          'http.request.method': 'POST',
          'http.route': '/checkout',
          'http.response.status_code': 200,
          'order.id': 'ord-7731',
          'user.id': 'u-1042',
        },
      },
      {
        spanId: id('pay-call'),
        parentSpanId: id('root'),
        service: 'frontend',
        name: 'POST payment/charge',
        kind: 3,
        startMs: 8,
        durationMs: 230,
      },
      {
        spanId: id('pay'),
        parentSpanId: id('pay-call'),
        service: 'payment',
        name: 'POST /charge',
        kind: 2,
        startMs: 12,
        durationMs: 222,
        attributes: { 'payment.amount': 129.9, 'payment.currency': 'EUR' },
      },
      {
        spanId: id('inv-call'),
        parentSpanId: id('pay'),
        service: 'payment',
        name: 'POST inventory/reserve',
        kind: 3,
        startMs: 40,
        durationMs: 186,
      },
      {
        spanId: id('inv'),
        parentSpanId: id('inv-call'),
        service: 'inventory',
        name: 'POST /reserve',
        kind: 2,
        startMs: 44,
        durationMs: 178,
        attributes: { 'inventory.sku': 'SKU-RED-MUG', 'inventory.quantity': 2 },
      },
      {
        spanId: id('order-call'),
        parentSpanId: id('inv'),
        service: 'inventory',
        name: 'POST order/save',
        kind: 3,
        startMs: 60,
        durationMs: 150,
        attributes: { 'http.response.status_code': 200 },
        events: [{ name: 'order save failed; continuing', atMs: 205 }],
      },
      ...saveAttempt(1, 64),
      ...saveAttempt(2, 110),
      ...saveAttempt(3, 165),
      {
        spanId: id('render'),
        parentSpanId: id('root'),
        service: 'frontend',
        name: 'render confirmation',
        kind: 1,
        startMs: 250,
        durationMs: 160,
        attributes: { 'template.name': 'order-confirmed.html' },
      },
    ],
  };
}

/** A healthy catalog request, with a duration that varies with `n`. */
export function catalogTrace(baseMs: number, n: number): FixtureTrace {
  const traceId = hexId(`catalog-${n}`, 32);
  const id = (name: string) => hexId(`catalog-${n}/${name}`, 16);
  const slow = 20 + ((n * 37) % 90);
  const failed = n % 5 === 3;
  return {
    traceId,
    baseMs,
    spans: [
      {
        spanId: id('root'),
        service: 'frontend',
        name: 'GET /products',
        kind: 2,
        startMs: 0,
        durationMs: slow + 40,
        status: failed ? { code: 2, message: 'upstream timeout' } : undefined,
        attributes: {
          'http.request.method': 'GET',
          'http.route': '/products',
          'customer.tier': n % 2 ? 'gold' : 'free',
        },
      },
      {
        spanId: id('cat'),
        parentSpanId: id('root'),
        service: 'catalog',
        name: 'ListProducts',
        kind: 2,
        startMs: 5,
        durationMs: slow + 20,
        status: failed ? { code: 2, message: 'context deadline exceeded' } : undefined,
        attributes: { 'rpc.system': 'grpc', 'catalog.page': n },
      },
      {
        spanId: id('db'),
        parentSpanId: id('cat'),
        service: 'catalog',
        name: 'SELECT products',
        kind: 3,
        startMs: 10,
        durationMs: slow,
        attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM products LIMIT 20' },
      },
      {
        spanId: id('price'),
        parentSpanId: id('root'),
        service: 'pricing',
        name: 'GetPrices',
        kind: 2,
        startMs: slow + 25,
        durationMs: 12,
      },
    ],
  };
}

/** Markup that must never run. */
export const XSS_PAYLOADS = ['<img src=x onerror=window.__xss=1>', '<script>window.__xss=1</script>'] as const;

/** A trace whose names, attribute keys and values, events and status carry markup. */
export function xssTrace(baseMs: number): FixtureTrace {
  const traceId = hexId('xss', 32);
  const id = (name: string) => hexId(`xss/${name}`, 16);
  const [img, script] = XSS_PAYLOADS;
  return {
    traceId,
    baseMs,
    spans: [
      {
        spanId: id('root'),
        service: 'frontend',
        name: `GET /search?q=${img}`,
        kind: 2,
        startMs: 0,
        durationMs: 50,
        attributes: { 'user.query': img, [`${script}`]: script, 'xss.marker': 'payload' },
      },
      {
        spanId: id('child'),
        parentSpanId: id('root'),
        service: 'search',
        name: script,
        kind: 2,
        startMs: 5,
        durationMs: 30,
        status: { code: 2, message: img },
        attributes: { note: `${img}${script}` },
        events: [{ name: img, atMs: 20, attributes: { detail: script } }],
      },
    ],
  };
}

/**
 * A large trace of `count` spans: a root fanning out over `services` services, each request
 * calling a few levels down, like a batch job touching many records.
 */
export function largeTrace(baseMs: number, count: number, services = 8): FixtureTrace {
  const traceId = hexId(`large-${count}`, 32);
  const spans: FixtureSpan[] = [];
  const serviceNames = Array.from({ length: services }, (_, i) => `svc-${String.fromCharCode(97 + i)}`);
  const id = (i: number) => (i + 1).toString(16).padStart(16, '0');
  const totalMs = 60_000;
  spans.push({ spanId: id(0), service: serviceNames[0], name: 'batch.run', kind: 2, startMs: 0, durationMs: totalMs });
  // Groups of 10: a request under the root, then 3 calls, each with 2 children.
  let i = 1;
  let group = 0;
  while (i < count) {
    const groupStart = (group * 7) % (totalMs - 100);
    const req = i++;
    spans.push({
      spanId: id(req),
      parentSpanId: id(0),
      service: serviceNames[group % services],
      name: `process item ${group % 50}`,
      kind: 2,
      startMs: groupStart,
      durationMs: 90,
      attributes: { 'item.id': group },
    });
    for (let c = 0; c < 3 && i < count; c++) {
      const call = i++;
      const svc = serviceNames[(group + c + 1) % services];
      spans.push({
        spanId: id(call),
        parentSpanId: id(req),
        service: svc,
        name: `call ${c}`,
        kind: 3,
        startMs: groupStart + 2 + c * 29,
        durationMs: 27,
      });
      for (let g = 0; g < 2 && i < count; g++) {
        spans.push({
          spanId: id(i++),
          parentSpanId: id(call),
          service: svc,
          name: g === 0 ? 'db query' : 'cache get',
          kind: 3,
          startMs: groupStart + 3 + c * 29 + g * 12,
          durationMs: 10,
        });
      }
    }
    group++;
  }
  return { traceId, baseMs, spans };
}

/** Posts traces to an OTLP/HTTP receiver as JSON, in batches; throws on a non-2xx answer. */
export async function sendTraces(otlpHttpUrl: string, traces: readonly FixtureTrace[], batch = 5000): Promise<void> {
  for (const trace of traces) {
    for (let k = 0; k < trace.spans.length; k += batch) {
      const part: FixtureTrace = { ...trace, spans: trace.spans.slice(k, k + batch) };
      const response = await fetch(`${otlpHttpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(toOtlpJson([part])),
      });
      if (!response.ok) throw new Error(`OTLP export failed: ${response.status} ${await response.text()}`);
    }
  }
}
