import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isClickHouseStore, parseClickHouseUrl, redactUrl } from './store-url.ts';

describe('clickhouse:// store URLs', () => {
  it('reads user, password, host, port, database and cluster', () => {
    const l = parseClickHouseUrl('clickhouse://ari:p%40ss@db.local:9123/traces?cluster=main');
    assert.equal(l.url, 'http://db.local:9123');
    assert.equal(l.username, 'ari');
    assert.equal(l.password, 'p@ss');
    assert.equal(l.database, 'traces');
    assert.equal(l.cluster, 'main');
    assert.equal(l.display, 'clickhouse://ari:***@db.local:9123/traces?cluster=main');
  });
  it('defaults to the default user, port 8123 and database ariadne', () => {
    const l = parseClickHouseUrl('clickhouse://127.0.0.1');
    assert.deepEqual(
      [l.url, l.username, l.password, l.database, l.cluster],
      ['http://127.0.0.1:8123', 'default', '', 'ariadne', undefined],
    );
    assert.equal(parseClickHouseUrl('clickhouses://h/x').url, 'https://h:8443');
  });
  it('names what is wrong without repeating the password', () => {
    for (const [url, message] of [
      ['clickhouse://u:secret@h:1/bad-name', /database name/],
      ['clickhouse://u:secret@h:1/db?shard=1', /unknown option "shard"/],
      ['clickhouse://u:secret@h:1/db?cluster=a b', /cluster name/],
      ['clickhouse://u:secret@:1/db', /invalid --store/],
    ] as const) {
      assert.throws(
        () => parseClickHouseUrl(url),
        (e: Error) => message.test(e.message) && !e.message.includes('secret'),
      );
    }
  });
  it('tells a ClickHouse store from a directory, and redacts passwords in any text', () => {
    assert.equal(isClickHouseStore('clickhouse://h/db'), true);
    assert.equal(isClickHouseStore('./data'), false);
    assert.equal(isClickHouseStore(undefined), false);
    assert.equal(
      redactUrl('failed: http://u:pw@h:1/x and clickhouse://a:b@c'),
      'failed: http://u:***@h:1/x and clickhouse://a:***@c',
    );
  });
});
