import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '@ariadne/core';
import {
  type DuckDBConnection,
  DuckDBInstance,
  LIST,
  UBIGINT,
  UHUGEINT,
  UINTEGER,
  UTINYINT,
  VARCHAR,
} from '@duckdb/node-api';
import { CHUNK_ROWS, ChunkBuilder, type ColumnKind, chunkBuffers } from './chunk-builder.ts';
import { ChunkFeed, checkColumnKinds } from './chunk-writer.ts';

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
const KINDS: ColumnKind[] = ['u8', 'u32', 'u64', 'u64', 'u128', 'varchar', 'varchar[]'];

function write(writer: ChunkBuilder, rows: readonly Row[]): void {
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
}

/** Strings of every shape the string layout distinguishes. */
const SHAPES = [
  '',
  'a',
  'twelve bytes',
  'thirteen byte',
  'ééééé', // 10 bytes in 5 units
  'éééééé', // 12 bytes
  'ééééééé', // 14 bytes in 7 units: inline by length in units, not in bytes
  '✓ check',
  '😀 emoji beyond the BMP',
  'lone \ud800 surrogate',
  `long ${'x'.repeat(300)}`,
  'tab\tnew\nline\u0000nul',
];

describe('ChunkBuilder and ChunkFeed', () => {
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
    checkColumnKinds(appender, KINDS, 't');
    appender.closeSync();
    const builder = new ChunkBuilder(KINDS, rows.length);
    write(builder, rows);
    const built = builder.finish();
    assert.equal(built.length, Math.ceil(rows.length / CHUNK_ROWS), `chunks of at most ${CHUNK_ROWS} rows`);
    // As the ingest worker hands them over: transferred, not shared.
    const chunks = structuredClone(built, { transfer: chunkBuffers(built) });
    await ChunkFeed.register(db, 'feed_t', TYPES).insert(db, 't', chunks);
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

  it('stores strings of every shape exactly as Node encodes them to UTF-8, also when row 0 is NULL', async () => {
    await db.run('CREATE TABLE s (text VARCHAR, list VARCHAR[])');
    const rows = Array.from({ length: 2100 }, (_, i) => ({
      text: i % 2048 === 0 ? null : SHAPES[i % SHAPES.length],
      list: Array.from({ length: i % 3 }, (_, k) => SHAPES[(i + k * 5) % SHAPES.length]),
    }));
    const builder = new ChunkBuilder(['varchar', 'varchar[]'], rows.length);
    for (const r of rows) {
      const at = builder.next();
      builder.varchar(0, at, r.text);
      builder.varcharList(1, at, r.list);
    }
    await ChunkFeed.register(db, 'feed_s', [VARCHAR, LIST(VARCHAR)]).insert(db, 's', builder.finish());
    const read = (await db.runAndReadAll('SELECT text, list FROM s ORDER BY rowid')).getRows();
    const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
    assert.equal(read.length, rows.length);
    read.forEach((r, i) => {
      assert.equal(r[0], rows[i].text === null ? null : utf8(rows[i].text as string), `text ${i}`);
      assert.deepEqual((r[1] as { items: string[] }).items, rows[i].list.map(utf8), `list ${i}`);
    });
    const lengths = (await db.runAndReadAll('SELECT strlen(text) FROM s WHERE rowid = 9')).getRows();
    assert.equal(lengths[0][0], BigInt(Buffer.byteLength(SHAPES[9])));
  });

  it('refuses ids that are not hex, row counts that do not match, and tables of other kinds', async () => {
    await db.run('CREATE TABLE u (id UBIGINT)');
    const writer = new ChunkBuilder(['u64'], 2);
    const at = writer.next();
    assert.throws(() => writer.hex(0, at, 'xyz'), /not a u64 id/);
    assert.throws(() => writer.hex(0, at, '1'.repeat(17)), /not a u64 id/);
    writer.hex(0, at, 'ab');
    assert.throws(() => writer.finish(), /fewer rows than announced/);
    const short = new ChunkBuilder(['u64'], 1);
    short.hex(0, short.next(), '1');
    assert.throws(() => short.next(), /more rows than announced/);
    await db.run('CREATE TABLE d (x DOUBLE)');
    const appender = await db.createAppender('d');
    assert.throws(() => checkColumnKinds(appender, ['u64'], 'd'), /unsupported column type DOUBLE/);
    appender.closeSync();
    const u = await db.createAppender('u');
    assert.throws(() => checkColumnKinds(u, ['u32'], 'u'), /table u has columns \(u64\), the writer expects \(u32\)/);
    u.closeSync();
  });

  it('inserts nothing when the insert fails, and feeds the next insert whole', async () => {
    await db.run('CREATE TABLE c (x UINTEGER CHECK (x < 1000))');
    const feed = ChunkFeed.register(db, 'feed_c', [UINTEGER]);
    const build = (values: readonly number[]) => {
      const builder = new ChunkBuilder(['u32'], values.length);
      for (const v of values) builder.u32(0, builder.next(), v);
      return builder.finish();
    };
    // The bad value is in the third chunk: the first two were already handed to DuckDB.
    const bad = Array.from({ length: CHUNK_ROWS * 3 }, (_, i) => (i === CHUNK_ROWS * 2 + 7 ? 5000 : i % 1000));
    await db.run('BEGIN TRANSACTION');
    await assert.rejects(feed.insert(db, 'c', build(bad)), /CHECK constraint/);
    await db.run('ROLLBACK');
    assert.equal((await db.runAndReadAll('SELECT count(*) FROM c')).getRows()[0][0], 0n);
    const good = Array.from({ length: CHUNK_ROWS + 3 }, (_, i) => i % 1000);
    const inserting = feed.insert(db, 'c', build(good));
    await assert.rejects(feed.insert(db, 'c', build([1])), /feed_c is already feeding an insert/);
    await inserting;
    const read = (await db.runAndReadAll('SELECT x FROM c ORDER BY rowid')).getRows();
    assert.deepEqual(
      read.map((r) => r[0]),
      good,
    );
  });
});
