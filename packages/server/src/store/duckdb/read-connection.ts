/**
 * The DuckDB store's read connection: one read at a time, through cached prepared statements.
 * Reads run on their own connection, so they see only committed write batches.
 */
import {
  type DuckDBConnection,
  type DuckDBDataChunk,
  type DuckDBMaterializedResult,
  type DuckDBPreparedStatement,
  DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { columnsOf } from './sql.ts';

/** Runs a parameterised statement; only valid inside `ReadConnection.read`. */
export type RunRead = (sql: string, values: DuckDBValue[], types: DuckDBType[]) => Promise<DuckDBResultReader>;

/**
 * DuckDB optimizers the store turns off (a database-wide setting, `disabled_optimizers`), so that
 * a prepared statement planned before a write commits answers right after it. Statistics
 * propagation plans with the table's statistics as they are when the statement is prepared, and
 * the plan is kept: a `SELECT DISTINCT service … ORDER BY service` prepared while `operations`
 * was empty answered `['t']` instead of `['ryw']` after an insert, and with longer strings it
 * crashed the process (segmentation fault); a filter the old statistics ruled out would hide new
 * spans (DuckDB issues #23704 and #24182; fixed upstream by the same choice, no statistics
 * propagation for prepared plans, pull request #24696). Even a statement prepared afresh for one
 * read can race a commit between its prepare and its execution, so caching less would not do.
 */
export const READ_CONNECTION_DISABLED_OPTIMIZERS = 'statistics_propagation';

/** Prepared statements kept at most; searches vary their SQL, so the cache is emptied when full. */
const MAX_PREPARED = 64;

/**
 * Serialises reads on one connection and keeps their prepared statements. Does not close the
 * connection on its own: the store decides when (`close`).
 */
export class ReadConnection {
  /** Prepared statements by SQL text. */
  private readonly prepared = new Map<string, DuckDBPreparedStatement>();
  private chain: Promise<unknown> = Promise.resolve();
  /** Reads queued or running. */
  private pending = 0;

  constructor(
    private readonly connection: DuckDBConnection,
    /** Throws when the store is closed; checked before every read. */
    private readonly assertOpen: () => void,
  ) {}

  /** Runs one read at a time on the read connection; `run` executes statements within it. */
  read<T>(fn: (run: RunRead) => Promise<T>): Promise<T> {
    this.assertOpen();
    this.pending++;
    const run = this.chain
      .then(() => fn((sql, values, types) => this.runPrepared(sql, values, types)))
      .finally(() => this.pending--);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Resolves once no read is queued or running, or after `maxMillis` at most: the writer waits
   * here between the steps of a batch, so that a read in flight gets the thread and the cores
   * before the next step (see `commitBatch`).
   */
  async quiet(maxMillis: number): Promise<void> {
    if (this.pending === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, maxMillis);
      }),
    ]);
    clearTimeout(timer);
  }

  /** The result of one statement as row objects. */
  async rows(sql: string, values: DuckDBValue[] = [], types: DuckDBType[] = []) {
    return this.read(async (run) => (await run(sql, values, types)).getRowObjects());
  }

  /** The result of one statement as one array per column. */
  async columns(sql: string, values: DuckDBValue[] = [], types: DuckDBType[] = []) {
    return this.read(async (run) => columnsOf(await run(sql, values, types)));
  }

  /** Resolves once every read queued so far has finished. */
  async idle(): Promise<void> {
    await this.chain;
  }

  /** Frees the prepared statements and closes the connection (after `idle`). */
  close(): void {
    this.dropPrepared();
    this.connection.closeSync();
  }

  private dropPrepared(): void {
    for (const statement of this.prepared.values()) statement.destroySync();
    this.prepared.clear();
  }

  /**
   * Runs a parameterised read on the read connection through a cached prepared statement:
   * point lookups such as a trace by id are a few milliseconds, and parsing and planning the
   * same SQL again each time was a measurable share of that. Call only inside `read`.
   */
  private async runPrepared(sql: string, values: DuckDBValue[], types: DuckDBType[]): Promise<DuckDBResultReader> {
    let statement = this.prepared.get(sql);
    if (statement === undefined) {
      if (this.prepared.size >= MAX_PREPARED) this.dropPrepared();
      statement = await this.connection.prepare(sql);
      this.prepared.set(sql, statement);
    }
    statement.bind(values, types);
    return readAtOnce(await statement.run());
  }
}

/**
 * A reader over a materialized result, its chunks taken at once. `DuckDBResultReader.readAll`
 * fetches each chunk, and then the end, with a call on libuv's threadpool: three or more turns of
 * the event loop for a small result, each a wait behind whatever the thread is doing. The chunks
 * of a materialized result are in memory already.
 */
async function readAtOnce(result: DuckDBMaterializedResult): Promise<DuckDBResultReader> {
  const count = result.chunkCount;
  let next = 0;
  // The reader takes chunks through fetchChunk: here, each without leaving this turn.
  result.fetchChunk = async (): Promise<DuckDBDataChunk | null> => (next < count ? result.getChunk(next++) : null);
  const reader = new DuckDBResultReader(result);
  await reader.readAll();
  return reader;
}
