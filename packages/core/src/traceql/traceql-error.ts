/**
 * What went wrong with a query:
 * - `syntax`: the text does not parse (Tempo's "parse error"; HTTP 400);
 * - `invalid`: it parses but fails a static check, such as `{ 1 = "a" }` (Tempo's validation
 *   error; HTTP 400);
 * - `unsupported`: it parses but uses something Ariadne (and, except for metrics, Tempo) does not
 *   evaluate yet: metrics functions, `parent`, comparisons between aggregates.
 */
export type TraceQLErrorCode = 'syntax' | 'invalid' | 'unsupported';

/**
 * An error in a TraceQL query, with the position it refers to. `message` is
 * `line:col: reason`, for example `1:15: expected "}" or an operator, found "status"`; `reason` is
 * the same without the position. `offset` and `end` are UTF-16 offsets into the query (`end`
 * exclusive); `line` and `col` are 1-based, `col` counted in code points like Tempo's scanner.
 */
export class TraceQLError extends Error {
  override readonly name = 'TraceQLError';
  readonly code: TraceQLErrorCode;
  readonly reason: string;
  readonly offset: number;
  readonly end: number;
  readonly line: number;
  readonly col: number;

  constructor(code: TraceQLErrorCode, reason: string, source: string, offset: number, end = offset) {
    const { line, col } = lineAndColumn(source, offset);
    super(`${line}:${col}: ${reason}`);
    this.code = code;
    this.reason = reason;
    this.offset = offset;
    this.end = Math.max(end, offset);
    this.line = line;
    this.col = col;
  }
}

/**
 * The 1-based line and column of a UTF-16 offset. Lines end at `\n` only (as in Go's
 * text/scanner, which Tempo uses); columns count code points, so an emoji is one column.
 */
export function lineAndColumn(source: string, offset: number): { readonly line: number; readonly col: number } {
  const at = Math.max(0, Math.min(offset, source.length));
  let line = 1;
  let lineStart = 0;
  for (let i = source.indexOf('\n'); i !== -1 && i < at; i = source.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  let col = 1;
  for (let i = lineStart; i < at; i++) {
    // A surrogate pair is one code point: skip a low half that follows a high half.
    const c = source.charCodeAt(i);
    const pairedLow = c >= 0xdc00 && c <= 0xdfff && i > lineStart && isHighSurrogate(source.charCodeAt(i - 1));
    if (!pairedLow) col++;
  }
  return { line, col };
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
