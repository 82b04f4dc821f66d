import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { COMPAT_OFF } from '../ingest/testdata/ariadne-process.ts';
import { parseServeArgs } from './config.ts';
import { main } from './main.ts';
import { ariadneNodeFlags } from './node-flags.ts';

const BIN = new URL('../../bin/ariadne.mjs', import.meta.url).pathname;

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

async function run(argv: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(argv, { stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

interface Serve {
  child: ChildProcess;
  api: string;
  otlp: string;
  output: () => string;
}

/** Starts `ariadne serve` as a real process on free ports and waits until it prints its addresses. */
async function serve(dataDir: string): Promise<Serve> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--api-port', '0', '--otlp-http-port', '0', '--otlp-grpc-port', '0', ...COMPAT_OFF],
    {
      // The test sends spans and reads them back at once.
      env: { ...process.env, ARIADNE_DATA: dataDir, ARIADNE_READ_CONSISTENCY: 'read-your-writes' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!/OTLP\/gRPC/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    api: /web UI and query API\s+(\S+)/.exec(output)![1],
    otlp: /OTLP\/HTTP\s+(\S+)/.exec(output)![1],
    output: () => output,
  };
}

async function stop(s: Serve, signal: NodeJS.Signals = 'SIGTERM') {
  const exited = new Promise<number | null>((r) => s.child.on('exit', (code) => r(code)));
  s.child.kill(signal);
  return exited;
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
function traceRequest(count: number) {
  const spans = Array.from({ length: count }, (_, i) => ({
    traceId: TRACE,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: i === 0 ? '' : '0000000000000001',
    name: i === 0 ? 'POST /orders' : `step-${i}`,
    kind: i === 0 ? 2 : 3,
    startTimeUnixNano: String(1_764_000_000_000_000_000n + BigInt(i) * 1_000_000n),
    endTimeUnixNano: String(
      1_764_000_000_000_000_000n + BigInt(i) * 1_000_000n + 500_000n + (i === 0 ? 100_000_000n : 0n),
    ),
    attributes: [{ key: 'order.id', value: { stringValue: 'ORD-CLI-1' } }],
    status: i === 2 ? { code: 2, message: 'db timeout' } : {},
  }));
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cli-shop' } }] },
        scopeSpans: [{ spans }],
      },
    ],
  };
}

describe('ariadne CLI', () => {
  let dir: string;
  let server: Serve;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ariadne-cli-'));
    server = await serve(dir);
  });
  after(async () => {
    if (server.child.exitCode === null) await stop(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints usage for --help on every command, and exits 2 on a mistake', async () => {
    for (const command of ['serve', 'search', 'trace', 'analyze']) {
      const r = await run([command, '--help']);
      assert.equal(r.code, 0, command);
      assert.match(r.stdout, new RegExp(`Usage: ariadne ${command}`));
    }
    const bad = await run(['serve', '--api-port', 'http']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--api-port: not a port number/);
    assert.equal((await run(['frobnicate'])).code, 2);
  });

  it('runs as a command, with Node flags that Node accepts', () => {
    // Executed directly, as `ariadne` on PATH is: the shebang line must start Node.
    const direct = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
    assert.equal(direct.status, 0, direct.stderr);
    assert.match(direct.stdout, /^Usage: ariadne <command>/);
    const flags = ariadneNodeFlags();
    assert.ok(flags.includes('--single-threaded-gc'), `flags: ${flags.join(' ')}`);
    // Node refuses an unknown flag (exit 9): every flag on the shebang line reaches V8.
    const probe = spawnSync(process.execPath, [...flags, '-'], {
      input: 'console.log(process.execArgv.join(" "))',
      encoding: 'utf8',
    });
    assert.equal(probe.status, 0, probe.stderr);
    assert.equal(probe.stdout.trim(), flags.join(' '));
  });

  it('reads every serve option from flags or ARIADNE_* variables, flags first', () => {
    const config = parseServeArgs(['--api-port', '5000', '--max-body', '1MiB'], {
      ARIADNE_API_PORT: '6000',
      ARIADNE_DATA: '/tmp/x',
      ARIADNE_OTLP_GRPC_PORT: '7000',
      ARIADNE_MEMORY_LIMIT: '512MiB',
    });
    assert.ok(config !== 'help');
    assert.equal(config.apiPort, 5000);
    assert.equal(config.dataDir, '/tmp/x');
    assert.equal(config.otlpGrpcPort, 7000);
    assert.equal(config.otlpHttpPort, 4318);
    assert.equal(config.maxBodyBytes, 1024 * 1024);
    assert.equal(config.memoryLimit, '512MiB');
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.retentionNanos, undefined, 'keeps everything by default');
    const retained = parseServeArgs(['--retention', '36h'], { ARIADNE_RETENTION: '7d' });
    assert.ok(retained !== 'help');
    assert.equal(retained.retentionNanos, 36n * 3_600_000_000_000n);
    const fromEnv = parseServeArgs([], { ARIADNE_RETENTION: '7d' });
    assert.ok(fromEnv !== 'help');
    assert.equal(fromEnv.retentionNanos, 7n * 86_400_000_000_000n);
    assert.throws(() => parseServeArgs(['--retention', 'forever'], {}), /--retention: expected a duration like 7d/);
    assert.throws(() => parseServeArgs(['--retention', '0d'], {}), /--retention/);
    const consistent = parseServeArgs([], { ARIADNE_READ_CONSISTENCY: 'read-your-writes' });
    assert.ok(consistent !== 'help');
    assert.equal(consistent.readConsistency, 'read-your-writes');
    assert.equal(fromEnv.readConsistency, undefined, 'reads answer from what is committed by default');
    assert.throws(() => parseServeArgs(['--read-consistency', 'strong'], {}), /--read-consistency: expected committed/);
  });

  it('serves: spans sent over OTLP are found by `search` and shown by `trace`', async () => {
    const response = await fetch(server.otlp, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(traceRequest(4)),
    });
    assert.equal(response.status, 200);
    const search = await run(['search', '--attr', 'order.id=ORD-CLI-1', '--api', server.api]);
    assert.equal(search.code, 0, search.stderr);
    assert.match(search.stdout, new RegExp(TRACE));
    assert.match(search.stdout, /cli-shop: POST \/orders/);
    const traceql = await run([
      'search',
      '{ resource.service.name = "cli-shop" && span.order.id = "ORD-CLI-1" } | count() > 0',
      '--api',
      server.api,
    ]);
    assert.equal(traceql.code, 0, traceql.stderr);
    assert.match(traceql.stdout, new RegExp(`${TRACE}.*cli-shop: POST /orders.*\\s[1-9]\\d*$`, 'm'));
    assert.match(traceql.stdout, /MATCHED/);
    const bad = await run(['search', '{ status = }', '--api', server.api]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid TraceQL query: 1:12: /);
    const mixed = await run(['search', '{ }', '--service', 'cli-shop', '--api', server.api]);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /cannot be combined with --service/);
    const trace = await run(['trace', TRACE, '--api', server.api]);
    assert.equal(trace.code, 0, trace.stderr);
    assert.match(trace.stdout, /POST \/orders/);
    assert.match(trace.stdout, /step-2/);
    assert.match(trace.stdout, /swallowed/i);
    const missing = await run(['trace', 'ffffffffffffffffffffffffffffffff', '--api', server.api]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found/);
    const down = await run(['search', '--api', 'http://127.0.0.1:9']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach the Ariadne API/);
  });

  it('commits everything acknowledged on SIGTERM, and the data survives a restart', async () => {
    const acks = await Promise.all(
      [1, 2, 3].map((n) =>
        fetch(server.otlp, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            resourceSpans: [
              {
                scopeSpans: [
                  {
                    spans: [
                      {
                        traceId: `${n}`.repeat(32),
                        spanId: `${n}`.repeat(16),
                        name: `last-${n}`,
                        startTimeUnixNano: '1',
                        endTimeUnixNano: '2',
                      },
                    ],
                  },
                ],
              },
            ],
          }),
        }),
      ),
    );
    assert.deepEqual(
      acks.map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal(await stop(server), 0);
    assert.match(server.output(), /stopped/);
    server = await serve(dir);
    for (const n of [1, 2, 3]) {
      const r = await fetch(`${server.api}/api/v1/traces/${`${n}`.repeat(32)}`);
      assert.equal(r.status, 200);
    }
    assert.equal((await (await fetch(`${server.api}/api/v1/traces/${TRACE}`)).json()).spans.length, 4);
  });
});
