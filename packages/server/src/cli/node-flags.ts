import { readFileSync } from 'node:fs';

/**
 * The Node flags the `ariadne` command runs with, for programs that start it as
 * `node <flags> bin/ariadne.mjs` (the benchmarks, the shop demo) rather than as a command. They
 * live in one place, the command's shebang line, because that is the only way a command can give
 * Node V8 flags: NODE_OPTIONS refuses them and V8 cannot change them once running. Why these
 * flags: docs/architecture.md, "Runtime flags".
 */
export function ariadneNodeFlags(): string[] {
  const first = readFileSync(new URL('../../bin/ariadne.mjs', import.meta.url), 'utf8').split('\n', 1)[0];
  const match = /^#!\/usr\/bin\/env -S node((?: --[a-z0-9-]+(?:=\S+)?)*)$/.exec(first);
  if (!match) throw new Error(`bin/ariadne.mjs: unexpected first line ${JSON.stringify(first)}`);
  return match[1].split(' ').filter(Boolean);
}
