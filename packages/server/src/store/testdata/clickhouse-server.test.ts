/**
 * The ClickHouse test harness against Debian's real clickhouse-server and ZooKeeper: one server
 * that restarts with its data, and a two-shard cluster where `ON CLUSTER` DDL and a Distributed
 * table spread rows over both shards.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it, test } from 'node:test';
import {
  CLICKHOUSE_TEST_PASSWORD,
  CLICKHOUSE_TEST_USER,
  type ClickHouseCluster,
  type ClickHouseServer,
  clickHouseMissing,
  startClickHouse,
  startClickHouseCluster,
} from './clickhouse-server.ts';

const missing = clickHouseMissing({ zooKeeper: true });
if (missing && process.env.CI === 'true') {
  test('clickhouse-server and ZooKeeper are installed (required when CI=true)', () => {
    assert.fail(missing);
  });
}
const skip = missing ? `${missing}; skipping ClickHouse tests` : false;

/** Runs `sql` over HTTP (POST, so DDL and INSERT are allowed) and returns the body; throws on an error status. */
async function query(
  url: string,
  sql: string,
  options: { settings?: Record<string, string>; user?: string; password?: string } = {},
): Promise<string> {
  const params = new URLSearchParams(options.settings);
  const headers: Record<string, string> = {};
  if (options.user) headers['X-ClickHouse-User'] = options.user;
  if (options.password) headers['X-ClickHouse-Key'] = options.password;
  const res = await fetch(`${url}/?${params}`, { method: 'POST', body: sql, headers });
  const body = await res.text();
  if (!res.ok) throw new Error(`ClickHouse ${res.status} for ${sql}: ${body}`);
  return body.trim();
}

describe('one ClickHouse server', { skip }, () => {
  let server: ClickHouseServer;

  before(async () => {
    server = await startClickHouse();
  });
  after(async () => {
    await server?.stop();
  });

  it('answers SELECT version() over HTTP with 18.x or later, on 127.0.0.1', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const version = await query(server.url, 'SELECT version()');
    assert.ok(Number(version.split('.')[0]) >= 18, version);
  });

  it('lets the ariadne user in with its password only', async () => {
    const user = CLICKHOUSE_TEST_USER;
    assert.equal(await query(server.url, 'SELECT 1', { user, password: CLICKHOUSE_TEST_PASSWORD }), '1');
    await assert.rejects(query(server.url, 'SELECT 1', { user, password: 'wrong' }), /ClickHouse [45]\d\d/);
  });

  it('keeps MergeTree data across a clean restart and a SIGKILL', async () => {
    await query(server.url, 'CREATE TABLE kept (n UInt32) ENGINE = MergeTree ORDER BY n');
    await query(server.url, 'INSERT INTO kept SELECT number FROM system.numbers LIMIT 1000');
    await server.restart();
    assert.equal(await query(server.url, 'SELECT count(), sum(n) FROM kept'), '1000\t499500');
    await query(server.url, 'INSERT INTO kept VALUES (5000)');
    server.kill();
    await server.restart();
    assert.equal(await query(server.url, 'SELECT count(), max(n) FROM kept'), '1001\t5000');
  });

  it("fails with the server's error log when the server exits before it is ready", async () => {
    await assert.rejects(startClickHouse({ httpPort: server.httpPort }), (err: Error) => {
      assert.match(err.message, /exited \(code \d+, signal null\) before it was ready/);
      assert.match(err.message, /Address already in use/);
      return true;
    });
  });

  it('removes its temporary directory on stop()', async () => {
    const other = await startClickHouse();
    assert.ok(existsSync(other.dir));
    await other.stop();
    assert.ok(!existsSync(other.dir));
    await assert.rejects(fetch(`${other.url}/ping`));
  });
});

describe('a two-shard ClickHouse cluster', { skip }, () => {
  let cluster: ClickHouseCluster;

  before(async () => {
    cluster = await startClickHouseCluster({ shards: 2 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('runs ON CLUSTER DDL on every shard and spreads Distributed inserts over them', async () => {
    const [one, two] = cluster.shards;
    const c = cluster.name;
    await query(one.url, `CREATE DATABASE d ON CLUSTER ${c}`);
    await query(one.url, `CREATE TABLE d.local ON CLUSTER ${c} (k UInt64, v String) ENGINE = MergeTree ORDER BY k`);
    await query(
      one.url,
      `CREATE TABLE d.dist ON CLUSTER ${c} AS d.local ENGINE = Distributed(${c}, d, local, cityHash64(k))`,
    );
    for (const shard of cluster.shards) {
      assert.equal(await query(shard.url, "SELECT count() FROM system.tables WHERE database = 'd'"), '2');
    }

    await query(one.url, 'INSERT INTO d.dist SELECT number, toString(number) FROM system.numbers LIMIT 200', {
      settings: { insert_distributed_sync: '1' },
    });

    assert.equal(await query(two.url, 'SELECT count(), sum(k) FROM d.dist'), '200\t19900');
    const local = await Promise.all(
      cluster.shards.map(async (s) => Number(await query(s.url, 'SELECT count() FROM d.local'))),
    );
    assert.equal(local[0] + local[1], 200);
    for (const n of local) assert.ok(n > 0 && n < 200, `each shard holds part of the rows: ${local}`);
  });

  it('names the shards in macros', async () => {
    const macros = await Promise.all(
      cluster.shards.map((s) => query(s.url, "SELECT substitution FROM system.macros WHERE macro = 'shard'")),
    );
    assert.deepEqual(macros, ['01', '02']);
  });
});
