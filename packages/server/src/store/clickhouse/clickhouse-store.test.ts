import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../logger.ts';
import { runSpanStoreContract } from '../span-store.contract.ts';
import { chdbExecutor, loadChdb } from '../testdata/chdb-executor.ts';
import { ClickHouseSpanStore } from './clickhouse-store.ts';
import type { ClickHouseExecutor } from './executor.ts';
import { sqlString } from './sql.ts';

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
