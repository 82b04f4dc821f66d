/**
 * `ariadne copy` against a real embedded store and a real clickhouse-server: every trace reads
 * back equal, a second run copies nothing, an interrupted run (after a batch, cut between the spans
 * and the position, with a torn position record, by a real SIGINT) resumes without storing a span
 * twice, and a store in use by a running server is refused.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it, test } from 'node:test';
import { type KeyValue, type Span, seededRandom, unixNanos } from '@ariadne/core';
import { IngestLog, LogFormat } from '../ingest/ingest-log.ts';
import { COMPAT_OFF } from '../ingest/testdata/ariadne-process.ts';
import { ClickHouseSpanStore } from '../store/clickhouse/clickhouse-store.ts';
import { HttpExecutor } from '../store/clickhouse/executor.ts';
import { parseClickHouseUrl } from '../store/clickhouse/store-url.ts';
import { DuckDbSpanStore } from '../store/duckdb-store.ts';
import {
  CLICKHOUSE_TEST_PASSWORD,
  CLICKHOUSE_TEST_USER,
  type ClickHouseServer,
  clickHouseMissing,
  startClickHouse,
} from '../store/testdata/clickhouse-server.ts';
import { copyStore } from './copy.ts';
import { main } from './main.ts';

const BIN = new URL('../../bin/ariadne.mjs', import.meta.url).pathname;

const missing = clickHouseMissing();
if (missing && process.env.CI === 'true') {
  test('clickhouse-server is installed (required when CI=true)', () => {
    assert.fail(missing);
  });
}
const skip = missing ? `${missing}; skipping the copy tests that need ClickHouse` : false;

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

async function run(argv: string[], isTTY = false) {
  const out = capture();
  const err = capture();
  const code = await main(argv, { stdout: out.stream, stderr: err.stream, isTTY });
  return { code, stdout: out.text(), stderr: err.text() };
}

const T0 = 1_760_000_000_000_000_000n;
const MS = 1_000_000n;
const attr = (key: string, value: KeyValue['value']): KeyValue => ({ key, value });
const SCOPE = { name: 'copy-test', version: '1.0', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
const SERVICES = ['frontend', 'payment', 'inventory', 'orders'];

function resource(service: string) {
  return {
    attributes: [attr('service.name', { type: 'string', value: service }), attr('host.id', { type: 'int', value: 7n })],
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
}

/** A span with attributes of every type, an event and a link, so that a copy must carry them all. */
function makeSpan(trace: string, n: number, spanCount: number, startMs: number): Span {
  const start = T0 + BigInt(startMs + n) * MS;
  const service = SERVICES[n % SERVICES.length];
  const spanId = `${trace.slice(0, 8)}${(n + 1).toString(16).padStart(8, '0')}`;
  return {
    traceId: trace,
    spanId,
    parentSpanId: n === 0 ? '' : `${trace.slice(0, 8)}${'1'.padStart(8, '0')}`,
    traceState: n === 1 ? 'vendor=abc' : '',
    flags: 1,
    name: n === 0 ? 'POST /orders' : `step-${n % 7}`,
    kind: n === 0 ? 2 : 3,
    startTimeUnixNano: unixNanos(start),
    endTimeUnixNano: unixNanos(start + BigInt(spanCount - n) * MS),
    attributes: [
      attr('order.id', { type: 'string', value: `ORD-${trace.slice(0, 6)}` }),
      attr('n', { type: 'int', value: BigInt(n) - 3n }),
      attr('ratio', { type: 'double', value: n / 3 }),
      attr('ok', { type: 'bool', value: n % 2 === 0 }),
      ...(n === 2
        ? [
            attr('raw', { type: 'bytes', value: new Uint8Array([0, 1, 254]) }),
            attr('list', { type: 'array', value: [{ type: 'string', value: 'x' }] }),
            attr('map', { type: 'kvlist', value: [attr('deep', { type: 'bool', value: false })] }),
            attr('unicode', { type: 'string', value: '주문 ✓' }),
          ]
        : []),
    ],
    droppedAttributesCount: 0,
    events:
      n === 1
        ? [
            {
              timeUnixNano: unixNanos(start + 1n),
              name: 'exception',
              attributes: [attr('exception.message', { type: 'string', value: 'db timeout' })],
              droppedAttributesCount: 0,
            },
          ]
        : [],
    droppedEventsCount: 0,
    links:
      n === 3
        ? [
            {
              traceId: trace,
              spanId,
              traceState: '',
              attributes: [attr('link.kind', { type: 'string', value: 'follows' })],
              droppedAttributesCount: 0,
              flags: 1,
            },
          ]
        : [],
    droppedLinksCount: 0,
    status: n === 2 ? { code: 2, message: 'failed' } : { code: 0, message: '' },
    serviceName: service,
    resource: resource(service),
    scope: SCOPE,
  };
}

const TRACE_COUNT = 300;
const BIG_TRACE_SPANS = 450;

/**
 * 300 traces of 1 to 8 spans (one of 450), with random ids and three chosen ones: a 64-bit id
 * padded with zeros, the highest id and one sharing its first half with another. Written in three
 * batches, one trace in two of them.
 */
function makeTraces(): Map<string, Span[]> {
  const random = seededRandom(42);
  const hex = (digits: number) => Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');
  const ids = ['0000000000000000a3ce929d0e0e4736', 'ffffffffffffffffffffffffffffffff'];
  const shared = hex(16);
  ids.push(`${shared}${hex(16)}`, `${shared}${hex(16)}`);
  while (ids.length < TRACE_COUNT) ids.push(hex(32));
  const traces = new Map<string, Span[]>();
  ids.forEach((id, i) => {
    const count = i === 5 ? BIG_TRACE_SPANS : 1 + Math.floor(random() * 8);
    traces.set(
      id,
      Array.from({ length: count }, (_, n) => makeSpan(id, n, count, i * 10)),
    );
  });
  return traces;
}

async function buildEmbeddedStore(dir: string, traces: Map<string, Span[]>): Promise<void> {
  const store = await DuckDbSpanStore.open({ dataDir: dir });
  try {
    const all = [...traces.values()];
    const third = Math.floor(all.length / 3);
    const [split] = all.slice(10, 11);
    const half = Math.floor(split.length / 2);
    await store.writeSpans([...all.slice(0, 10).flat(), ...split.slice(0, half)]);
    await store.writeSpans([...split.slice(half), ...all.slice(11, third).flat()]);
    await store.writeSpans(all.slice(third).flat());
  } finally {
    await store.close();
  }
}

function spanCount(traces: Map<string, Span[]>): number {
  let n = 0;
  for (const spans of traces.values()) n += spans.length;
  return n;
}

describe('ariadne copy: usage and refusals', () => {
  it('prints its usage, and exits 2 on a mistake without repeating a password', async () => {
    const help = await run(['copy', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: ariadne copy --from DIR --to URL/);
    assert.match(
      (await run(['--help'])).stdout,
      /copy --from DIR --to URL\s+move an embedded store's spans into ClickHouse/,
    );
    const noTo = await run(['copy', '--from', '/tmp']);
    assert.equal(noTo.code, 2);
    assert.match(noTo.stderr, /--to URL is required/);
    const wrong = await run(['copy', '--from', '/tmp', '--to', 'http://me:hunter2@db:8123/x']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--to: expected clickhouse:\/\//);
    assert.doesNotMatch(wrong.stderr, /hunter2/);
    const badDb = await run(['copy', '--from', '/tmp', '--to', 'clickhouse://me:hunter2@db:8123/no-dash']);
    assert.equal(badDb.code, 2);
    assert.match(badDb.stderr, /invalid --to: database name/);
    assert.doesNotMatch(badDb.stderr, /hunter2/);
  });

  it('refuses a directory without an embedded store, and creates nothing there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ariadne-copy-empty-'));
    try {
      const r = await run(['copy', '--from', dir, '--to', 'clickhouse://127.0.0.1:9/x']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /holds no embedded store/);
      assert.ok(!existsSync(join(dir, 'ariadne.duckdb')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a store whose ingest log holds requests it has not applied (a server that crashed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ariadne-copy-log-'));
    try {
      await (await DuckDbSpanStore.open({ dataDir: dir })).close();
      const log = await IngestLog.open({ dir: join(dir, 'ingest-log') });
      await log.append(LogFormat.OTLP_JSON, Buffer.from('{"resourceSpans":[]}'), 0).durable;
      await log.close();
      const r = await run(['copy', '--from', dir, '--to', 'clickhouse://127.0.0.1:9/x']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ingest log .* holds \d+ bytes of requests the store has not applied yet/);
      assert.match(r.stderr, /start ariadne serve on it once and stop it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ariadne copy into ClickHouse', { skip }, () => {
  let server: ClickHouseServer;
  let dir: string;
  let traces: Map<string, Span[]>;
  const totalSpans = () => spanCount(traces);

  before(async () => {
    traces = makeTraces();
    dir = mkdtempSync(join(tmpdir(), 'ariadne-copy-'));
    await buildEmbeddedStore(dir, traces);
    server = await startClickHouse();
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const urlOf = (database: string) => `clickhouse://${server.url.replace('http://', '')}/${database}`;
  const secretUrlOf = (database: string) =>
    `clickhouse://${CLICKHOUSE_TEST_USER}:${CLICKHOUSE_TEST_PASSWORD}@${server.url.replace('http://', '')}/${database}`;

  async function sql(text: string): Promise<string> {
    const response = await fetch(`${server.url}/`, { method: 'POST', body: text });
    const body = await response.text();
    if (!response.ok) throw new Error(`ClickHouse ${response.status}: ${body}`);
    return body.trim();
  }

  /** Creates the store's tables with merges stopped, so that a span stored twice stays visible as two rows. */
  async function prepareDatabase(database: string): Promise<ClickHouseSpanStore> {
    const store = await ClickHouseSpanStore.open({
      executor: new HttpExecutor(parseClickHouseUrl(urlOf(database))),
      database,
    });
    await sql(`SYSTEM STOP MERGES ${database}.spans`);
    return store;
  }

  /** Every trace reads back from ClickHouse as from the embedded store, and no span row is stored twice. */
  async function assertCopied(target: ClickHouseSpanStore, database: string): Promise<void> {
    const source = await DuckDbSpanStore.open({ dataDir: dir });
    try {
      const ids = [...traces.keys()];
      for (let i = 0; i < ids.length; i += 16) {
        await Promise.all(
          ids.slice(i, i + 16).map(async (id) => {
            const [expected, actual] = await Promise.all([source.getTrace(id), target.getTrace(id)]);
            assert.equal(expected.length, traces.get(id)!.length, id);
            assert.deepEqual(actual, expected, `trace ${id}`);
          }),
        );
      }
    } finally {
      await source.close();
    }
    assert.equal(Number(await sql(`SELECT count() FROM ${database}.spans`)), totalSpans(), 'span rows in ClickHouse');
  }

  /** The spans of traces `from..to` (in id order), written to ClickHouse without a position. */
  async function writeWithoutPosition(target: ClickHouseSpanStore, ids: string[]): Promise<void> {
    const source = await DuckDbSpanStore.open({ dataDir: dir });
    try {
      for (const id of ids) await target.writeSpans(await source.getTrace(id));
    } finally {
      await source.close();
    }
  }

  const sortedIds = () => [...traces.keys()].sort();

  it('copies every trace, equal span for span, with a progress line, and never shows the password', async () => {
    const target = await prepareDatabase('copy_full');
    try {
      const r = await run(['copy', '--from', dir, '--to', secretUrlOf('copy_full'), '--batch-spans', '300'], true);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`copying 300 traces from ${dir} to clickhouse://ariadne:\\*\\*\\*@`));
      assert.match(r.stderr, /\rcopied \d+ \/ 300 traces \([\d,]+ spans\) \d+\.\d% [\d,]+ spans\/s/);
      const spans = totalSpans().toLocaleString('en-US');
      assert.match(r.stderr, new RegExp(`copied 300 / 300 traces \\(${spans} spans\\) 100\\.0%`));
      assert.match(
        r.stdout,
        new RegExp(
          `^copied 300 traces \\(${totalSpans().toLocaleString('en-US')} spans\\) to clickhouse://ariadne:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/copy_full in [\\d.]+ s\\n$`,
        ),
      );
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(CLICKHOUSE_TEST_PASSWORD));
      await assertCopied(target, 'copy_full');

      const again = await run(['copy', '--from', dir, '--to', urlOf('copy_full')]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /resuming: 300 traces were copied by an earlier run/);
      assert.match(again.stdout, /^nothing new to copy: all 300 traces were already copied to clickhouse:\/\//);
      await assertCopied(target, 'copy_full');
    } finally {
      await target.close();
    }
  });

  it('resumes after an interruption between the spans and the position: skips what landed, stores nothing twice', async () => {
    const database = 'copy_resume';
    const target = await prepareDatabase(database);
    try {
      const first = await copyStore({ from: dir, to: urlOf(database), batchSpans: 200, maxBatches: 1 });
      assert.equal(first.complete, false);
      assert.ok(first.copiedTraces > 0 && first.copiedTraces < TRACE_COUNT, `copied ${first.copiedTraces}`);
      assert.equal(first.skippedTraces, 0);
      // An interruption after ClickHouse acknowledged the next write's spans, before its position.
      const ids = sortedIds();
      const landed = ids.slice(first.doneTraces, first.doneTraces + 20);
      await writeWithoutPosition(target, landed);

      const second = await run(['copy', '--from', dir, '--to', urlOf(database)]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, new RegExp(`resuming: ${first.doneTraces} traces were copied by an earlier run`));
      const copiedNow = TRACE_COUNT - first.doneTraces - 20;
      assert.match(
        second.stdout,
        new RegExp(
          `^copied ${copiedNow} traces .* resumed after ${first.doneTraces} traces copied by an earlier run; 20 traces skipped: already in ClickHouse\\n$`,
        ),
      );
      await assertCopied(target, database);
    } finally {
      await target.close();
    }
  });

  it('rewrites a trace that landed in part, and resumes from a position record that landed in part', async () => {
    const database = 'copy_torn';
    const target = await prepareDatabase(database);
    try {
      const first = await copyStore({ from: dir, to: urlOf(database), batchSpans: 200, maxBatches: 2 });
      assert.equal(first.complete, false);
      const ids = sortedIds();
      const source = `copy:${dir}`;
      // The next 30 traces landed and the position of the 30th too, but not its `low` counter (a
      // shard down on a cluster): the record names no trace, and the copy must not skip past it.
      const landed = ids.slice(first.doneTraces, first.doneTraces + 30);
      await writeWithoutPosition(target, landed);
      const last = BigInt(`0x${landed[landed.length - 1]}`);
      await target.writeSpans([], { source, position: last >> 64n });
      // The trace after them landed in part: it is written again whole.
      const partial = ids[first.doneTraces + 30];
      const partialSpans = traces.get(partial)!.slice(0, 1);
      await target.writeSpans(partialSpans);

      const second = await copyStore({ from: dir, to: urlOf(database) });
      assert.equal(second.complete, true);
      assert.equal(second.resumed?.exact, false);
      // Resumed from the first id the position allows: the 30th landed trace is found and skipped.
      assert.ok(second.skippedTraces >= 1, `skipped ${second.skippedTraces}`);
      // The partial trace's first span is stored twice until a merge; reads show it once.
      await sql(`SYSTEM START MERGES ${database}.spans`);
      await sql(`OPTIMIZE TABLE ${database}.spans FINAL`);
      await assertCopied(target, database);
    } finally {
      await target.close();
    }
  });

  it('stops on SIGINT after the write under way, exits 130, and the same command resumes', async () => {
    const database = 'copy_sigint';
    const target = await prepareDatabase(database);
    try {
      const child = spawn(
        process.execPath,
        [BIN, 'copy', '--from', dir, '--to', urlOf(database), '--batch-spans', '5'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      let sent = false;
      child.stdout!.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (!sent && /copied \d+ \/ 300 traces/.test(stderr)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      const code = await exitOf(child);
      assert.equal(code, 130, stderr);
      assert.match(stderr, /stopping after the write under way/);
      assert.match(stderr, /interrupted; run the same command again to resume/);
      assert.match(stdout, /^copied \d+ traces/);
      const done = Number(/^copied (\d+) traces/.exec(stdout)![1]);
      assert.ok(done < TRACE_COUNT, `interrupted before the end: ${stdout}`);

      const resumed = await run(['copy', '--from', dir, '--to', urlOf(database)]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /resumed after \d+ traces copied by an earlier run/);
      await assertCopied(target, database);
    } finally {
      await target.close();
    }
  });

  it('refuses the store of a running server, and copies it once the server stopped', async () => {
    const served = mkdtempSync(join(tmpdir(), 'ariadne-copy-served-'));
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        '--api-port',
        '0',
        '--otlp-http-port',
        '0',
        '--otlp-grpc-port',
        '0',
        ...COMPAT_OFF,
        '--log-level',
        'warn',
      ],
      { env: { ...process.env, ARIADNE_DATA: served }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let output = '';
      child.stdout!.on('data', (c: Buffer) => {
        output += c.toString();
      });
      child.stderr!.on('data', (c: Buffer) => {
        output += c.toString();
      });
      const deadline = Date.now() + 30_000;
      while (!/OTLP\/HTTP\s+(\S+)/.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not start: ${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const otlp = /OTLP\/HTTP\s+(\S+)/.exec(output)![1];
      const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const response = await fetch(otlp, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'served' } }] },
              scopeSpans: [
                {
                  spans: [1, 2, 3].map((n) => ({
                    traceId: trace,
                    spanId: n.toString(16).padStart(16, '0'),
                    parentSpanId: n === 1 ? '' : '0000000000000001',
                    name: `op-${n}`,
                    kind: 2,
                    startTimeUnixNano: String(T0 + BigInt(n) * MS),
                    endTimeUnixNano: String(T0 + BigInt(n + 5) * MS),
                  })),
                },
              ],
            },
          ],
        }),
      });
      assert.equal(response.status, 200);

      const refused = await run(['copy', '--from', served, '--to', urlOf('copy_served')]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /is in use by .*PID \d+.*: stop the server \(ariadne serve\) first/);

      child.kill('SIGTERM');
      assert.equal(await exitOf(child), 0, output);
      const copied = await run(['copy', '--from', served, '--to', urlOf('copy_served')]);
      assert.equal(copied.code, 0, copied.stderr);
      assert.match(copied.stdout, /^copied 1 traces \(3 spans\)/);
      const target = await prepareDatabase('copy_served');
      try {
        assert.deepEqual(
          (await target.getTrace(trace)).map((s) => s.name),
          ['op-1', 'op-2', 'op-3'],
        );
      } finally {
        await target.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exitOf(child);
      }
      rmSync(served, { recursive: true, force: true });
    }
  });

  it('fails with a clear message, and no password, when ClickHouse refuses the login', async () => {
    const wrong = `clickhouse://${CLICKHOUSE_TEST_USER}:wrong-${CLICKHOUSE_TEST_PASSWORD}@${server.url.replace('http://', '')}/copy_denied`;
    const r = await run(['copy', '--from', dir, '--to', wrong]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cannot open the ClickHouse store at clickhouse:\/\/ariadne:\*\*\*@127\.0\.0\.1:\d+\/copy_denied/,
    );
    assert.doesNotMatch(r.stderr, new RegExp(CLICKHOUSE_TEST_PASSWORD));
  });
});

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
