#!/usr/bin/env node
// Runs every *.test.ts in the repo with Node's test runner (through tsx), then fails the run if
// CI=true and any test was skipped: in CI a missing browser or server is a failure, not a skip.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = ['packages', 'examples'].map((d) => join(root, d));
const filter = process.argv.slice(2);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

let files = roots.flatMap((d) => walk(d, [])).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((p) => f.includes(p)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
mkdirSync(join(root, '.tmp'), { recursive: true });
// The ClickHouse store's tests run every statement on chdb's embedded engine too; it is installed
// here, not as a dependency (see scripts/ensure-chdb.mjs).
if (files.some((f) => f.includes(`${join('store', 'clickhouse')}`))) {
  spawnSync(process.execPath, [join(root, 'scripts', 'ensure-chdb.mjs')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const tapFile = join(root, '.tmp', 'test-results.tap');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files.map((f) => relative(root, f)),
  ],
  { cwd: root, stdio: 'inherit' },
);
if (result.status !== 0) process.exit(result.status ?? 1);
const tap = readFileSync(tapFile, 'utf8');
const skipped = Number(/^# skip(?:ped)? (\d+)/m.exec(tap)?.[1] ?? 0);
const todo = Number(/^# todo (\d+)/m.exec(tap)?.[1] ?? 0);
if (process.env.CI === 'true' && (skipped > 0 || todo > 0)) {
  console.error(`CI=true: ${skipped} skipped and ${todo} todo tests; every suite must run in CI`);
  process.exit(1);
}
