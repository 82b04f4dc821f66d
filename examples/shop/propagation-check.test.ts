import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PropagationCheck } from './propagation-check.ts';
import { startPropagationCheck } from './propagation-check.ts';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: readonly string[];
  readonly body: unknown;
}

/** A real local receiver that records every request, like the harness's callback server. */
async function startReceiver(): Promise<{ port: number; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        raw: req.rawHeaders,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      res.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, received, server };
}

function send(port: number, headers: readonly [string, string][], body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'POST', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    for (const [name, value] of groupHeaders(headers)) req.setHeader(name, value);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function groupHeaders(headers: readonly [string, string][]): Map<string, string | string[]> {
  const map = new Map<string, string | string[]>();
  for (const [name, value] of headers) {
    const prev = map.get(name);
    map.set(name, prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value]);
  }
  return map;
}

const T = '12345678901234567890123456789012';
const P = '1234567890123456';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

describe('propagation-check service (W3C test harness protocol)', { timeout: 20_000 }, () => {
  let check: PropagationCheck;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    receiver = await startReceiver();
    check = await startPropagationCheck({ port: 0 });
  });
  after(async () => {
    await check.close();
    receiver.server.closeAllConnections();
    receiver.server.close();
  });

  const run = async (headers: [string, string][], count: number) => {
    receiver.received.length = 0;
    const calls = Array.from({ length: count }, (_, i) => ({
      url: `http://127.0.0.1:${receiver.port}/${i}`,
      arguments: [{ call: i }],
    }));
    const status = await send(check.port, headers, JSON.stringify(calls));
    return { status, received: [...receiver.received] };
  };

  it('forwards in order, with the arguments as body, continuing the trace with a new parent id per call', async () => {
    const { status, received } = await run(
      [
        ['traceparent', `00-${T}-${P}-01`],
        ['tracestate', 'foo=1,bar=2'],
        ['baggage', 'userId=alice,serverNode=DF%2028'],
      ],
      3,
    );
    assert.equal(status, 200);
    assert.deepEqual(
      received.map((r) => r.path),
      ['/0', '/1', '/2'],
    );
    assert.deepEqual(
      received.map((r) => r.body),
      [[{ call: 0 }], [{ call: 1 }], [{ call: 2 }]],
    );
    const parents = new Set<string>();
    for (const r of received) {
      const m = TRACEPARENT.exec(String(r.headers.traceparent));
      assert.ok(m, String(r.headers.traceparent));
      assert.equal(m[1], T);
      assert.notEqual(m[2], P);
      assert.equal(m[3], '01');
      parents.add(m[2]);
      assert.equal(r.headers.tracestate, 'foo=1,bar=2');
      assert.equal(r.headers.baggage, 'userId=alice,serverNode=DF%2028');
      assert.equal(r.headers['content-type'], 'application/json');
    }
    assert.equal(parents.size, 3);
  });

  it('keeps the random-trace-id flag of the incoming trace', async () => {
    const { received } = await run([['traceparent', `00-${T}-${P}-03`]], 1);
    assert.equal(TRACEPARENT.exec(String(received[0].headers.traceparent))?.[3], '03');
  });

  it('starts a new trace and drops tracestate when the traceparent is invalid', async () => {
    const { status, received } = await run(
      [
        ['traceparent', `00-00000000000000000000000000000000-${P}-01`],
        ['tracestate', 'foo=1'],
      ],
      3,
    );
    assert.equal(status, 200);
    const traceIds = new Set(received.map((r) => TRACEPARENT.exec(String(r.headers.traceparent))?.[1]));
    const parentIds = new Set(received.map((r) => TRACEPARENT.exec(String(r.headers.traceparent))?.[2]));
    assert.equal(traceIds.size, 1);
    assert.ok(!traceIds.has('0'.repeat(32)) && !traceIds.has(undefined));
    assert.equal(parentIds.size, 3);
    for (const r of received) assert.equal(r.headers.tracestate, undefined);
  });

  it('starts a new trace for a duplicated traceparent, and combines repeated tracestate fields', async () => {
    const dup = await run(
      [
        ['traceparent', `00-${T.slice(0, -1)}1-${P}-01`],
        ['traceparent', `00-${T}-${P}-01`],
      ],
      1,
    );
    const traceId = TRACEPARENT.exec(String(dup.received[0].headers.traceparent))?.[1];
    assert.ok(traceId !== undefined && traceId !== T && traceId !== `${T.slice(0, -1)}1`);

    const combined = await run(
      [
        ['traceparent', `00-${T}-${P}-00`],
        ['tracestate', 'foo=1,bar=2'],
        ['tracestate', 'rojo=1,congo=2'],
        ['tracestate', 'baz=3'],
      ],
      1,
    );
    assert.equal(combined.received[0].headers.tracestate, 'foo=1,bar=2,rojo=1,congo=2,baz=3');
  });

  it('sends exactly one traceparent, and no tracestate or baggage when there was none', async () => {
    const { received } = await run([], 1);
    const names = received[0].raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    assert.equal(names.filter((n) => n === 'traceparent').length, 1);
    assert.ok(!names.includes('tracestate') && !names.includes('baggage'));
    assert.match(String(received[0].headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-03$/);
  });

  it('answers 400 to a body that is not a JSON array of calls', async () => {
    assert.equal(await send(check.port, [], '{"url":"x"}'), 400);
    assert.equal(await send(check.port, [], 'not json'), 400);
  });
});

describe('propagation-check command line', { timeout: 20_000 }, () => {
  it('listens on 127.0.0.1 at the port given with --port and stops on SIGTERM', async () => {
    const script = fileURLToPath(new URL('./propagation-check.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 15_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      assert.ok(port > 0);
      assert.equal(await send(port, [], '[]'), 200);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });
});
