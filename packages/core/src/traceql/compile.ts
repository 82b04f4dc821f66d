import type { TraceQLQuery } from './ast.ts';
import { parseTraceQL } from './parser.ts';
import { validateTraceQL } from './validate.ts';

/**
 * Parses and validates a query in one step, as the search API needs: returns the tree, or throws
 * the `TraceQLError` to report. A syntax error comes first; after that an `invalid` error wins
 * over an `unsupported` one (fixing the unsupported part would not make the query valid), and
 * among equals the leftmost. Use `validateTraceQL` to get every problem at once, for an editor.
 */
export function compileTraceQL(source: string): TraceQLQuery {
  const query = parseTraceQL(source);
  const errors = validateTraceQL(query, source);
  const first = errors.find((e) => e.code === 'invalid') ?? errors[0];
  if (first !== undefined) throw first;
  return query;
}
