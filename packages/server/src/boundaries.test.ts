import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Imports only go one way (the developers' brief): core imports no other package and nothing of
 * Node; the UI never imports the server; ingest, query, the APIs and auth depend on the storage
 * interface (query/span-store.ts), never on a backend under store/; stores never import ingest or
 * the APIs. `main.ts` (which wires parts together) and the CLI (which opens stores by name) may
 * import anything. Tests, test data, fuzz targets and benchmarks are exempt.
 */

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));

/** The product's source files under `dir` (no tests, test data or fuzz targets). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'testdata' && entry.name !== 'node_modules') out.push(...sources(path));
    } else if (/\.(ts|tsx)$/.test(entry.name) && !/\.(test|fuzz)\.ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Every module specifier a file imports (static and dynamic imports, re-exports). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of text.matchAll(/(?:^|\s)(?:import|export)\s[^'";]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g))
    specifiers.push(match[1] ?? match[2]);
  return specifiers;
}

/** `file`'s imports that break `rule` (which gets each specifier, resolved against the file when relative). */
function violations(dir: string, rule: (specifier: string, resolved: string | undefined) => boolean): string[] {
  const out: string[] = [];
  for (const file of sources(join(PACKAGES, dir))) {
    for (const specifier of importsOf(file)) {
      const resolved = specifier.startsWith('.') ? join(file, '..', specifier) : undefined;
      if (rule(specifier, resolved)) out.push(`${relative(PACKAGES, file)} imports ${specifier}`);
    }
  }
  return out;
}

const server = (part: string) => join(PACKAGES, 'server/src', part);
const inside = (path: string | undefined, dir: string) => path?.startsWith(`${dir}/`) === true;

describe('import boundaries', () => {
  it('finds the imports it checks (the scan itself works)', () => {
    const imports = importsOf(join(PACKAGES, 'server/src/main.ts'));
    assert.ok(imports.includes('./store/duckdb-store.ts'), imports.join(', '));
    assert.ok(sources(join(PACKAGES, 'server/src/ingest')).length > 10);
  });

  it('core imports no other package and nothing of Node', () => {
    const allowed = new Set(['re2js']);
    assert.deepEqual(
      violations('core/src', (s) => !s.startsWith('.') && !allowed.has(s)),
      [],
    );
  });

  it('the UI never imports the server', () => {
    assert.deepEqual(
      violations(
        'web/src',
        (s, resolved) => s.startsWith('@ariadne/server') || inside(resolved, join(PACKAGES, 'server')),
      ),
      [],
    );
  });

  for (const part of ['ingest', 'query', 'api', 'auth']) {
    it(`${part}/ depends on the storage interface, never on a store`, () => {
      assert.deepEqual(
        violations(`server/src/${part}`, (_s, resolved) => inside(resolved, server('store'))),
        [],
      );
    });
  }

  it('stores never import ingest or the APIs', () => {
    assert.deepEqual(
      violations(
        'server/src/store',
        (_s, resolved) => inside(resolved, server('ingest')) || inside(resolved, server('api')),
      ),
      [],
    );
  });
});
