import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { DuckDbSpanStore } from './duckdb-store.ts';
import { runSpanStoreContract } from './span-store.contract.ts';

describe('DuckDbSpanStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ariadne-duckdb-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  runSpanStoreContract({
    open: () => DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' }),
    reopen: () => DuckDbSpanStore.open({ dataDir: dir, memoryLimit: '512MB' }),
  });
});
