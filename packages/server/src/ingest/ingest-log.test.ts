import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { createLogger } from '../logger.ts';
import { IngestLog, IngestLogError, LogFormat } from './ingest-log.ts';

/** Real files in a temporary directory; damage is done with plain file operations. */

let dir: string;
beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'ariadne-log-')), 'ingest-log');
});
afterEach(() => {
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

const body = (text: string) => Buffer.from(text);
const RECORD_HEADER = 9;
const SEGMENT_HEADER = 16;

function read(log: IngestLog, after = 0n) {
  return [...log.records(after)].map((r) => ({
    position: r.position,
    end: r.end,
    format: r.format,
    body: r.body.toString(),
  }));
}

function segmentFiles(): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort();
}

async function writeAll(log: IngestLog, texts: string[], format: LogFormat = LogFormat.OTLP_PROTOBUF) {
  const appended = texts.map((t) => log.append(format, body(t)));
  await Promise.all(appended.map((a) => a.durable));
  return appended.map((a) => a.end);
}

/** A real logger writing JSON lines into an array. */
function capturingLogger() {
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ destination, format: 'json' }), lines };
}

/** The `acknowledged` file's slots as written: [durable copy, latest], undefined where the checksum fails. */
function markSlots(): ({ position: bigint; spans: bigint } | undefined)[] {
  const bytes = readFileSync(join(dir, 'acknowledged'));
  const slots = [];
  for (let at = 0; at + 20 <= bytes.length; at += 20) {
    const intact = crc32(bytes.subarray(at, at + 16)) === bytes.readUInt32LE(at + 16);
    slots.push(intact ? { position: bytes.readBigUInt64LE(at), spans: bytes.readBigUInt64LE(at + 8) } : undefined);
  }
  return slots;
}

describe('IngestLog', () => {
  it('reads back every record, with its format, at monotonic positions, after a reopen', async () => {
    const log = await IngestLog.open({ dir });
    const ends = await writeAll(log, ['alpha', 'beta']);
    await writeAll(log, ['{"json":true}'], LogFormat.OTLP_JSON);
    assert.deepEqual(ends, [BigInt(RECORD_HEADER + 5), BigInt(2 * RECORD_HEADER + 9)]);
    assert.equal(log.durable, log.end);
    await log.close();

    const again = await IngestLog.open({ dir });
    assert.equal(again.truncatedBytes, 0);
    assert.deepEqual(read(again), [
      { position: 0n, end: 14n, format: LogFormat.OTLP_PROTOBUF, body: 'alpha' },
      { position: 14n, end: 27n, format: LogFormat.OTLP_PROTOBUF, body: 'beta' },
      { position: 27n, end: 49n, format: LogFormat.OTLP_JSON, body: '{"json":true}' },
    ]);
    assert.deepEqual(
      read(again, 14n).map((r) => r.body),
      ['beta', '{"json":true}'],
    );
    const next = again.append(LogFormat.OTLP_PROTOBUF, body('gamma'));
    await next.durable;
    assert.equal(next.end, 49n + BigInt(RECORD_HEADER + 5));
    await again.close();
  });

  it('writes the records appended during a write + fdatasync together, in the next one', async () => {
    const log = await IngestLog.open({ dir });
    const first = log.append(LogFormat.OTLP_PROTOBUF, body('first'));
    await new Promise((r) => setImmediate(r)); // the first write is now in flight
    let firstDone = false;
    void first.durable.then(() => {
      firstDone = true;
    });
    const later = ['b', 'c', 'd'].map((t) => log.append(LogFormat.OTLP_PROTOBUF, body(t)));
    assert.equal(log.durable < later[0].end, true, 'nothing appended is durable before its sync');
    await Promise.all(later.map((a) => a.durable));
    assert.equal(firstDone, true);
    assert.equal(log.syncCount, 2, 'one sync for the first record, one for the three that waited');
    assert.equal(log.durable, later[2].end);
    await log.close();
  });

  it('rolls segments at the size limit, names them by start position, and deletes applied ones', async () => {
    const log = await IngestLog.open({ dir, segmentBytes: 100 });
    const ends: bigint[] = [];
    for (let i = 0; i < 10; i++) ends.push(...(await writeAll(log, [`record-${i}-${'x'.repeat(30)}`])));
    const files = segmentFiles();
    assert.ok(files.length >= 4, `expected several segments, got ${files}`);
    assert.equal(files[0], '00000000000000000000.log');
    assert.equal(read(log).length, 10, 'records read back across segments');
    for (const f of files) {
      const start = BigInt(f.slice(0, 20));
      const header = readFileSync(join(dir, f));
      assert.equal(header.readBigUInt64LE(8), start);
      assert.ok(ends.includes(start) || start === 0n, 'segments start at record boundaries');
    }
    await log.release(ends[4]);
    const kept = segmentFiles();
    assert.ok(kept.length < files.length);
    assert.ok(BigInt(kept[0].slice(0, 20)) <= ends[4], 'the segment holding the next record is kept');
    assert.deepEqual(
      read(log, ends[4]).map((r) => r.body.slice(0, 8)),
      ['record-5', 'record-6', 'record-7', 'record-8', 'record-9'],
    );
    await log.release(log.end);
    assert.equal(segmentFiles().length, 1, 'the segment being written is never deleted');
    await log.close();
  });

  it('truncates a partial record at the tail (never acknowledged) and appends after it', async () => {
    const log = await IngestLog.open({ dir });
    await writeAll(log, ['kept-1', 'kept-2', 'torn-record']);
    await log.close();
    const file = join(dir, segmentFiles()[0]);
    const size = readFileSync(file).length;
    truncateSync(file, size - 4);

    const again = await IngestLog.open({ dir });
    assert.equal(again.truncatedBytes, RECORD_HEADER + 'torn-record'.length - 4);
    assert.deepEqual(
      read(again).map((r) => r.body),
      ['kept-1', 'kept-2'],
    );
    await writeAll(again, ['after']);
    await again.close();
    const third = await IngestLog.open({ dir });
    assert.deepEqual(
      read(third).map((r) => r.body),
      ['kept-1', 'kept-2', 'after'],
    );
    await third.close();
  });

  it('truncates a tail record with a bad checksum, and zeros left by a torn write', async () => {
    const log = await IngestLog.open({ dir });
    await writeAll(log, ['good', 'flipped']);
    await log.close();
    const file = join(dir, segmentFiles()[0]);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(file, bytes);
    appendFileSync(file, Buffer.alloc(300));

    const again = await IngestLog.open({ dir });
    assert.equal(again.truncatedBytes, RECORD_HEADER + 'flipped'.length + 300);
    assert.deepEqual(
      read(again).map((r) => r.body),
      ['good'],
    );
    assert.equal(readFileSync(file).length, SEGMENT_HEADER + RECORD_HEADER + 4);
    await again.close();
  });

  it('removes a new segment whose header was torn by a crash during a roll', async () => {
    const log = await IngestLog.open({ dir, segmentBytes: 20 });
    await writeAll(log, ['a'.repeat(15)]);
    await writeAll(log, ['b'.repeat(15)]);
    const end = log.end;
    await log.close();
    writeFileSync(join(dir, `${end.toString().padStart(20, '0')}.log`), Buffer.from('ARDN'));
    const again = await IngestLog.open({ dir, segmentBytes: 20 });
    assert.equal(again.end, end);
    assert.equal(read(again).length, 2);
    await again.close();
  });

  it('skips and reports a corrupt record in an older segment, recovering every intact one around it', async () => {
    const log = await IngestLog.open({ dir, segmentBytes: 20 });
    const ends = [];
    for (const t of ['one-xxxxxxxxxxx', 'two-xxxxxxxxxxx', 'three-xxxxxxxxx']) ends.push(...(await writeAll(log, [t])));
    await log.close();
    const files = segmentFiles();
    assert.equal(files.length, 3);

    const first = join(dir, files[0]);
    const damaged = Buffer.from(readFileSync(first));
    damaged[damaged.length - 2] ^= 0x01;
    writeFileSync(first, damaged);
    const opened = await IngestLog.open({ dir, segmentBytes: 20 });
    assert.deepEqual(
      opened.damage.map(({ kind, from, to }) => ({ kind, from, to })),
      [{ kind: 'corrupt', from: 0n, to: ends[0] }],
    );
    assert.deepEqual(
      readFileSync(opened.damage[0].savedTo!),
      damaged.subarray(SEGMENT_HEADER),
      'the damaged bytes are kept',
    );
    assert.deepEqual(
      read(opened).map((r) => r.body),
      ['two-xxxxxxxxxxx', 'three-xxxxxxxxx'],
    );
    assert.equal(readFileSync(first).length, damaged.length, 'the segment itself is left as it was');
    await opened.close();
  });

  it('finds the next intact record when a damaged length hides where the bad one ends', async () => {
    const log = await IngestLog.open({ dir });
    const ends = await writeAll(log, ['alpha', 'bravo-bravo', 'charlie', 'delta']);
    await log.close();
    const file = join(dir, segmentFiles()[0]);
    const bytes = Buffer.from(readFileSync(file));
    bytes.writeUInt32LE(0x00ff_ffff, SEGMENT_HEADER + Number(ends[0])); // bravo's length
    writeFileSync(file, bytes);
    const opened = await IngestLog.open({ dir });
    assert.deepEqual(
      opened.damage.map(({ kind, from, to }) => ({ kind, from, to })),
      [{ kind: 'corrupt', from: ends[0], to: ends[1] }],
    );
    assert.deepEqual(
      read(opened).map((r) => r.body),
      ['alpha', 'charlie', 'delta'],
    );
    await opened.close();
  });

  it('reports a missing segment and acknowledged records cut off the end, and refuses a foreign file', async () => {
    const log = await IngestLog.open({ dir, segmentBytes: 20 });
    const ends = [];
    for (const t of ['one-xxxxxxxxxxx', 'two-xxxxxxxxxxx', 'three-xxxxxxxxx']) ends.push(...(await writeAll(log, [t])));
    await log.close();
    const files = segmentFiles();

    const middle = join(dir, files[1]);
    const middleBytes = readFileSync(middle);
    rmSync(middle);
    const gap = await IngestLog.open({ dir, segmentBytes: 20 });
    assert.deepEqual(
      gap.damage.map(({ kind, from, to }) => ({ kind, from, to })),
      [{ kind: 'missing', from: ends[0], to: ends[1] }],
    );
    assert.deepEqual(
      read(gap).map((r) => r.body),
      ['one-xxxxxxxxxxx', 'three-xxxxxxxxx'],
    );
    await gap.close();
    writeFileSync(middle, middleBytes);

    // The last segment cut in half, where the store knew every record acknowledged.
    const last = join(dir, files[2]);
    const lastBytes = readFileSync(last);
    truncateSync(last, SEGMENT_HEADER + 5);
    const cut = await IngestLog.open({ dir, segmentBytes: 20, startAt: ends[0], acknowledged: ends[2] });
    assert.deepEqual(
      cut.damage.map(({ kind, from, to }) => ({ kind, from, to })),
      [
        { kind: 'corrupt', from: ends[1], to: ends[1] + 5n },
        { kind: 'missing', from: ends[1] + 5n, to: ends[2] },
      ],
    );
    assert.equal(cut.end, ends[2], 'appends resume after every position handed out');
    assert.deepEqual(
      read(cut, ends[0]).map((r) => r.body),
      ['two-xxxxxxxxxxx'],
    );
    await cut.close();

    writeFileSync(last, Buffer.concat([Buffer.from('NOTALOG!'), lastBytes.subarray(8)]));
    await assert.rejects(
      IngestLog.open({ dir }),
      (e: Error) => e instanceof IngestLogError && /not an ingest log segment.*move it out/.test(e.message),
    );
  });

  it('resumes at the store position: drops applied segments, reports records missing after it', async () => {
    const log = await IngestLog.open({ dir, segmentBytes: 20 });
    for (const t of ['one-xxxxxxxxxxx', 'two-xxxxxxxxxxx']) await writeAll(log, [t]);
    await log.close();

    const ahead = await IngestLog.open({ dir, startAt: 1000n });
    assert.equal(ahead.end, 1000n, 'positions never go back');
    assert.deepEqual(ahead.damage, []);
    assert.deepEqual(segmentFiles(), ['00000000000000001000.log']);
    await writeAll(ahead, ['later']);
    await ahead.close();

    const behind = await IngestLog.open({ dir, startAt: 500n });
    assert.deepEqual(
      behind.damage.map(({ kind, from, to }) => ({ kind, from, to })),
      [{ kind: 'missing', from: 500n, to: 1000n }],
    );
    await behind.close();
    const resumed = await IngestLog.open({ dir, startAt: 1000n });
    assert.deepEqual(
      read(resumed, 1000n).map((r) => r.body),
      ['later'],
    );
    assert.throws(() => read(resumed, 1003n), /not the start of a record/);
    await resumed.close();
  });

  it('leaves only an empty segment at the end when everything is applied at shutdown', async () => {
    const log = await IngestLog.open({ dir, segmentBytes: 1000 });
    await writeAll(log, ['x', 'y', 'z']);
    const end = log.end;
    await log.release(end, true);
    await log.close();
    assert.deepEqual(segmentFiles(), [`${end.toString().padStart(20, '0')}.log`]);
    assert.equal(readFileSync(join(dir, segmentFiles()[0])).length, SEGMENT_HEADER);
    const again = await IngestLog.open({ dir, startAt: end });
    assert.equal(again.end, end);
    assert.deepEqual(read(again, end), []);
    await again.close();
  });

  it('keeps a record appended while the idle trim rolls to an empty segment', async () => {
    const log = await IngestLog.open({ dir, segmentBytes: 1000 });
    await writeAll(log, ['x', 'y']);
    const applied = log.end;
    // The trim starts (nothing in flight), then a request arrives before its roll is done.
    const trimming = log.release(applied, true);
    const late = log.append(LogFormat.OTLP_JSON, body('late'));
    await Promise.all([trimming, late.durable]);
    assert.equal(log.start, applied, 'the applied records are gone');
    await log.close();
    const again = await IngestLog.open({ dir, startAt: applied });
    assert.deepEqual(
      read(again, applied).map((r) => r.body.toString()),
      ['late'],
    );
    await again.close();
  });

  it('keeps only the newest copies of damaged bytes, within a file count and a size, and logs what it deletes', async () => {
    const damagedDir = join(dir, 'damaged');
    mkdirSync(damagedDir, { recursive: true });
    const copyName = (from: number, to: number) =>
      `${String(from).padStart(20, '0')}-${String(to).padStart(20, '0')}.bin`;
    const name = (i: number) => copyName(i * 100, i * 100 + 50);
    // Six old copies of 100 bytes, the oldest first; and a file a person put there.
    for (let i = 0; i < 6; i++) {
      const path = join(damagedDir, name(i));
      writeFileSync(path, Buffer.alloc(100, i));
      utimesSync(path, 1_000 + i, 1_000 + i);
    }
    writeFileSync(join(damagedDir, 'notes.txt'), 'looked at 0-50');
    // A crash tears the log's tail: its bytes are kept, as the newest copy.
    const log = await IngestLog.open({ dir });
    await writeAll(log, ['kept', 'torn-record']);
    await log.close();
    const segment = join(dir, segmentFiles()[0]);
    truncateSync(segment, readFileSync(segment).length - 3);

    const { logger, lines } = capturingLogger();
    const again = await IngestLog.open({ dir, keepDamagedFiles: 4, keepDamagedBytes: 350, logger });
    await again.close();
    // The torn record's first 17 bytes (positions 13-30) are the newest copy; then 5, 4 and 3
    // (317 bytes in all, four files): 2 would be a fifth.
    const tornCopy = copyName(RECORD_HEADER + 4, 2 * RECORD_HEADER + 4 + 11 - 3);
    assert.deepEqual(readdirSync(damagedDir).sort(), [...[3, 4, 5].map(name), tornCopy, 'notes.txt'].sort());
    const removal = lines.find((l) => /deleted the 3 oldest copies of damaged bytes/.test(l.msg));
    assert.ok(removal, `logged: ${JSON.stringify(lines)}`);
    assert.deepEqual(removal.removed, [2, 1, 0].map(name));
    assert.equal(removal.removedBytes, 300);

    // The file count bounds too, and the newest copy is kept even when alone it is too large.
    const third = await IngestLog.open({ dir, keepDamagedFiles: 2, keepDamagedBytes: 1, logger });
    await third.close();
    assert.deepEqual(readdirSync(damagedDir).sort(), [tornCopy, 'notes.txt']);
  });

  it('keeps the acknowledged mark in two slots: the latest after every write, a durable copy at most every markSyncMs', async () => {
    let now = 0;
    const log = await IngestLog.open({ dir, markSyncMs: 1_000, now: () => now });
    log.startCounting(100n);
    for (const [i, text] of ['a', 'bb', 'ccc', 'dddd'].entries()) {
      await log.append(LogFormat.OTLP_PROTOBUF, body(text), i + 1).durable;
    }
    const ends = log.end;
    assert.equal(log.syncCount, 4);
    // The clock stood still: one durable copy, of the first record; the latest slot is current.
    await log.release(0n);
    await log.markSettled();
    assert.equal(log.markSyncCount, 1);
    const [durable, latest] = markSlots();
    assert.deepEqual(durable, { position: BigInt(RECORD_HEADER + 1), spans: 101n });
    assert.deepEqual(latest, { position: ends, spans: 110n });

    now += 1_000;
    await log.append(LogFormat.OTLP_JSON, body('{}'), 2).durable;
    await log.close();
    assert.equal(log.markSyncCount, 2, 'once the interval passed, the next write made the copy durable again');
    assert.deepEqual(markSlots(), [
      { position: log.end, spans: 112n },
      { position: log.end, spans: 112n },
    ]);
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith('acknowledged')),
      ['acknowledged'],
    );
    const again = await IngestLog.open({ dir });
    assert.deepEqual(again.mark, { position: log.end, spans: 112n });
    await again.close();
  });

  it('reads the acknowledged mark from the slot that is intact, and ignores a torn or garbage mark', async () => {
    const log = await IngestLog.open({ dir });
    log.startCounting(0n);
    await log.append(LogFormat.OTLP_PROTOBUF, body('first'), 3).durable;
    await log.close();
    const file = join(dir, 'acknowledged');
    const intact = readFileSync(file);
    const expected = { position: BigInt(RECORD_HEADER + 5), spans: 3n };

    // The latest slot torn by a crash of the machine: the durable copy stands.
    const tornLatest = Buffer.from(intact);
    tornLatest.fill(0xee, 25, 40);
    writeFileSync(file, tornLatest);
    const torn = await IngestLog.open({ dir });
    assert.deepEqual(torn.mark, expected);
    await torn.close();

    // A later latest slot wins over an older durable copy.
    const later = Buffer.from(intact);
    later.writeBigUInt64LE(99n, 20);
    later.writeUInt32LE(crc32(later.subarray(20, 36)), 36);
    writeFileSync(file, later);
    const newer = await IngestLog.open({ dir, startAt: 99n });
    assert.equal(newer.mark?.position, 99n);
    await newer.close();

    // An older version's one-slot mark still reads.
    writeFileSync(file, intact.subarray(0, 20));
    const old = await IngestLog.open({ dir });
    assert.deepEqual(old.mark, expected);
    await old.close();

    // Cut short, or garbage: no mark (the store's record is used instead); the log opens.
    for (const bytes of [
      intact.subarray(0, 12),
      Buffer.from('this is not a mark at all, really!!!!!!'),
      Buffer.alloc(0),
    ]) {
      writeFileSync(file, bytes);
      const opened = await IngestLog.open({ dir, startAt: 99n });
      assert.equal(opened.mark, undefined);
      await opened.close();
    }
  });

  it('refuses appends after close', async () => {
    const log = await IngestLog.open({ dir });
    await log.close();
    await assert.rejects(log.append(LogFormat.OTLP_JSON, body('{}')).durable, /closed/);
  });
});
