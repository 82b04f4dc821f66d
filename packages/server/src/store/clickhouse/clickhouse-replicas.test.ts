/**
 * The ClickHouse store on a cluster whose shard has two replicas (real clickhouse-server 18.16
 * processes and ZooKeeper, through the harness): replicated tables, a replica killed with SIGKILL
 * while a node writes, the other replica serving every acknowledged span and taking the writes,
 * and the killed one catching up after its restart. Also the whole contract suite on replicated
 * tables.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Span, unixNanos } from '@ariadne/core';
import { silentLogger } from '../../logger.ts';
import { runSpanStoreContract } from '../span-store.contract.ts';
import {
  type ClickHouseCluster,
  type ClickHouseServer,
  clickHouseMissing,
  startClickHouseCluster,
} from '../testdata/clickhouse-server.ts';
import { ClickHouseSpanStore } from './clickhouse-store.ts';
import { HttpExecutor } from './executor.ts';
import { replicatedEngine } from './schema.ts';
import { parseClickHouseUrl } from './store-url.ts';

const inCi = process.env.CI === 'true';
const missing = clickHouseMissing({ zooKeeper: true });
/** How long a restarted replica may take to fetch the parts it missed. */
const CATCH_UP_MS = 60_000;

const httpExecutor = (server: ClickHouseServer) =>
  new HttpExecutor(parseClickHouseUrl(`clickhouse://${new URL(server.url).host}/unused`));

describe('replicated engines', () => {
  it('put the shard and replica macros and the table in the ZooKeeper path, and keep the rest', () => {
    assert.equal(
      replicatedEngine('ReplacingMergeTree() PARTITION BY d ORDER BY (a, b)', 'db', 'spans_local'),
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/spans_local', '{replica}') PARTITION BY d ORDER BY (a, b)",
    );
    assert.equal(
      replicatedEngine('ReplacingMergeTree(written_ns) ORDER BY source', 'db', 'p_local'),
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/p_local', '{replica}', written_ns) ORDER BY source",
    );
    assert.equal(
      replicatedEngine('MergeTree() ORDER BY version', 'db', 'm_local'),
      "ReplicatedMergeTree('/clickhouse/tables/{shard}/db/m_local', '{replica}') ORDER BY version",
    );
    assert.throws(() => replicatedEngine('Log', 'db', 't'), /not a MergeTree engine/);
  });
});

describe('ClickHouse store on one shard of two replicas', { skip: missing && !inCi ? missing : false }, () => {
  if (missing) {
    it('needs clickhouse-server and ZooKeeper', () => assert.fail(missing));
    return;
  }
  let cluster: ClickHouseCluster;
  before(async () => {
    cluster = await startClickHouseCluster({ shards: 1, replicas: 2 });
  });
  after(() => cluster?.stop());

  let databases = 0;
  const fresh = () => `replicas_${process.pid}_${++databases}`;
  let database = fresh();
  // Both on the first replica: a read on the other one may run ahead of its replication queue.
  runSpanStoreContract({
    open: async () => {
      database = fresh();
      return openOn(cluster.replicas[0][0], database);
    },
    reopen: () => openOn(cluster.replicas[0][0], database),
  });

  function openOn(server: ClickHouseServer, db: string) {
    return ClickHouseSpanStore.open({
      executor: httpExecutor(server),
      database: db,
      cluster: cluster.name,
      logger: silentLogger,
      writeRetryMs: 10_000,
    });
  }

  it('keeps every acknowledged span readable and writable while either replica is killed, and the killed one catches up', async () => {
    const [a, b] = cluster.replicas[0];
    const db = fresh();
    let store = await openOn(a, db);
    const acknowledged: string[] = [];
    const write = async (s: ClickHouseSpanStore, batch: number) => {
      const traces = Array.from({ length: 20 }, (_, i) => traceId(batch, i));
      await s.writeSpans(traces.flatMap((t, i) => trace(t, batch * 100 + i)));
      acknowledged.push(...traces);
    };
    const assertAllReadable = async (s: ClickHouseSpanStore, through: string) => {
      const found = await s.getTraces(acknowledged);
      const lost = acknowledged.filter((t) => found.get(t)?.length !== 3);
      assert.deepEqual(lost, [], `every acknowledged trace is whole through ${through}`);
    };
    try {
      for (const server of [a, b]) {
        const engines = await query(server, `SELECT DISTINCT engine FROM system.tables WHERE database = '${db}'`);
        assert.deepEqual(
          engines.map((r) => r.engine).sort(),
          ['Distributed', 'ReplicatedMergeTree', 'ReplicatedReplacingMergeTree'],
          `replicated tables on ${server.url}`,
        );
      }
      await write(store, 1);
      await waitForSameRows([a, b], db);

      // Replica b dies; a node on a goes on reading and writing.
      b.kill();
      await assertAllReadable(store, 'replica a, b killed');
      await write(store, 2);
      await assertAllReadable(store, 'replica a, b killed, after a write');
      await b.restart();
      await waitForSameRows([a, b], db);

      // Replica a dies: a node starting on b (no ON CLUSTER DDL to wait for) reads and writes.
      await store.close();
      a.kill();
      store = await openOn(b, db);
      await assertAllReadable(store, 'replica b, a killed');
      await write(store, 3);
      await assertAllReadable(store, 'replica b, a killed, after a write');
      await a.restart();
      await waitForSameRows([a, b], db);
      await store.close();
      store = await openOn(a, db);
      await assertAllReadable(store, 'replica a, restarted');
    } finally {
      await store.close();
    }
  });
});

/** Rows of `sql` run on `server`. */
async function query(server: ClickHouseServer, sql: string): Promise<Record<string, string>[]> {
  const e = httpExecutor(server);
  try {
    return await e.query<Record<string, string>>(sql);
  } finally {
    await e.close();
  }
}

/** Polls until every server holds the same, non-zero number of span rows locally (bounded). */
async function waitForSameRows(servers: readonly ClickHouseServer[], db: string): Promise<void> {
  const deadline = Date.now() + CATCH_UP_MS;
  let counts: number[] = [];
  while (Date.now() < deadline) {
    counts = await Promise.all(
      servers.map(async (s) =>
        Number((await query(s, `SELECT count() AS n FROM ${db}.spans_local`).catch(() => [{ n: '-1' }]))[0].n),
      ),
    );
    if (counts[0] > 0 && counts.every((n) => n === counts[0])) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`the replicas did not converge in ${CATCH_UP_MS / 1000} s: ${counts.join(', ')} span rows`);
}

function traceId(batch: number, i: number): string {
  return `${batch.toString(16).padStart(8, '0')}${i.toString(16).padStart(24, '0')}`;
}

/** A root and two children, 1 ms each, `minute` minutes after a fixed start. */
function trace(id: string, minute: number): Span[] {
  const start = 1_760_000_000_000_000_000n + BigInt(minute) * 60_000_000_000n;
  const span = (spanId: string, parent: string): Span => ({
    traceId: id,
    spanId,
    parentSpanId: parent,
    traceState: '',
    flags: 1,
    name: parent ? 'child' : 'root',
    kind: 2,
    startTimeUnixNano: unixNanos(start),
    endTimeUnixNano: unixNanos(start + 1_000_000n),
    attributes: [{ key: 'batch', value: { type: 'string', value: id.slice(0, 8) } }],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    serviceName: 'shop',
    resource: {
      attributes: [{ key: 'service.name', value: { type: 'string', value: 'shop' } }],
      droppedAttributesCount: 0,
      schemaUrl: '',
    },
    scope: { name: 'test', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  });
  return [
    span('0000000000000001', ''),
    span('0000000000000002', '0000000000000001'),
    span('0000000000000003', '0000000000000001'),
  ];
}
