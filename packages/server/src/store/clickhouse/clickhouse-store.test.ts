import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Span, unixNanos } from '@ariadne/core';
import { silentLogger } from '../../logger.ts';
import { searchFormSummaries } from '../../query/form-search.ts';
import { capturingLogger } from '../../testdata/capture-log.ts';
import { attributeFilterCandidates } from '../attribute-codec.ts';
import { hashAttribute } from '../attribute-index.ts';
import { runSpanStoreContract } from '../span-store.contract.ts';
import { chdbExecutor, loadChdb } from '../testdata/chdb-executor.ts';
import {
  CLICKHOUSE_TEST_PASSWORD,
  CLICKHOUSE_TEST_USER,
  type ClickHouseCluster,
  type ClickHouseServer,
  clickHouseMissing,
  startClickHouse,
  startClickHouseCluster,
} from '../testdata/clickhouse-server.ts';
import { runTraceQLContract } from '../traceql.contract.ts';
import { ClickHouseSpanStore } from './clickhouse-store.ts';
import { type ClickHouseExecutor, HttpExecutor } from './executor.ts';
import { sqlString } from './sql.ts';
import { parseClickHouseUrl } from './store-url.ts';

const chdb = loadChdb();
const inCi = process.env.CI === 'true';

let databases = 0;
/** A fresh database name per store, so every contract run starts empty. */
const freshDatabase = () => `contract_${process.pid}_${++databases}`;

describe('ClickHouse store on chdb (ClickHouse 26.x embedded)', {
  skip: typeof chdb === 'string' && !inCi ? chdb : false,
}, () => {
  if (typeof chdb === 'string') {
    it('needs chdb', () => assert.fail(chdb));
    return;
  }
  const executor = (): ClickHouseExecutor => chdbExecutor(chdb);
  // Holds the process's chdb session open across stores, so that a reopened store finds its data.
  const keeper = executor();
  after(() => keeper.close());
  let database = freshDatabase();
  runSpanStoreContract({
    open: async () => {
      database = freshDatabase();
      return ClickHouseSpanStore.open({ executor: executor(), database, logger: silentLogger });
    },
    reopen: async () => ClickHouseSpanStore.open({ executor: executor(), database, logger: silentLogger }),
  });
  runTraceQLContract(() =>
    ClickHouseSpanStore.open({ executor: executor(), database: freshDatabase(), logger: silentLogger }),
  );

  it('reads back every escaped literal exactly', async () => {
    await assertLiteralsRoundTrip(keeper);
  });
});

/** Strings with quotes, backslashes, control and non-ASCII characters survive `sqlString` on the engine. */
export async function assertLiteralsRoundTrip(executor: ClickHouseExecutor): Promise<void> {
  const nasty = ["o'; DROP TABLE spans; --", 'back\\slash', "\\'", 'x\ny\r\t\x1e\x1f\x1d\0', 'ü😀', '', "''''"];
  const rows = await executor.query<{ s: string }>(nasty.map((s) => `SELECT ${sqlString(s)} AS s`).join(' UNION ALL '));
  assert.deepEqual(rows.map((r) => r.s).sort(), [...nasty].sort());
}

const serverMissing = clickHouseMissing({ zooKeeper: true });

/** An executor on a server, as `ariadne serve --store` makes it. */
const httpExecutor = (url: string, user = '') =>
  new HttpExecutor(parseClickHouseUrl(`clickhouse://${user}${new URL(url).host}/unused`));

describe('ClickHouse store on clickhouse-server (a real server over HTTP)', {
  skip: serverMissing && !inCi ? serverMissing : false,
}, () => {
  if (serverMissing) {
    it('needs clickhouse-server', () => assert.fail(serverMissing));
    return;
  }
  let server: ClickHouseServer;
  before(async () => {
    server = await startClickHouse();
  });
  after(() => server?.stop());
  let database = freshDatabase();
  runSpanStoreContract({
    open: async () => {
      database = freshDatabase();
      return ClickHouseSpanStore.open({ executor: httpExecutor(server.url), database, logger: silentLogger });
    },
    reopen: async () =>
      ClickHouseSpanStore.open({ executor: httpExecutor(server.url), database, logger: silentLogger }),
  });
  runTraceQLContract(() =>
    ClickHouseSpanStore.open({ executor: httpExecutor(server.url), database: freshDatabase(), logger: silentLogger }),
  );

  it('reads back every escaped literal exactly', async () => {
    const executor = httpExecutor(server.url);
    try {
      await assertLiteralsRoundTrip(executor);
    } finally {
      await executor.close();
    }
  });

  it('migrates once when several nodes open the same database at once, and refuses a newer schema', async () => {
    const db = freshDatabase();
    const stores = await Promise.all(
      [1, 2, 3].map(() => ClickHouseSpanStore.open({ executor: httpExecutor(server.url), database: db })),
    );
    await Promise.all(stores.map((s) => s.close()));
    const executor = httpExecutor(server.url);
    try {
      const tables = await executor.query<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = ${sqlString(db)} ORDER BY name`,
      );
      assert.deepEqual(
        tables.map((t) => t.name),
        [
          'attr_index',
          'attr_traces',
          'bodies',
          'operations',
          'schema_migrations',
          'span_index',
          'spans',
          'traces',
          'write_progress',
        ],
      );
      await executor.command(
        `INSERT INTO ${db}.schema_migrations (version, description, applied_ns) VALUES (99, 'future', 0)`,
      );
      await assert.rejects(
        ClickHouseSpanStore.open({ executor: httpExecutor(server.url), database: db }),
        /schema version 99, newer than this Ariadne knows/,
      );
    } finally {
      await executor.close();
    }
  });

  it('refuses a database of the development layout (schema version 1)', async () => {
    const db = freshDatabase();
    const executor = httpExecutor(server.url);
    try {
      await executor.command(`CREATE DATABASE ${db}`);
      await executor.command(
        `CREATE TABLE ${db}.schema_migrations (version UInt32, description String, applied_ns UInt64) ENGINE = MergeTree() ORDER BY version`,
      );
      await executor.command(`INSERT INTO ${db}.schema_migrations VALUES (1, 'old', 0)`);
      await assert.rejects(
        ClickHouseSpanStore.open({ executor: httpExecutor(server.url), database: db }),
        /schema version 1, a development layout no release of Ariadne reads: drop the database/,
      );
    } finally {
      await executor.close();
    }
  });

  it('indexes a value held by one trace of a write by that trace, a shared one by minute only', async () => {
    const db = freshDatabase();
    const store = await ClickHouseSpanStore.open({ executor: httpExecutor(server.url), database: db });
    const executor = httpExecutor(server.url);
    try {
      const t1 = '1111111100000000000000000000000a';
      const t2 = '2222222200000000000000000000000b';
      await store.writeSpans([
        indexSpan(t1, '1000000000000001', [
          ['order.id', 'ORD-1'],
          ['tier', 'gold'],
        ]),
        indexSpan(t2, '2000000000000001', [
          ['order.id', 'ORD-2'],
          ['tier', 'gold'],
        ]),
      ]);
      const covered = async (key: string, value: string) =>
        (
          await executor.query<{ c: number }>(
            `SELECT covered AS c FROM ${db}.attr_index WHERE h = ${hashAttribute(attributeFilterCandidates(key, value)[0])}`,
          )
        ).map((r) => Number(r.c));
      const prefixes = async (key: string, value: string) =>
        (
          await executor.query<{ p: string }>(
            `SELECT lower(hex(trace_prefix)) AS p FROM ${db}.attr_traces WHERE h = ${hashAttribute(attributeFilterCandidates(key, value)[0])}`,
          )
        ).map((r) => r.p.padStart(8, '0'));
      assert.deepEqual(await covered('order.id', 'ORD-1'), [1]);
      assert.deepEqual(await prefixes('order.id', 'ORD-1'), ['11111111']);
      assert.deepEqual(await covered('tier', 'gold'), [0]);
      assert.deepEqual(await prefixes('tier', 'gold'), []);
      const found = await searchFormSummaries(store, { attributes: [{ key: 'order.id', value: 'ORD-2' }], limit: 10 });
      assert.deepEqual(
        found.map((t) => t.traceId),
        [t2],
      );
      // A write retried after a lost acknowledgement stores a span twice: dependencies count it once.
      const parent = indexSpan(t1, '1000000000000002', [], 'shop');
      const child = { ...indexSpan(t1, '1000000000000003', [], 'db'), parentSpanId: '1000000000000002' };
      await store.writeSpans([parent, child]);
      await store.writeSpans([parent, child]);
      assert.equal((await store.getTrace(t1)).length, 3, 'a repeated write is read once');
      const lone = { ...indexSpan(t1, '1000000000000004', [], 'cache'), parentSpanId: '1000000000000002' };
      await store.writeSpans([lone]);
      await store.writeSpans([lone]);
      assert.deepEqual(await store.dependencies({}), [
        { parent: 'shop', child: 'cache', callCount: 1, errorCount: 0 },
        { parent: 'shop', child: 'db', callCount: 1, errorCount: 0 },
      ]);
    } finally {
      await executor.close();
      await store.close();
    }
  });

  it('never logs or reports the password, and fails a write that cannot pass at once', async () => {
    const { logger, lines } = capturingLogger();
    const user = `${CLICKHOUSE_TEST_USER}:${CLICKHOUSE_TEST_PASSWORD}@`;
    const store = await ClickHouseSpanStore.open({
      executor: httpExecutor(server.url, user),
      database: freshDatabase(),
      logger,
      writeRetryMs: 300,
    });
    // A wrong password: a permanent error, reported without retrying and without the password.
    const wrong = new HttpExecutor(
      parseClickHouseUrl(
        `clickhouse://${CLICKHOUSE_TEST_USER}:wrong-${CLICKHOUSE_TEST_PASSWORD}@${new URL(server.url).host}/x`,
      ),
    );
    await assert.rejects(wrong.query('SELECT 1'), (e: Error) => !e.message.includes(CLICKHOUSE_TEST_PASSWORD));
    await wrong.close();
    await store.close();
    assert.ok(lines.length > 0, 'the migration was logged');
    assert.ok(!JSON.stringify(lines).includes(CLICKHOUSE_TEST_PASSWORD));
  });

  it('drops whole days older than the retention, and keeps the day the cutoff falls in', async () => {
    const DAY = 86_400_000_000_000n;
    const base = 20_000n * DAY;
    const span = (trace: string, at: bigint) => ({
      traceId: trace.repeat(32),
      spanId: trace.repeat(16),
      parentSpanId: '',
      traceState: '',
      flags: 1,
      name: 'op',
      kind: 2 as const,
      startTimeUnixNano: at as never,
      endTimeUnixNano: (at + 5n) as never,
      attributes: [],
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: 0 as const, message: '' },
      serviceName: 'retained',
      resource: { attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
      scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    });
    const store = await ClickHouseSpanStore.open({ executor: httpExecutor(server.url), database: freshDatabase() });
    try {
      await store.writeSpans([span('a', base + 10n), span('b', base + DAY + 10n), span('c', base + 2n * DAY + 10n)]);
      await store.deleteBefore(base + DAY + 20n);
      assert.equal((await store.getTrace('a'.repeat(32))).length, 0, 'a whole day before the cutoff is gone');
      assert.equal((await store.getTrace('b'.repeat(32))).length, 1, 'the day the cutoff falls in stays');
      assert.equal((await store.getTrace('c'.repeat(32))).length, 1);
      assert.deepEqual(
        (await searchFormSummaries(store, { limit: 10 })).map((t) => t.traceId[0]),
        ['c', 'b'],
      );
    } finally {
      await store.close();
    }
  });
});

describe('ClickHouse store on a two-shard cluster', { skip: serverMissing && !inCi ? serverMissing : false }, () => {
  if (serverMissing) {
    it('needs clickhouse-server and ZooKeeper', () => assert.fail(serverMissing));
    return;
  }
  let cluster: ClickHouseCluster;
  before(async () => {
    cluster = await startClickHouseCluster({ shards: 2 });
  });
  after(() => cluster?.stop());
  let database = freshDatabase();
  // Written through the first shard, read again through the second: nodes share everything.
  runSpanStoreContract({
    open: async () => {
      database = freshDatabase();
      return ClickHouseSpanStore.open({
        executor: httpExecutor(cluster.shards[0].url),
        database,
        cluster: cluster.name,
        logger: silentLogger,
      });
    },
    reopen: async () =>
      ClickHouseSpanStore.open({
        executor: httpExecutor(cluster.shards[1].url),
        database,
        cluster: cluster.name,
        logger: silentLogger,
      }),
  });
  runTraceQLContract(() =>
    ClickHouseSpanStore.open({
      executor: httpExecutor(cluster.shards[1].url),
      database: freshDatabase(),
      cluster: cluster.name,
      logger: silentLogger,
    }),
  );

  it('keeps each trace on one shard, and spreads traces over both', async () => {
    const executor = httpExecutor(cluster.shards[0].url);
    try {
      const perShard = await Promise.all(
        cluster.shards.map(async (shard) => {
          const e = httpExecutor(shard.url);
          try {
            return await e.query<{ trace_id: string }>(
              `SELECT DISTINCT lower(hex(trace_id)) AS trace_id FROM ${database}.spans_local`,
            );
          } finally {
            await e.close();
          }
        }),
      );
      const [one, two] = perShard.map((rows) => new Set(rows.map((r) => r.trace_id)));
      assert.ok(one.size > 0 && two.size > 0, `both shards hold traces (${one.size}, ${two.size})`);
      for (const id of one) assert.ok(!two.has(id), `trace ${id} is on one shard only`);
    } finally {
      await executor.close();
    }
  });
});

/** A one-millisecond span of `trace` with string attributes, for the index tests. */
function indexSpan(trace: string, id: string, attributes: [string, string][], service = 'shop'): Span {
  const start = 1_760_000_000_000_000_000n;
  return {
    traceId: trace,
    spanId: id,
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'op',
    kind: 2,
    startTimeUnixNano: unixNanos(start),
    endTimeUnixNano: unixNanos(start + 1_000_000n),
    attributes: attributes.map(([key, value]) => ({ key, value: { type: 'string', value } })),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    serviceName: service,
    resource: {
      attributes: [{ key: 'service.name', value: { type: 'string', value: service } }],
      droppedAttributesCount: 0,
      schemaUrl: '',
    },
    scope: { name: 'test', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
  };
}
