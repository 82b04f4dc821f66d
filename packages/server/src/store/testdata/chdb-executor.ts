import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseExecutor } from '../clickhouse/executor.ts';

/**
 * A `ClickHouseExecutor` on the engine embedded in the `chdb` package (ClickHouse 26.x,
 * in-process), so that every statement of the ClickHouse store is also run on a current engine.
 * chdb is installed by scripts/ensure-chdb.mjs into .cache/chdb, not as a dependency.
 */

interface ChdbResult {
  text(): string;
}
interface ChdbSession {
  queryAsync(query: string, opts?: { format?: string }): Promise<ChdbResult>;
  close(): void;
}
interface ChdbModule {
  Session: new (path?: string, opts?: { connectionArgs?: string[] }) => ChdbSession;
  drainPending?: () => Promise<void>;
}

const CHDB_DIR = new URL('../../../../../.cache/chdb/node_modules/chdb/', import.meta.url).pathname;

/** The chdb module, or why it cannot be loaded. */
export function loadChdb(): ChdbModule | string {
  if (!existsSync(join(CHDB_DIR, 'package.json')))
    return `chdb is not installed in ${CHDB_DIR} (run node scripts/ensure-chdb.mjs)`;
  try {
    return createRequire(join(CHDB_DIR, 'package.json'))('chdb') as ChdbModule;
  } catch (error) {
    return `chdb could not be loaded: ${(error as Error).message}`;
  }
}

let shared: { session: ChdbSession; dir: string; users: number } | undefined;
let inserts = 0;

/**
 * An executor on the process's one chdb session (libchdb binds one data directory per process);
 * `close()` releases it, and the last close ends the session.
 */
export function chdbExecutor(chdb: ChdbModule): ClickHouseExecutor {
  if (!shared) {
    const dir = mkdtempSync(join(tmpdir(), 'ariadne-chdb-'));
    const session = new chdb.Session(dir, { connectionArgs: ['--output_format_json_quote_64bit_integers=1'] });
    shared = { session, dir, users: 0 };
  }
  const state = shared;
  state.users++;
  let closed = false;
  const run = async (sql: string, format?: string) => (await state.session.queryAsync(sql, { format })).text();
  return {
    // Settings are for Distributed tables (insert_distributed_sync); chdb runs no cluster.
    async command(sql) {
      await run(sql);
    },
    async query<T>(sql: string) {
      const text = await run(sql, 'JSONEachRow');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as T);
    },
    async insert(table, columns, rowBinary) {
      // The same statement and format as over HTTP, the rows read from a file (chdb takes SQL text).
      const file = join(state.dir, `insert-${++inserts}.bin`);
      writeFileSync(file, rowBinary);
      try {
        await run(`INSERT INTO ${table} (${columns.join(', ')}) FROM INFILE '${file}' FORMAT RowBinary`);
      } finally {
        rmSync(file, { force: true });
      }
    },
    async ping() {
      await run('SELECT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      state.users--;
      if (state.users === 0 && shared === state) {
        shared = undefined;
        state.session.close();
        await chdb.drainPending?.();
        rmSync(state.dir, { recursive: true, force: true });
      }
    },
  };
}
