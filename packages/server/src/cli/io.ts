/** Where a CLI command writes; tests pass their own streams. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly isTTY?: boolean;
}

/** A command-line mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The API base URL for client commands: `--api`, then `ARIADNE_API`, then the default. */
export function apiBase(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return (flag ?? env.ARIADNE_API ?? 'http://127.0.0.1:4320').replace(/\/+$/, '');
}

/**
 * Fetches JSON from the API, turning HTTP and connection errors into readable messages. Sends
 * `ARIADNE_TOKEN` as a bearer token when set (a server started with `--query-token-file`); an
 * environment variable rather than a flag, so that the token stays out of `ps` and shell history.
 */
export async function fetchJson(url: string, env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  let response: Response;
  const token = env.ARIADNE_TOKEN;
  try {
    response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : undefined);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Error(`cannot reach the Ariadne API at ${new URL(url).origin} (${cause}); is \`ariadne serve\` running?`);
  }
  const body = (await response.json().catch(() => ({}))) as { message?: string };
  if (response.status === 401)
    throw new Error(`${body.message ?? 'a query token is required'} (set ARIADNE_TOKEN to a query token)`);
  if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status} from ${url}`);
  return body;
}
