import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type StatsListener, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Which side a token opens: sending spans, or reading them (the query API, the UI, the compatible read APIs). */
export type TokenScope = 'ingest' | 'query';

/** A token file that cannot be used: unreadable, empty, or holding a line that is not a token. */
export class TokenFileError extends Error {}

/** Shortest token accepted: a guessable token is worse than none, because it looks like protection. */
export const MIN_TOKEN_LENGTH = 16;

/** What the UI session cookie is derived from (see `TokenSet.sessionFor`). */
const SESSION_CONTEXT = 'ariadne ui session v1';

/**
 * Parses a token file: one token per line, so that a new token can be added before the old one
 * is removed (rotation); blank lines and lines starting with `#` are ignored, surrounding
 * whitespace is trimmed. A token is at least `MIN_TOKEN_LENGTH` visible ASCII characters (what
 * an `Authorization: Bearer` header can carry). Errors name the file and line, never the token.
 */
export function parseTokenFile(text: string, path: string): string[] {
  const tokens: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!/^[\x21-\x7e]+$/.test(line))
      throw new TokenFileError(
        `${path}:${i + 1}: a token is one word of visible ASCII characters (no spaces); this line is not`,
      );
    if (line.length < MIN_TOKEN_LENGTH)
      throw new TokenFileError(
        `${path}:${i + 1}: a token of ${line.length} characters is too easy to guess; use at least ${MIN_TOKEN_LENGTH} (e.g. \`openssl rand -hex 32\`)`,
      );
    tokens.push(line);
  }
  if (tokens.length === 0) throw new TokenFileError(`${path}: no token in the file (one per line; # starts a comment)`);
  return tokens;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const sessionDigest = (token: string) => createHmac('sha256', token).update(SESSION_CONTEXT).digest();

/**
 * Compares `presented` with every digest in constant time: fixed-length digests, no early exit,
 * so that neither the position of a match nor how much of a token was right shows in the timing.
 */
function matchesAny(presented: Buffer, digests: readonly Buffer[]): boolean {
  let found = false;
  for (const digest of digests) {
    if (presented.length === digest.length && timingSafeEqual(presented, digest)) found = true;
  }
  return found;
}

/**
 * The tokens of one token file (`--ingest-token-file` or `--query-token-file`), kept only as
 * digests: SHA-256 of each token for bearer headers, and an HMAC keyed by each token for UI
 * session cookies. `reload()` re-reads the file (on SIGHUP, or when `watch` sees it change); a
 * file that became unreadable or empty keeps the tokens already loaded, so that a botched edit
 * does not lock everyone out. Checks are constant time (`timingSafeEqual` over digests).
 */
export class TokenSet {
  private digests: Buffer[] = [];
  private sessions: Buffer[] = [];
  private listener: StatsListener | undefined;

  private constructor(
    readonly path: string,
    readonly scope: TokenScope,
  ) {}

  /** Reads `path`; throws `TokenFileError` if it cannot be read or holds no valid token. */
  static async load(path: string, scope: TokenScope): Promise<TokenSet> {
    const set = new TokenSet(path, scope);
    await set.reload();
    return set;
  }

  /** How many tokens are loaded. */
  get size(): number {
    return this.digests.length;
  }

  /**
   * Re-reads the file and returns the number of tokens now accepted; on error throws and keeps
   * the tokens it had.
   */
  async reload(): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      throw new TokenFileError(`cannot read the ${this.scope} token file: ${(error as Error).message}`);
    }
    const tokens = parseTokenFile(text, this.path);
    this.digests = tokens.map(sha256);
    this.sessions = tokens.map(sessionDigest);
    return tokens.length;
  }

  /** True when `token` is one of the file's tokens. */
  verify(token: string | undefined): boolean {
    if (token === undefined) return false;
    return matchesAny(sha256(token), this.digests);
  }

  /**
   * The UI session cookie value for `token` (base64url of an HMAC keyed by the token), or
   * undefined if the token is not accepted. The cookie never holds the token itself, stays valid
   * across restarts and nodes sharing the file, and stops working when the token is removed.
   */
  sessionFor(token: string): string | undefined {
    return this.verify(token) ? sessionDigest(token).toString('base64url') : undefined;
  }

  /** True when `value` is the session cookie of one of the file's tokens. */
  verifySession(value: string | undefined): boolean {
    if (value === undefined || !/^[A-Za-z0-9_-]{43}$/.test(value)) return false;
    return matchesAny(Buffer.from(value, 'base64url'), this.sessions);
  }

  /**
   * Calls `onChange` when the file's size or modification time changes, polling its `stat`
   * every `intervalMs` (a poll survives the rename-into-place of editors and Kubernetes secret
   * volumes, which `fs.watch` loses). The poll does not keep the process alive.
   */
  watch(onChange: () => void, intervalMs = 5_000): void {
    this.unwatch();
    this.listener = (current, previous) => {
      if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino)
        onChange();
    };
    watchFile(this.path, { interval: intervalMs, persistent: false }, this.listener);
  }

  /** Stops `watch`. */
  unwatch(): void {
    if (this.listener) unwatchFile(this.path, this.listener);
    this.listener = undefined;
  }
}

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750; the scheme is
 * case-insensitive), or undefined when there is none or it uses another scheme.
 */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const m = /^[ \t]*bearer[ \t]+([^ \t]+)[ \t]*$/i.exec(value);
  return m ? m[1] : undefined;
}
