/**
 * The ClickHouse store on a cluster whose shard has two replicas (real clickhouse-server 18.16
 * processes and ZooKeeper, through the harness): replicated tables, a replica killed with SIGKILL
 * while a node writes, the other replica serving every acknowledged span and taking the writes,
 * and the killed one catching up after its restart. Also the whole contract suite on replicated
 * tables. Then two shards of two replicas: traces split whole over the shards, a replica of each
 * shard killed at once, and retention dropping old days on every replica, with a replica down
 * (the store waits a bounded time for it, retries the day in its next run, and closes at once
 * while it waits).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Span, unixNanos } from '@ariadne/core';
import { silentLogger } from '../../logger.ts';
import { capturingLogger } from '../../testdata/capture-log.ts';
import { runSpanStoreContract } from '../span-store.contract.ts';
import {
  type ClickHouseCluster,
  type ClickHouseServer,
  clickHouseMissing,
  startClickHouseCluster,
} from '../testdata/clickhouse-server.ts';
import { ClickHouseSpanStore } from './clickhouse-store.ts';
import { HttpExecutor } from './executor.ts';
import { NANOS_PER_DAY } from './rows.ts';
import { replicatedEngine } from './schema.ts';
import { parseClickHouseUrl } from './store-url.ts';

const inCi = process.env.CI === 'true';
const missing = clickHouseMissing({ zooKeeper: true });
/** How long a restarted replica may take to fetch the parts it missed. */
const CATCH_UP_MS = 60_000;

let databases = 0;
/** A database of its own for each store. */
const fresh = () => `replicas_${process.pid}_${++databases}`;

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

  let database = fresh();
  // Both on the first replica: a read on the other one may run ahead of its replication queue.
  runSpanStoreContract({
    open: async () => {
      database = fresh();
      return openOn(cluster, cluster.replicas[0][0], database);
    },
    reopen: () => openOn(cluster, cluster.replicas[0][0], database),
  });

  it('keeps every acknowledged span readable and writable while either replica is killed, and the killed one catches up', async () => {
    const [a, b] = cluster.replicas[0];
    const db = fresh();
    let store = await openOn(cluster, a, db);
    const traces = new AcknowledgedTraces();
    try {
      await assertReplicatedTables([a, b], db);
      await traces.write(store, 1);
      await waitForSameRows([a, b], db);

      // Replica b dies; a node on a goes on reading and writing.
      b.kill();
      await traces.assertAllReadable(store, 'replica a, b killed');
      await traces.write(store, 2);
      await traces.assertAllReadable(store, 'replica a, b killed, after a write');
      await b.restart();
      await waitForSameRows([a, b], db);

      // Replica a dies: a node starting on b (no ON CLUSTER DDL to wait for) reads and writes.
      await store.close();
      a.kill();
      store = await openOn(cluster, b, db);
      await traces.assertAllReadable(store, 'replica b, a killed');
      await traces.write(store, 3);
      await traces.assertAllReadable(store, 'replica b, a killed, after a write');
      await a.restart();
      await waitForSameRows([a, b], db);
      await store.close();
      store = await openOn(cluster, a, db);
      await traces.assertAllReadable(store, 'replica a, restarted');
    } finally {
      await store.close();
    }
  });
});

describe('ClickHouse store on two shards of two replicas', { skip: missing && !inCi ? missing : false }, () => {
  if (missing) {
    it('needs clickhouse-server and ZooKeeper', () => assert.fail(missing));
    return;
  }
  let cluster: ClickHouseCluster;
  const db = fresh();
  // One node's store for both cases, on a server that stays up: the schema is made once.
  let store: ClickHouseSpanStore;
  before(async () => {
    cluster = await startClickHouseCluster({ shards: 2, replicas: 2 });
    store = await openOn(cluster, cluster.replicas[0][0], db);
  });
  after(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('splits traces whole over the shards, and keeps serving them and writing while a replica of each shard is killed', async () => {
    // The node's server stays up; the other replica of its shard and the first of the other die.
    const [[node, sameShard], [otherFirst, otherSecond]] = cluster.replicas;
    const traces = new AcknowledgedTraces();
    await assertReplicatedTables(cluster.replicas.flat(), db);
    await traces.write(store, 1);
    await traces.write(store, 2);
    // Not before: the node's Distributed tables may read a replica of the other shard that has not
    // yet fetched what its peer took.
    await waitForEveryShard(cluster, db);
    await traces.assertAllReadable(store, 'the cluster');
    await assertSplitByTrace([node, otherFirst], db, traces.ids);

    sameShard.kill();
    otherFirst.kill();
    await traces.assertAllReadable(store, 'a replica of each shard killed');
    await traces.write(store, 3);
    await traces.assertAllReadable(store, 'a replica of each shard killed, after a write');
    await assertSplitByTrace([node, otherSecond], db, traces.ids);

    await Promise.all([sameShard.restart(), otherFirst.restart()]);
    await waitForEveryShard(cluster, db);
    await assertSplitByTrace([sameShard, otherFirst], db, traces.ids);
  });

  it('drops the days before the retention cutoff on every replica of every shard, and keeps the day the cutoff falls in, with a replica down', async () => {
    const [[node], [, otherSecond]] = cluster.replicas;
    const firstDay = Number(T0 / NANOS_PER_DAY);
    const dayOf = (k: number) => Array.from({ length: 8 }, (_, i) => traceId(10 + k, i));
    // Eight traces on each of three days (a day is 1,440 minutes).
    await store.writeSpans([0, 1, 2].flatMap((k) => dayOf(k).flatMap((t, i) => trace(t, k * 1_440 + i))));
    await waitForEveryShard(cluster, db);
    const partitions = () =>
      Promise.all(cluster.replicas.map((shard) => Promise.all(shard.map((s) => dayPartitions(s, db)))));
    const before = await partitions();
    for (const [i, server] of cluster.replicas.flat().entries())
      assert.ok(
        before.flat()[i].includes(`spans_local ${firstDay}`),
        `day ${firstDay} is on ${server.url} before the drop`,
      );

    // A replica of the other shard is down: a drop ON CLUSTER waits for it, 2 s here (the
    // server's own default is 180 s a statement), then the run stops and says so, and leaves the
    // day listed for the next run.
    otherSecond.kill();
    const { logger, lines } = capturingLogger();
    const open = (ddlTimeoutSeconds?: number) =>
      ClickHouseSpanStore.open({
        executor: httpExecutor(node),
        database: db,
        cluster: cluster.name,
        logger,
        ddlTimeoutSeconds,
      });
    // The cutoff an hour into the second day: the first day is over, the second one is not.
    const cutoff = BigInt(firstDay + 1) * NANOS_PER_DAY + 3_600_000_000_000n;
    try {
      const retention = await open(2);
      // The run ends either with the warning (the drop queued for the server that is down) or,
      // when the dead replica led its shard, with 18.16's "Leader was suddenly changed"; either way
      // it ends, and the day is left for the next run.
      let failure: unknown;
      try {
        await retention.deleteBefore(cutoff);
      } catch (error) {
        failure = error;
      } finally {
        await retention.close();
      }
      if (failure === undefined) {
        const pending = lines.find((l) => /has not dropped the day yet/.test(l.msg));
        assert.equal(pending?.day, firstDay, `a warning names the day a server still holds: ${JSON.stringify(lines)}`);
      } else assert.match(String(failure), /Leader was suddenly changed/);
      // Through the Distributed table: the operations of a day live on one shard.
      const [listed] = await query(node, `SELECT count() AS n FROM ${db}.operations WHERE day = ${firstDay}`);
      assert.ok(Number(listed.n) > 0, 'the day stays listed for the next run');
    } finally {
      await otherSecond.restart();
    }

    // With every server back, a later run drops the day everywhere (the first may still find the
    // shard electing its leader, or the restarted replica still working through the DDL queue: a
    // run that waited longer than its DDL timeout ends with the warning and leaves the day).
    const dropped = () => lines.some((l) => l.msg === 'retention: dropped a day of spans' && l.day === firstDay);
    const retention = await open();
    try {
      await poll(
        () =>
          retention.deleteBefore(cutoff).then(
            () => 'the day was left for the next run',
            (error: unknown) => String(error),
          ),
        () => dropped(),
        (last) => `a retention run to drop the day: ${last}`,
      );
    } finally {
      await retention.close();
    }
    // What a shard held on either replica (the other tables' replication may still have been under
    // way), less the first day: every replica of the shard ends with that.
    const expected = before.map((shard) =>
      [...new Set(shard.flat())].sort().filter((p) => !p.endsWith(` ${firstDay}`)),
    );
    await poll(
      partitions,
      (left) => left.every((shard, n) => shard.every((parts) => parts.join() === expected[n].join())),
      (left) => `every replica to drop day ${firstDay} and keep the others: partitions ${JSON.stringify(left)}`,
    );
    const found = await store.getTraces([0, 1, 2].flatMap(dayOf));
    assert.deepEqual(
      [0, 1, 2].map((k) => dayOf(k).filter((t) => found.get(t)?.length === 3).length),
      [0, 8, 8],
      'whole traces left of each day',
    );
  });

  it('closes at once while its retention waits for a server that is down', async () => {
    const [[node], [, otherSecond]] = cluster.replicas;
    const firstDay = Number(T0 / NANOS_PER_DAY);
    // A day before the others, for this store's retention to drop.
    const old = Array.from({ length: 4 }, (_, i) => traceId(30, i));
    await store.writeSpans(old.flatMap((t, i) => trace(t, i - 1_440)));
    await waitForEveryShard(cluster, db);
    otherSecond.kill();
    try {
      const retention = await ClickHouseSpanStore.open({
        executor: httpExecutor(node),
        database: db,
        cluster: cluster.name,
        logger: silentLogger,
        // Waits the server's own 180 s for the replica that is down, unless closed.
        ddlTimeoutSeconds: 180,
        retentionNanos: NANOS_PER_DAY,
        now: () => Number((BigInt(firstDay + 1) * NANOS_PER_DAY) / 1_000_000n),
      });
      // The first drop is under way on the node's server.
      await poll(
        () => query(node, "SELECT count() AS n FROM system.processes WHERE query LIKE 'ALTER TABLE%DROP PARTITION%'"),
        (rows) => Number(rows[0].n) > 0,
        () => 'the retention to start dropping a day',
      );
      const closed = retention.close().then(() => 'closed');
      const waited = new Promise((resolve) => setTimeout(resolve, 30_000, 'still waiting').unref());
      assert.equal(await Promise.race([closed, waited]), 'closed', 'close() did not wait for the retention statement');
    } finally {
      await otherSecond.restart();
    }
  });
});

/** A store on `server` of `cluster`, as a node opens it, retrying writes long enough for a failover. */
function openOn(cluster: ClickHouseCluster, server: ClickHouseServer, db: string): Promise<ClickHouseSpanStore> {
  return ClickHouseSpanStore.open({
    executor: httpExecutor(server),
    database: db,
    cluster: cluster.name,
    logger: silentLogger,
    writeRetryMs: 10_000,
  });
}

/** Traces written through stores, each once acknowledged, and the check that they all read back whole. */
class AcknowledgedTraces {
  readonly ids: string[] = [];

  /** Writes batch `batch`: 20 traces of three spans. */
  async write(store: ClickHouseSpanStore, batch: number): Promise<void> {
    const traces = Array.from({ length: 20 }, (_, i) => traceId(batch, i));
    await store.writeSpans(traces.flatMap((t, i) => trace(t, batch * 100 + i)));
    this.ids.push(...traces);
  }

  async assertAllReadable(store: ClickHouseSpanStore, through: string): Promise<void> {
    const found = await store.getTraces(this.ids);
    const lost = this.ids.filter((t) => found.get(t)?.length !== 3);
    assert.deepEqual(lost, [], `every acknowledged trace is whole through ${through}`);
  }
}

/** The store's local tables are replicated on every server (and the plain names Distributed). */
async function assertReplicatedTables(servers: readonly ClickHouseServer[], db: string): Promise<void> {
  for (const server of servers) {
    const engines = await query(server, `SELECT DISTINCT engine FROM system.tables WHERE database = '${db}'`);
    assert.deepEqual(
      engines.map((r) => r.engine).sort(),
      ['Distributed', 'ReplicatedMergeTree', 'ReplicatedReplacingMergeTree'],
      `replicated tables on ${server.url}`,
    );
  }
}

/** Polls until the replicas of each shard hold the same span rows, every shard at once (bounded). */
function waitForEveryShard(cluster: ClickHouseCluster, db: string): Promise<unknown> {
  return Promise.all(cluster.replicas.map((shard) => waitForSameRows(shard, db)));
}

/**
 * `servers`, one replica of each shard, hold every trace of `ids` whole (three spans) on exactly
 * one of them, and each holds some: the Distributed tables shard by the trace id.
 */
async function assertSplitByTrace(servers: readonly ClickHouseServer[], db: string, ids: readonly string[]) {
  const held = await Promise.all(
    servers.map((s) =>
      query(s, `SELECT lower(hex(trace_id)) AS t, uniqExact(span_id) AS n FROM ${db}.spans_local GROUP BY t`),
    ),
  );
  for (const [i, rows] of held.entries()) assert.ok(rows.length > 0, `${servers[i].url} holds traces of its shard`);
  const rows = held.flat();
  assert.deepEqual(rows.map((r) => r.t).sort(), [...ids].sort(), 'every trace on exactly one shard');
  assert.deepEqual(
    rows.filter((r) => Number(r.n) !== 3),
    [],
    'every trace whole on its shard',
  );
}

/** `table day` of every active part of `db` partitioned by day on `server`, sorted and distinct. */
async function dayPartitions(server: ClickHouseServer, db: string): Promise<string[]> {
  const rows = await query(
    server,
    `SELECT DISTINCT concat(table, ' ', partition) AS p FROM system.parts
     WHERE database = '${db}' AND active AND partition != 'tuple()' ORDER BY p`,
  );
  return rows.map((r) => r.p);
}

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
  await poll(
    () =>
      Promise.all(
        servers.map(async (s) =>
          Number((await query(s, `SELECT count() AS n FROM ${db}.spans_local`).catch(() => [{ n: '-1' }]))[0].n),
        ),
      ),
    (counts) => counts[0] > 0 && counts.every((n) => n === counts[0]),
    (counts) => `the replicas to converge: ${counts.join(', ')} span rows`,
  );
}

/** Reads `read` every 200 ms until `done` holds; fails after {@link CATCH_UP_MS} with `waitedFor` of the last value. */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, waitedFor: (value: T) => string) {
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return;
    if (Date.now() > deadline) assert.fail(`waited ${CATCH_UP_MS / 1000} s for ${waitedFor(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Start of the traces written in minute 0. */
const T0 = 1_760_000_000_000_000_000n;

function traceId(batch: number, i: number): string {
  return `${batch.toString(16).padStart(8, '0')}${i.toString(16).padStart(24, '0')}`;
}

/** A root and two children, 1 ms each, `minute` minutes after a fixed start. */
function trace(id: string, minute: number): Span[] {
  const start = T0 + BigInt(minute) * 60_000_000_000n;
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
