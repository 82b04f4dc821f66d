import { sqlIdentifier } from './sql.ts';

/**
 * Where a ClickHouse store lives, from `--store clickhouse://[user[:password]@]host:port/database[?cluster=NAME]`.
 * The URL speaks of ClickHouse's HTTP interface (port 8123 by default); `clickhouses://` uses HTTPS.
 */
export interface ClickHouseLocation {
  /** `http(s)://host:port`, without credentials. */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly database: string;
  /**
   * With a cluster: local tables on every shard, created `ON CLUSTER`, and Distributed tables over
   * them; replicated local tables when the cluster's shards have several replicas (schema.ts reads
   * that from `system.clusters`, so the URL has no option for it).
   */
  readonly cluster?: string;
  /** The location as it may be shown: the password replaced by `***`. */
  readonly display: string;
}

/** True when `--store` names a ClickHouse store rather than the embedded one. */
export function isClickHouseStore(store: string | undefined): store is string {
  return store !== undefined && /^clickhouses?:\/\//i.test(store);
}

/** Parses a `clickhouse://` store URL; errors never repeat the password. */
export function parseClickHouseUrl(text: string): ClickHouseLocation {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new Error(
      `invalid --store ${JSON.stringify(redactUrl(text))}: expected clickhouse://[user[:password]@]host:port/database[?cluster=NAME]`,
    );
  }
  const secure = parsed.protocol === 'clickhouses:';
  if (parsed.protocol !== 'clickhouse:' && !secure) {
    throw new Error(`invalid --store: the scheme must be clickhouse:// or clickhouses://, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') throw new Error('invalid --store: the ClickHouse URL names no host');
  const database = decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, '')) || 'ariadne';
  try {
    sqlIdentifier(database);
  } catch {
    throw new Error(`invalid --store: database name ${JSON.stringify(database)} must be letters, digits and _`);
  }
  let cluster: string | undefined;
  for (const [key, value] of parsed.searchParams) {
    if (key !== 'cluster') throw new Error(`invalid --store: unknown option ${JSON.stringify(key)} (known: cluster)`);
    if (!/^[A-Za-z0-9_.-]+$/.test(value)) {
      throw new Error(`invalid --store: cluster name ${JSON.stringify(value)} must be letters, digits, _, . and -`);
    }
    cluster = value;
  }
  const port = parsed.port || (secure ? '8443' : '8123');
  const host = parsed.hostname;
  const url = `${secure ? 'https' : 'http'}://${host}:${port}`;
  const username = decodeURIComponent(parsed.username) || 'default';
  const password = decodeURIComponent(parsed.password);
  const who = parsed.username ? `${parsed.username}${password ? ':***' : ''}@` : '';
  return {
    url,
    username,
    password,
    database,
    cluster,
    display: `${secure ? 'clickhouses' : 'clickhouse'}://${who}${host}:${port}/${database}${cluster ? `?cluster=${cluster}` : ''}`,
  };
}

/** A URL-ish text with any `user:password@` part reduced to `user:***@`. */
export function redactUrl(text: string): string {
  return text.replace(/(\/\/[^/:@\s]*):[^@\s]*@/g, '$1:***@');
}
