import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  type ClickHouseCluster,
  type ClickHouseServer,
  clickHouseMissing,
  startClickHouse,
  startClickHouseCluster,
} from '../store/testdata/clickhouse-server.ts';
import { RpcStatus } from './otlp-proto-schema.ts';
import {
  assertEveryAcknowledgedTrace,
  killServe,
  postTraces,
  requestTraceId,
  type ServeChild,
  type ServeUrls,
  sendLoad,
  startServe,
  storedSpans,
  traceRequest,
} from './testdata/ariadne-process.ts';

/**
 * Stateless Ariadne nodes on ClickHouse, as real `ariadne serve --store clickhouse://…`
 * processes: two nodes on a two-shard cluster see the same traces, searches and dependencies
 * whichever node received the spans; a node killed right after an acknowledgement loses nothing;
 * a node whose ClickHouse stops answers 503 (gRPC: UNAVAILABLE with RetryInfo) and recovers by
 * itself, with nothing acknowledged lost.
 */

const inCi = process.env.CI === 'true';
const ARIADNE = new URL('../../bin/ariadne.mjs', import.meta.url).pathname;
const missing = clickHouseMissing({ zooKeeper: true });
const skip = missing && !inCi ? missing : false;

interface Node {
  readonly serve: ServeChild;
  readonly urls: ServeUrls;
  readonly dir: string;
}

async function startNode(store: string): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'ariadne-node-'));
  const { serve, urls } = await startServe(dir, ['--store', store]);
  return { serve, urls, dir };
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (!node) return;
  await killServe(node.serve);
  rmSync(node.dir, { recursive: true, force: true });
}

const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');
const TRACES = 40;
const SPANS = 6;
const splitTraceId = (n: number) => `5e1f${hex(n, 14)}`;
const BASE = 1_790_000_000_000_000_000n;

/** OTLP JSON of trace `n`'s spans with index of parity `half` (even: frontend, odd: backend). */
function halfTrace(n: number, half: 0 | 1): string {
  const spans = [];
  for (let i: number = half; i < SPANS; i += 2) {
    const start = BASE + BigInt(n) * 1_000_000_000n + BigInt(i) * 1_000n;
    spans.push({
      traceId: splitTraceId(n),
      spanId: hex(n * 100 + i + 1, 8),
      parentSpanId: i === 0 ? '' : hex(n * 100 + 1, 8),
      name: i === 0 ? 'GET /checkout' : `step-${i}`,
      kind: i === 0 ? 2 : 3,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + 500_000n).toString(),
      attributes: [{ key: 'order.id', value: { stringValue: `ORD-${n}` } }],
      status: i === 3 && n % 5 === 0 ? { code: 2, message: 'timeout' } : {},
    });
  }
  return JSON.stringify({
    resourceSpans: [
      {
        resource: {
          attributes: [{ key: 'service.name', value: { stringValue: half === 0 ? 'frontend' : 'backend' } }],
        },
        scopeSpans: [{ spans }],
      },
    ],
  });
}

async function postJson(otlpHttp: string, body: string): Promise<number> {
  const response = await fetch(`${otlpHttp}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  const text = await response.text();
  assert.equal(response.status, 200, `${url}: ${text}`);
  return JSON.parse(text);
}

describe('stateless nodes on a two-shard ClickHouse cluster', { skip }, () => {
  if (missing) {
    it('needs clickhouse-server and ZooKeeper', () => assert.fail(missing));
    return;
  }
  let cluster: ClickHouseCluster;
  let a: Node | undefined;
  let b: Node | undefined;
  before(async () => {
    cluster = await startClickHouseCluster({ shards: 2 });
    // Each node talks to its own shard; the Distributed tables join them.
    const store = (i: number) => `clickhouse://${new URL(cluster.shards[i].url).host}/nodes?cluster=${cluster.name}`;
    [a, b] = await Promise.all([startNode(store(0)), startNode(store(1))]);
  });
  after(async () => {
    await Promise.all([stopNode(a), stopNode(b)]);
    await cluster?.stop();
  });

  it('returns every trace whole, the same searches and dependencies through either node', async () => {
    if (!a || !b) throw new Error('nodes did not start');
    for (let n = 0; n < TRACES; n++) {
      assert.equal(await postJson(a.urls.otlpHttp, halfTrace(n, 0)), 200);
      assert.equal(await postJson(b.urls.otlpHttp, halfTrace(n, 1)), 200);
    }
    for (let n = 0; n < TRACES; n++) {
      assert.equal(await storedSpans(a.urls.api, splitTraceId(n)), SPANS, `trace ${n} through node a`);
      assert.equal(await storedSpans(b.urls.api, splitTraceId(n)), SPANS, `trace ${n} through node b`);
    }
    const window = `start=${BASE / 1_000_000n}&end=${(BASE + 1_000_000_000_000n) / 1_000_000n}`; // unix ms
    for (const path of [
      `/api/v1/search?service=backend&limit=100&start=0`,
      `/api/v1/search?status=error&limit=100&start=0`,
      `/api/v1/search?attr=order.id%3DORD-7&limit=100&start=0`,
      `/api/v1/dependencies?${window}`,
      `/api/v1/services`,
    ]) {
      const [fromA, fromB]: unknown[] = await Promise.all([getJson(a.urls.api + path), getJson(b.urls.api + path)]);
      assert.deepEqual(fromA, fromB, path);
    }
    const search = (await getJson(`${a.urls.api}/api/v1/search?service=backend&limit=100&start=0`)) as {
      traces: { spanCount: number; rootService: string }[];
    };
    assert.equal(search.traces.length, TRACES);
    assert.ok(search.traces.every((t) => t.spanCount === SPANS && t.rootService === 'frontend'));
    const deps = (await getJson(`${b.urls.api}/api/v1/dependencies?${window}`)) as {
      dependencies: { parent: string; child: string; callCount: number }[];
    };
    assert.deepEqual(
      deps.dependencies.map((d) => [d.parent, d.child, d.callCount]),
      [['frontend', 'backend', TRACES * (SPANS / 2)]],
    );
    // The CLI, through either node: search, and a trace with its analysis.
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [ARIADNE, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.match(
      cli('search', '--service', 'backend', '--limit', '3', '--api', a.urls.api),
      new RegExp(splitTraceId(TRACES - 1)),
    );
    const analysis = JSON.parse(cli('trace', splitTraceId(5), '--json', '--api', b.urls.api)) as { spanCount?: number };
    assert.equal(JSON.stringify(analysis).includes('frontend') && JSON.stringify(analysis).includes('backend'), true);
    // Stateless: nothing was written to either node's data directory.
    assert.deepEqual(readdirSync(a.dir), []);
    assert.deepEqual(readdirSync(b.dir), []);
  });

  it('loses nothing acknowledged by a node killed right after acknowledging', async () => {
    if (!a || !b) throw new Error('nodes did not start');
    const acked = new Set<number>();
    let stop = false;
    const load = sendLoad({
      otlpHttp: a.urls.otlpHttp,
      tag: 71,
      spans: 50,
      senders: 3,
      maxRequests: 400,
      until: () => stop,
      acked,
    });
    // SIGKILL the node as soon as it has acknowledged some requests, with others in flight.
    await untilAcked(acked, 20, load);
    a.serve.child.kill('SIGKILL');
    stop = true;
    await load;
    await a.serve.exited;
    const sent = Math.max(...acked) + 4;
    await assertEveryAcknowledgedTrace(b.urls.api, { tag: 71, spans: 50, acked, sent });
  });
});

/**
 * Resolves once `acked` holds `count` acknowledgements (checked every 5 ms); fails if the load
 * ended first, or after a generous 60 s.
 */
async function untilAcked(acked: ReadonlySet<number>, count: number, load: Promise<unknown>): Promise<void> {
  let ended = false;
  load.then(
    () => {
      ended = true;
    },
    () => {
      ended = true;
    },
  );
  const deadline = performance.now() + 60_000;
  while (acked.size < count) {
    assert.ok(!ended, `the load ended after ${acked.size} acknowledgements, before ${count}`);
    assert.ok(performance.now() < deadline, `${acked.size} of ${count} acknowledgements after 60 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a node whose ClickHouse stops under load', { skip }, () => {
  if (missing) {
    it('needs clickhouse-server', () => assert.fail(missing));
    return;
  }
  let server: ClickHouseServer;
  let node: Node | undefined;
  before(async () => {
    server = await startClickHouse();
    node = await startNode(`clickhouse://${new URL(server.url).host}/stops`);
  });
  after(async () => {
    await stopNode(node);
    await server?.stop();
  });

  it('answers 503 with Retry-After while ClickHouse is down, recovers, and loses nothing acknowledged', async () => {
    if (!node) throw new Error('node did not start');
    const { otlpHttp, api } = node.urls;
    const acked = new Set<number>();
    let stop = false;
    const load = sendLoad({ otlpHttp, tag: 72, spans: 20, senders: 2, maxRequests: 100_000, until: () => stop, acked });
    await untilAcked(acked, 10, load);
    server.kill();
    // While it is down: a request is refused with 503 and a retry delay, and /readyz says why.
    // Bounded by a generous deadline, not by a count of requests that a fast machine sends before
    // the node has noticed.
    let refused: Response | undefined;
    const refusedBy = performance.now() + 30_000;
    for (let i = 0; !refused; i++) {
      assert.ok(performance.now() < refusedBy, `no request refused within 30 s of ClickHouse stopping (${i} sent)`);
      const response = await fetch(`${otlpHttp}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: new Uint8Array(traceRequest(73, i, 3)),
      });
      await response.arrayBuffer();
      if (response.status === 503) refused = response;
      else assert.equal(response.status, 200);
    }
    assert.ok(refused, 'a request was refused while ClickHouse was down');
    assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
    // The same over OTLP/gRPC: UNAVAILABLE with a RetryInfo delay.
    const grpcAddress = /OTLP\/gRPC\s+(\S+)/.exec(node.serve.output())?.[1];
    assert.ok(grpcAddress, 'the node printed its gRPC address');
    const client = new grpc.Client(grpcAddress, grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          (b: Buffer) => b,
          (b: Buffer) => b,
          traceRequest(74, 0, 3),
          (e) => resolve(e),
        ),
      );
      assert.equal(error?.code, grpc.status.UNAVAILABLE);
      const details = error?.metadata.get('grpc-status-details-bin')[0] as Buffer;
      const status = RpcStatus.decode(details) as unknown as { details: { type_url: string }[] };
      assert.equal(status.details[0].type_url, 'type.googleapis.com/google.rpc.RetryInfo');
    } finally {
      client.close();
    }
    const ready = await fetch(`${api}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /ClickHouse/);
    stop = true;
    await load;
    const ackedBeforeRestart = new Set(acked);
    await server.restart();
    // Recovers by itself: ready again, and new requests are acknowledged.
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${api}/readyz`)).status !== 200) {
      assert.ok(Date.now() < deadline, 'ready again within 30 s of ClickHouse returning');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await postTraces(otlpHttp, traceRequest(72, 100_001, 20)), 200);
    acked.add(100_001);
    const sent = Math.max(...ackedBeforeRestart) + 3;
    await assertEveryAcknowledgedTrace(api, {
      tag: 72,
      spans: 20,
      acked: new Set([...acked].filter((n) => n < sent)),
      sent,
    });
    assert.equal(await storedSpans(api, requestTraceId(72, 100_001)), 20);
  });
});
