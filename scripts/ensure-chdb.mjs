#!/usr/bin/env node
// Installs the `chdb` package (ClickHouse's engine in-process, about 550 MB) into .cache/chdb for
// the tests that run every statement of the ClickHouse store on a current engine. It is not a
// dependency of the project, so a plain `npm install` of the demo stays small. Idempotent; prints
// the package's directory. Failure is not fatal here: the tests that need chdb say why they
// cannot run (and fail under CI=true).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CHDB_VERSION = '3.4.0';
const root = new URL('..', import.meta.url).pathname;
const prefix = join(root, '.cache', 'chdb');
const installed = join(prefix, 'node_modules', 'chdb', 'package.json');

function version() {
  try {
    return JSON.parse(readFileSync(installed, 'utf8')).version;
  } catch {
    return undefined;
  }
}

if (version() !== CHDB_VERSION) {
  mkdirSync(prefix, { recursive: true });
  if (!existsSync(join(prefix, 'package.json'))) {
    spawnSync('sh', ['-c', `echo '{"private":true}' > package.json`], { cwd: prefix });
  }
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', `chdb@${CHDB_VERSION}`], {
    cwd: prefix,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0 || version() !== CHDB_VERSION) {
    console.error(`ensure-chdb: could not install chdb@${CHDB_VERSION} into ${prefix}`);
    process.exit(0);
  }
}
console.log(join(prefix, 'node_modules', 'chdb'));
