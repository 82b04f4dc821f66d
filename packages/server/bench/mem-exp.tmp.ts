// Throwaway: RSS of a fresh `ariadne serve` (--memory-limit 512MiB) after each huge request.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spansToTracesData, spansToZipkin } from '@ariadne/core';
import { decodeOtlpProtobuf } from '../src/ingest/decode-otlp.ts';
import { ExportTraceServiceRequest } from '../src/ingest/otlp-proto-schema.ts';
import { freePort } from '../src/testdata/compat-server.ts';
import { startServeProcess } from './serve-process.ts';
import { generateTrace, makeWorkload, toExportRequest } from './workload.ts';

const encode = (r: Record<string, unknown>) =>
  Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(r)).finish());
const post = (url: string, body: Buffer, type = 'application/x-protobuf') =>
  new Promise<number>((resolve) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': type } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(503));
    req.end(body);
  });
const rss = (pid: number) =>
  Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024);
const gen = (seed: number, n: number) => {
  const w = makeWorkload(seed);
  let s: ReturnType<typeof generateTrace> = [];
  while (s.length < n) s = s.concat(generateTrace(w, Date.now()));
  return s;
};
const big = encode(toExportRequest(gen(7, 19_000)));
const attrs = Array.from({ length: 1_000_000 }, (_, i) => ({ key: `k${i}`, value: { stringValue: 'v' } }));
const one = gen(8, 1);
const wide = encode(toExportRequest([{ ...one[0], span: { ...one[0].span, attributes: attrs } }]));
const json = Buffer.from(
  JSON.stringify(spansToTracesData(decodeOtlpProtobuf(encode(toExportRequest(gen(11, 7_800)))).spans)),
);
const zipkin = Buffer.from(
  JSON.stringify(spansToZipkin(decodeOtlpProtobuf(encode(toExportRequest(gen(17, 15_000)))).spans)),
);
const dir = mkdtempSync(join(tmpdir(), 'mem-exp-'));
const zp = await freePort();
const { child, otlpUrl, apiUrl } = await startServeProcess(dir, [
  '--zipkin-port',
  String(zp),
  '--memory-limit',
  '512MiB',
]);
const pid = child.pid!;
const parts = async () => {
  const t = await (await fetch(`${apiUrl}/metrics`)).text();
  const g = (n: string) => Math.round(Number(new RegExp(`^${n} (\\S+)`, 'm').exec(t)?.[1] ?? 0) / 2 ** 20);
  return `db ${g('ariadne_database_memory_bytes')} heap ${g('nodejs_heap_size_total_bytes')} ext ${g('nodejs_external_memory_bytes')}`;
};
const settle = () => new Promise((r) => setTimeout(r, 3000));
await settle();
console.log('idle', rss(pid), await parts());
for (const [name, url, body, type] of [
  ['12MB proto', otlpUrl, big, undefined],
  ['1M attrs', otlpUrl, wide, undefined],
  ['12MB json', otlpUrl, json, 'application/json'],
  ['15MB zipkin', `http://127.0.0.1:${zp}/api/v2/spans`, zipkin, 'application/json'],
  ['12MB proto again', otlpUrl, big, undefined],
] as const) {
  let peak = 0;
  const iv = setInterval(() => {
    peak = Math.max(peak, rss(pid));
  }, 20);
  const status = await post(url, body as Buffer, type);
  await settle();
  clearInterval(iv);
  console.log(name, status, 'peak', peak, 'after', rss(pid), await parts());
}
await new Promise((r) => setTimeout(r, 15000));
console.log('after 15 s idle', rss(pid), await parts());
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
