import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '@ariadne/core';
import {
  DOUBLE,
  type DuckDBConnection,
  DuckDBInstance,
  LIST,
  UBIGINT,
  UHUGEINT,
  UINTEGER,
  UTINYINT,
  VARCHAR,
} from '@duckdb/node-api';
import { ChunkWriter } from './chunk-writer.ts';

interface Row {
  tiny: number | null;
  int: number;
  big: bigint;
  id: string;
  huge: string;
  text: string | null;
  list: string[];
}

const TYPES = [UTINYINT, UINTEGER, UBIGINT, UBIGINT, UHUGEINT, VARCHAR, LIST(VARCHAR)];

function write(writer: ChunkWriter, rows: readonly Row[]): void {
  for (const r of rows) {
    const at = writer.next();
    if (r.tiny === null) writer.setNull(0, at);
    else writer.u8(0, at, r.tiny);
    writer.u32(1, at, r.int);
    writer.u64(2, at, r.big);
    writer.hex(3, at, r.id);
    writer.hex(4, at, r.huge);
    writer.varchar(5, at, r.text);
    writer.varcharList(6, at, r.list);
  }
  writer.finish();
}

describe('ChunkWriter', () => {
  let dir: string;
  let instance: DuckDBInstance;
  let db: DuckDBConnection;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-chunks-'));
    instance = await DuckDBInstance.create(join(dir, 'db.duckdb'));
    db = await instance.connect();
  });
  after(() => {
    db.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every kind of column exactly, across several chunks, with NULLs and lists', async () => {
    await db.run(
      'CREATE TABLE t (tiny UTINYINT, int UINTEGER, big UBIGINT, id UBIGINT, huge UHUGEINT, text VARCHAR, list VARCHAR[])',
    );
    const random = seededRandom(11);
    const hex = (digits: number) =>
      Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16))
        .join('')
        .replace(/^0+/, '');
    const rows: Row[] = Array.from({ length: 5000 }, (_, i) => ({
      tiny: i % 7 === 0 ? null : i % 256,
      int: i === 1 ? 0xffffffff : i * 977,
      big: i === 2 ? 2n ** 64n - 1n : BigInt(i) * 1_000_000_007n,
      id: i === 3 ? '' : i === 4 ? 'ffffffffffffffff' : hex(16),
      huge: i === 5 ? 'f'.repeat(32) : hex(32),
      text: i % 5 === 0 ? null : i % 3 === 0 ? '' : `value ${i} ${'long text beyond twelve bytes '.repeat(i % 3)}`,
      list: Array.from({ length: i % 4 }, (_, k) => `item-${i}-${k}${k === 1 ? ' with a longer tail' : ''}`),
    }));
    const appender = await db.createAppender('t');
    write(new ChunkWriter(appender, TYPES, rows.length), rows);
    const read = (await db.runAndReadAll('SELECT * FROM t ORDER BY rowid')).getRows();
    assert.equal(read.length, rows.length);
    read.forEach((r, i) => {
      const want = rows[i];
      assert.equal(r[0], want.tiny, `tiny ${i}`);
      assert.equal(r[1], want.int, `int ${i}`);
      assert.equal(r[2], want.big, `big ${i}`);
      assert.equal(r[3], want.id === '' ? 0n : BigInt(`0x${want.id}`), `id ${i}`);
      assert.equal(r[4], want.huge === '' ? 0n : BigInt(`0x${want.huge}`), `huge ${i}`);
      assert.equal(r[5], want.text, `text ${i}`);
      assert.deepEqual((r[6] as { items: string[] }).items, want.list, `list ${i}`);
    });
  });

  it('refuses ids that are not hex and row counts that do not match', async () => {
    await db.run('CREATE TABLE u (id UBIGINT)');
    const appender2 = await db.createAppender('u');
    const writer = new ChunkWriter(appender2, [UBIGINT], 2);
    const at = writer.next();
    assert.throws(() => writer.hex(0, at, 'xyz'), /not a u64 id/);
    assert.throws(() => writer.hex(0, at, '1'.repeat(17)), /not a u64 id/);
    writer.hex(0, at, 'ab');
    assert.throws(() => writer.finish(), /fewer rows than announced/);
    assert.throws(() => new ChunkWriter(appender2, [DOUBLE], 1), /unsupported column type DOUBLE/);
    const short = new ChunkWriter(await db.createAppender('u'), [UBIGINT], 1);
    short.hex(0, short.next(), '1');
    assert.throws(() => short.next(), /more rows than announced/);
  });
});
