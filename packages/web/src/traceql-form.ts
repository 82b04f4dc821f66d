/**
 * The search form written as TraceQL, as Grafana's search builder does: every filter of the form
 * becomes one condition of a single spanset filter, joined by ` && `, so that
 *
 *   service=frontend, operation=GET /api, status=error, min 100ms, attr http.status_code=500
 *
 * becomes `{resource.service.name="frontend" && name="GET /api" && status=error &&
 * duration>=100ms && (.http.status_code = "500" || .http.status_code = 500)}`: the query the
 * server runs for the same form (`/api/v1/search` runs the form as TraceQL), written as the user
 * would. An attribute value that spells a number or a boolean is compared both as text and as that
 * value (core's `formAttributeCondition`), as the form always matched the text of any type.
 */
import { formAttributeCondition, printTraceQL } from '@ariadne/core';

/** The form's filters, as the search page holds them (durations in the form's syntax). */
export interface FormFilters {
  readonly service: string;
  readonly operation: string;
  /** `error`, `ok`, `unset` or empty. */
  readonly status: string;
  readonly minDuration: string;
  readonly maxDuration: string;
  /** `key=value` rows; empty rows are skipped. */
  readonly attrs: readonly string[];
}

/** A TraceQL string literal: double-quoted, with `\`, `"` and control characters escaped. */
export function traceQLString(text: string): string {
  let out = '"';
  for (const c of text) {
    if (c === '\\' || c === '"') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c < ' ' || c === '\u007f') out += `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

/**
 * An attribute name as it can follow a scope (`.`, `span.` …): bare when every character may be
 * part of an unquoted name (the lexer reads a name up to whitespace or `{}()=~!<>&|^,`), quoted
 * otherwise, and also when it starts with a digit (`.5x` would read as the number `.5`).
 */
export function traceQLAttributeName(name: string): string {
  const bare = name !== '' && !/^[0-9]/.test(name) && !/[\s{}()=~!<>&|^,"\u0085\u00a0]/u.test(name);
  // In a quoted name only `\"` and `\\` are escapes; everything else stands for itself.
  return bare ? name : `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const FORM_DURATION = /^(\d+(?:\.\d{1,9})?)(ns|us|µs|ms|s|m|h|d)?$/;

/**
 * A form duration (`250ms`, `1.5s`, a bare number of milliseconds) as a TraceQL duration
 * literal; text the form would refuse is kept as written, so that the query shows the mistake.
 */
export function traceQLDuration(text: string): string {
  const m = FORM_DURATION.exec(text);
  if (!m) return text;
  return `${m[1]}${m[2] ?? 'ms'}`;
}

/** The conditions the form's filters stand for, each as TraceQL text, in the form's order. */
export function formConditions(f: FormFilters): string[] {
  const out: string[] = [];
  if (f.service) out.push(`resource.service.name=${traceQLString(f.service)}`);
  if (f.operation) out.push(`name=${traceQLString(f.operation)}`);
  if (f.status === 'error' || f.status === 'ok' || f.status === 'unset') out.push(`status=${f.status}`);
  const min = f.minDuration.trim();
  const max = f.maxDuration.trim();
  if (min) out.push(`duration>=${traceQLDuration(min)}`);
  if (max) out.push(`duration<=${traceQLDuration(max)}`);
  for (const row of f.attrs) {
    // The form sends each row trimmed and splits it at the first "=", as the API does.
    const text = row.trim();
    if (!text) continue;
    const eq = text.indexOf('=');
    // A row without "=" is refused by the form's search; written as a bare name it is refused here too.
    if (eq < 0) out.push(`.${traceQLAttributeName(text)}`);
    else {
      const condition = formAttributeCondition(text.slice(0, eq), text.slice(eq + 1));
      const printed = printTraceQL(condition);
      out.push(condition.kind === 'binary' && condition.op === '||' ? `(${printed})` : printed);
    }
  }
  return out;
}

/** The whole form as one TraceQL query; `{}` (every span) when no filter is set. */
export function formToTraceQL(f: FormFilters): string {
  return `{${formConditions(f).join(' && ')}}`;
}
