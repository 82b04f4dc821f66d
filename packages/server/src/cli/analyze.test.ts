import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runAnalyze } from './analyze.ts';

const fixtures = new URL('../../../../fixtures/', import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(name, fixtures));

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

async function run(argv: string[], isTTY = false): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await runAnalyze(argv, { stdout: out.stream, stderr: err.stream, isTTY });
  return { code, out: out.text(), err: err.text() };
}

const dir = mkdtempSync(join(tmpdir(), 'ariadne-analyze-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ariadne analyze', () => {
  it('prints help and exits 0', async () => {
    const { code, out } = await run(['--help']);
    assert.equal(code, 0);
    assert.match(out, /^Usage: ariadne analyze <file\.\.\.> \[--trace ID\] \[--json\] \[--mermaid\] \[--no-skew\]/);
  });

  it('exits 2 on usage errors', async () => {
    assert.equal((await run([])).code, 2);
    const unknown = await run(['--bogus', 'x.json']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /Unknown option '--bogus'/);
    assert.equal((await run(['--trace', 'not-hex', 'x.json'])).code, 2);
  });

  it('reports a trace: summary, waterfall, time per service, errors and calls', async () => {
    const { code, out, err } = await run([fixture('zipkin/skew.json'), '--width', '100']);
    assert.equal(code, 0, err);
    assert.match(out, /^Trace 00000000000000001e223ff1f80f1c69 {2}servicea: get$/m);
    assert.match(out, /4 spans, 2 services, 0 errors/);
    assert.match(out, /clock-skew .*shifted \+65\.9ms/);
    assert.match(out, /^servicea get +\|#+/m);
    assert.match(out, /^Time per service/m);
    assert.match(out, /^ {2}servicea -> serviceb: 1 call, 0 errors, 93\.6ms$/m);
  });

  it('prints one JSON object per trace with the documented fields', async () => {
    const { code, out } = await run([fixture('jaeger/deathstarbench-socialnetwork.json'), '--json']);
    assert.equal(code, 0);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 20);
    const first = JSON.parse(lines[0]);
    for (const field of [
      'traceId',
      'rootService',
      'rootName',
      'durationNanos',
      'spanCount',
      'errorCount',
      'criticalPath',
      'timeByService',
      'errors',
      'dependencies',
      'warnings',
    ]) {
      assert.ok(field in first, `missing ${field}`);
    }
    assert.equal(first.spanCount, 33);
    assert.match(first.durationNanos, /^\d+$/);
    assert.match(first.criticalPath[0].startUnixNano, /^\d+$/);
    const cpSum = Object.values(first.timeByService as Record<string, { criticalPathNanos: string }>).reduce(
      (sum, t) => sum + BigInt(t.criticalPathNanos),
      0n,
    );
    const root = first.criticalPath;
    assert.equal(cpSum, BigInt(root.at(-1).endUnixNano) - BigInt(root[0].startUnixNano));
  });

  it('selects one trace with --trace, padding a 64-bit id', async () => {
    const { code, out } = await run([
      fixture('jaeger/deathstarbench-socialnetwork.json'),
      '--json',
      '--trace',
      '151e8ea44a5cf41c',
    ]);
    assert.equal(code, 0);
    assert.equal(out.trimEnd().split('\n').length, 1);
    assert.equal(JSON.parse(out).traceId, '0000000000000000151e8ea44a5cf41c');
    const missing = await run([fixture('zipkin/skew.json'), '--trace', 'abc']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /trace 0+abc is not in/);
  });

  it('prints Mermaid, alone or inside the JSON', async () => {
    const { out } = await run([fixture('zipkin/skew.json'), '--mermaid']);
    assert.match(out, /^%% trace 00000000000000001e223ff1f80f1c69\ngraph TD\n/);
    const json = JSON.parse((await run([fixture('zipkin/skew.json'), '--mermaid', '--json'])).out);
    assert.match(json.mermaid, /^graph TD/);
  });

  it('leaves the clocks alone with --no-skew', async () => {
    const json = JSON.parse((await run([fixture('zipkin/skew.json'), '--json', '--no-skew'])).out);
    assert.deepEqual(
      json.warnings.map((w: { code: string }) => w.code),
      ['shared-span-id'],
    );
  });

  it('exits 1 with a clear message for a file in no known format, still analysing the others', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"spans": 3}');
    const { code, out, err } = await run([bad, fixture('zipkin/envoy.json')]);
    assert.equal(code, 1);
    assert.match(err, /bad\.json: unrecognised trace format: expected OTLP JSON/);
    assert.match(out, /^Trace /);
    const gone = await run([join(dir, 'missing.json')]);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /missing\.json: ENOENT/);
  });

  it('draws a progress bar on a terminal for large input', async () => {
    const big = join(dir, 'big.json');
    const spans = [];
    for (let i = 0; i < 60_000; i++) {
      spans.push({
        traceId: 'aa',
        id: (i + 1).toString(16),
        parentId: i === 0 ? undefined : '1',
        timestamp: 1_000_000 + i,
        duration: 5,
      });
    }
    writeFileSync(big, JSON.stringify(spans));
    const { code, err } = await run([big, '--json'], true);
    assert.equal(code, 0);
    assert.match(err, /\[#*\.*\] analysing trace 1\/1/);
    const quiet = await run([big, '--json'], false);
    assert.equal(quiet.err, '');
  });
});
