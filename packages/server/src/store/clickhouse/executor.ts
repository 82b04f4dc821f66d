import { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseLocation } from './store-url.ts';
import { redactUrl } from './store-url.ts';

/**
 * What the ClickHouse store needs from an engine: statements, row queries and inserts of
 * RowBinary rows. Two implementations: `HttpExecutor` (a server, over its HTTP interface, with
 * @clickhouse/client) and, in tests, the engine embedded in the `chdb` package, so that every
 * statement the store issues runs on an old server (18.16) and a current engine (26.x).
 */
export interface ClickHouseExecutor {
  /**
   * Runs a statement that returns nothing (DDL, ALTER, INSERT … VALUES), with settings; `signal`
   * stops waiting for its answer (the server may still carry it out).
   */
  command(sql: string, settings?: Readonly<Record<string, number | string>>, signal?: AbortSignal): Promise<void>;
  /** Runs a query and returns its rows (64-bit integers arrive as decimal strings). */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Inserts rows in RowBinary (row-binary.ts), values in `columns` order, into `table`. */
  insert(table: string, columns: readonly string[], rowBinary: Buffer, settings?: InsertSettings): Promise<void>;
  /** Resolves when the engine answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface InsertSettings {
  /** Through a Distributed table: acknowledged only once every shard has the rows. */
  readonly distributedSync?: boolean;
}

/** ClickHouse could not be reached, or failed in a way a retry may fix. */
export class ClickHouseUnavailableError extends Error {
  override readonly name = 'ClickHouseUnavailableError';
}

/** Error codes of ClickHouse that a retry will not fix (syntax, unknown names, bad types). */
const PERMANENT_CODES = new Set([
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '36', // BAD_ARGUMENTS
  '43', // ILLEGAL_TYPE_OF_ARGUMENT
  '46', // UNKNOWN_FUNCTION
  '47', // UNKNOWN_IDENTIFIER
  '53', // TYPE_MISMATCH
  '60', // UNKNOWN_TABLE
  '62', // SYNTAX_ERROR
  '81', // UNKNOWN_DATABASE
  '115', // UNKNOWN_SETTING
  '192', // UNKNOWN_USER
  '193', // WRONG_PASSWORD
  '516', // AUTHENTICATION_FAILED
]);

/** True when an error from an executor may go away by itself (network, overload, a shard down). */
export function isTransientClickHouseError(error: unknown): boolean {
  if (error instanceof ClickHouseUnavailableError) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return !PERMANENT_CODES.has(code);
  return true;
}

/**
 * The server's error code of a failure: the client's parsed `code`, or, where the client could not
 * parse the text (18.16 writes `Code: 159, e.displayText() = DB::Exception: …`), its leading code.
 */
function serverCode(e: Error & { code?: string }): string | undefined {
  if (typeof e.code === 'string' && /^\d+$/.test(e.code)) return e.code;
  return /^Code: (\d+)[,.]/.exec(e.message)?.[1];
}

/** The client's error, with no credentials in its text and the statement's first line for context. */
function explain(error: unknown, sql: string): Error {
  const e = error as Error & { code?: string };
  const what = sql.split('\n', 1)[0].slice(0, 120);
  const code = serverCode(e);
  // An error the server answered with is not a network failure, whatever its text says.
  const network =
    code === undefined &&
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|Timeout|ENOTFOUND|EHOSTUNREACH/i.test(
      `${e.message} ${(e as { cause?: Error }).cause?.message ?? ''} ${e.code ?? ''}`,
    );
  const message = redactUrl(`ClickHouse ${network ? 'is unreachable' : 'failed'} (${what}): ${e.message}`);
  const out = network ? new ClickHouseUnavailableError(message) : new Error(message);
  const outCode = code ?? e.code;
  if (outCode !== undefined) (out as Error & { code?: string }).code = outCode;
  return out;
}

/** A ClickHouse server over its HTTP interface. Connections are kept alive and reused. */
export class HttpExecutor implements ClickHouseExecutor {
  private readonly client: ClickHouseClient;

  constructor(location: ClickHouseLocation, options: { readonly requestTimeoutMs?: number } = {}) {
    this.client = createClient({
      url: location.url,
      username: location.username,
      password: location.password,
      request_timeout: options.requestTimeoutMs ?? 60_000,
      // The store logs failures itself, with credentials removed.
      log: { level: ClickHouseLogLevel.OFF },
      compression: { request: false, response: false },
    });
  }

  async command(sql: string, settings?: Readonly<Record<string, number | string>>, signal?: AbortSignal) {
    try {
      await this.client.command({ query: sql, clickhouse_settings: settings as never, abort_signal: signal });
    } catch (error) {
      throw explain(error, sql);
    }
  }

  async query<T>(sql: string): Promise<T[]> {
    try {
      const result = await this.client.query({ query: sql, format: 'JSONEachRow' });
      return await result.json<T>();
    } catch (error) {
      throw explain(error, sql);
    }
  }

  async insert(table: string, columns: readonly string[], rowBinary: Buffer, settings: InsertSettings = {}) {
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) FORMAT RowBinary`;
    try {
      const result = await this.client.exec({
        query: sql,
        values: Readable.from([rowBinary]),
        clickhouse_settings: settings.distributedSync ? { insert_distributed_sync: 1 } : {},
      });
      result.stream.resume();
      await new Promise<void>((resolve, reject) => {
        result.stream.on('end', resolve).on('error', reject);
      });
    } catch (error) {
      throw explain(error, sql);
    }
  }

  async ping(): Promise<void> {
    const result = await this.client.ping();
    if (!result.success) throw explain(result.error, 'ping');
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
