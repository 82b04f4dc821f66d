#!/usr/bin/env -S node --single-threaded-gc --initial-old-space-size=128 --max-semi-space-size=8 --expose-gc
// The `ariadne` command. Ariadne runs its TypeScript sources directly through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: Boolean(process.stdout.isTTY),
});
